"""Central logging on the command line: the log bucket or key belongs to another account.

The options ``plan``, ``apply``, ``recover`` and ``check-central`` share
(``--log-account-profile``, ``--log-account-role``, ``--central-reader``,
``--central-confirmed``, ``--handoff-out``), the log-archive account's session, the engine
that reads and changes that account's policies with it, and the hand-off pack for the
log-archive owner.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from screens.common.connection import Connection, engine_for, has_log_account_options
from screens.common.errors import UsageError
from wizard.model.names import check_principal_arn
from wizard.model.safe_io import write_atomically
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession
    from wizard.engine import Engine
    from wizard.model.answers import Answers
    from wizard.model.context import AccountContext
    from wizard.model.plan import Finding, Plan
    from wizard.ports import AwsCaller


def add_central_options(parser: argparse.ArgumentParser, *, handoff: bool = True) -> None:
    """The central-logging options (a bucket or key in another account)."""
    group = parser.add_argument_group(
        "central logging (the log bucket or key belongs to another account)"
    )
    how = group.add_mutually_exclusive_group()
    how.add_argument(
        "--log-account-profile",
        metavar="NAME",
        help="AWS profile for the log-archive account: its bucket and key policies are read "
        "and changed with it",
    )
    how.add_argument(
        "--log-account-role",
        metavar="ARN",
        help="role in the log-archive account, assumed with the main session's credentials",
    )
    group.add_argument(
        "--central-reader",
        metavar="ARN",
        action="append",
        default=[],
        help="principal that may decrypt the log files (central key; repeatable)",
    )
    if handoff:
        group.add_argument(
            "--central-confirmed",
            metavar="CODE",
            help="the code check-central printed: the log-archive owner applied the hand-off",
        )
        group.add_argument(
            "--handoff-out",
            metavar="DIR",
            help="write the hand-off pack for the log-archive owner to DIR (README.md, "
            "bucket-statements.json, key-statements.json)",
        )


# ------------------------------------------------------------------ log-archive session


def central_accounts(answers: Answers, account: str) -> list[str]:
    """The accounts other than ``account`` that own the answers' bucket or key."""
    found: list[str] = []
    bucket = answers.bucket
    if not bucket.create and bucket.account and bucket.account != account:
        found.append(bucket.account)
    ref = answers.encryption.existing_key
    if ref and ref.startswith("arn:"):
        owner = ref.split(":")[4]
        if owner and owner != account and owner not in found:
            found.append(owner)
    return found


def open_log_session(
    conn: Connection | None, *, profile: str | None, role: str | None, read_only: bool
) -> AwsSession | None:
    """The log-archive account's session (a profile, or a role assumed from ``conn``).

    Raises:
        UsageError: the profile or role cannot be used; the message says why.
    """
    if profile:
        return _open_profile(conn, profile, read_only=read_only)
    if role:
        # The options allow a role or a profile, and a role needs the main session: open.
        assert conn is not None
        return _assume_role(conn, role, read_only=read_only)
    return None


def _open_profile(conn: Connection | None, profile: str, *, read_only: bool) -> AwsSession:
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.aws.session import CredentialsProblem, SessionSettings, open_session

    if conn is not None and conn.sandbox is not None:
        raise UsageError(
            "--log-account-profile cannot be used with --sandbox (the sandbox has no "
            "profiles): use --log-account-role arn:aws:iam::ACCOUNT:role/NAME."
        )
    region = conn.session.region if conn is not None else None
    try:
        return open_session(SessionSettings(profile=profile, region=region, read_only=read_only))
    except CredentialsProblem as exc:
        raise UsageError(f"--log-account-profile {profile}: {exc.message}") from None


def _assume_role(conn: Connection, role: str, *, read_only: bool) -> AwsSession:
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.aws.accounts import assume_role_session
    from wizard.aws.session import CredentialsProblem, explain_aws_error

    problem = check_principal_arn(role)
    if problem is None and ":role/" not in role:
        problem = f"'{role}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
    if problem:
        raise UsageError(f"--log-account-role: {problem}")
    try:
        return assume_role_session(conn.session_here(), role, read_only=read_only)
    except AwsError as err:
        raise UsageError(
            f"--log-account-role: {explain_aws_error(err)} Check the role's trust policy: "
            "it must let this session's principal call sts:AssumeRole."
        ) from None
    except CredentialsProblem as exc:
        raise UsageError(f"--log-account-role: {exc.message}") from None


def log_account_callers(
    args: argparse.Namespace, conn: Connection, answers: Answers, *, read_only: bool
) -> dict[str, AwsCaller]:
    """``{log-archive account id: caller}`` from the options, or ``{}`` when none is given.

    Raises:
        UsageError: the credentials reach another account than the one that owns the
            central bucket or key, or the answers keep both in this account.
    """
    session = open_log_session(
        conn,
        profile=getattr(args, "log_account_profile", None),
        role=getattr(args, "log_account_role", None),
        read_only=read_only,
    )
    if session is None:
        return {}
    account = session.whoami()[0]
    main = conn.session.whoami()[0]
    expected = central_accounts(answers, main)
    if not expected:
        raise UsageError(
            "Credentials for a log-archive account were given, but the answers keep the bucket "
            "and key in this account. Set bucket.account (and create: false) to the central "
            "bucket's owner, or drop --log-account-profile / --log-account-role."
        )
    if account not in expected:
        raise UsageError(
            f"The log-archive credentials reach account {account}, but the central bucket or "
            f"key belongs to {', '.join(expected)}. Use credentials for that account."
        )
    return {account: session.caller}


def central_engine(
    conn: Connection, args: argparse.Namespace, answers: Answers, *, read_only: bool
) -> Engine:
    """The engine for ``plan`` and ``apply``: with the log-archive account's caller (when
    its credentials are given) and the central options (readers, confirmation code)."""
    callers = (
        log_account_callers(args, conn, answers, read_only=read_only)
        if has_log_account_options(args)
        else {}
    )
    return engine_for(
        conn,
        callers=callers,
        central_readers=list(getattr(args, "central_reader", []) or []),
        central_confirmation=getattr(args, "central_confirmed", None),
    )


# ------------------------------------------------------------------ hand-off and findings


def write_handoff(plan: Plan, directory: str, answers_path: str, out: TextIO) -> bool:
    """Write the plan's hand-off pack to ``directory``; False when there is none.

    Raises:
        UsageError: the directory cannot be written.
    """
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.plan.central import HandoffPack

    data = plan.policies.get("central_handoff")
    if not data:
        out.write(f"\nNo hand-off pack: nothing needs the log-archive owner ({directory}).\n")
        return False
    pack = HandoffPack.model_validate(data)
    quoted = shlex.quote(answers_path)
    target = Path(directory)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, text in pack.files().items():
            write_atomically(target / name, text.replace(" ANSWERS ", f" {quoted} "))
    except OSError as exc:
        raise UsageError(f"--handoff-out {directory}: cannot write the pack: {exc}") from None
    out.write(
        f"\nHand-off pack for the log-archive owner written to {target}/ "
        f"({', '.join(sorted(pack.files()))}).\n"
    )
    return True


def organization_finding(caller: AwsCaller, ctx: AccountContext) -> Finding | None:
    """``organization-trail-suggested`` when run in an organization's management account."""
    # Deferred for start-up time: the engine (pydantic, botocore) loads when needed.
    from wizard.onboard import organization_suggestion

    try:
        return organization_suggestion(caller, ctx)
    except AwsError:
        return None
