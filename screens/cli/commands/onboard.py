"""``onboard``: a trail in many accounts, delivering to one central bucket.

Assume a role in each account of ACCOUNTS, plan everywhere, show one summary, update the
central bucket and key policies once, then apply account by account. Re-running skips
accounts already done and retries failed ones. Exit 0 all done, 1 some account failed, 2
invalid input or blocked (nothing changed).

``--engine stacksets`` lets AWS do the fan-out instead: one service-managed StackSet for every
account of the OUs given with ``--ou`` (:mod:`screens.cli.onboard_stacksets`).
"""

from __future__ import annotations

import argparse
import json
import threading
import weakref
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from screens.cli.onboard_stacksets import run_stacksets
from screens.cli.stackset_options import add_deployment_options
from screens.common.central import open_log_session, organization_finding
from screens.common.connection import Connection, connect
from screens.common.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK, UsageError
from screens.common.reporting import confirm
from wizard.ports import AwsError
from wizard.run.journal import Journal, new_journal_path

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession
    from wizard.model.context import AccountContext
    from wizard.onboard import (
        AccountResult,
        AccountTarget,
        CentralResult,
        Onboarding,
        OnboardReport,
        OnboardSpec,
    )
    from wizard.ports import AwsCaller


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The accounts file, --dry-run, --yes, concurrency and the log-archive account."""
    parser.description = (
        "Assume a role in each account of ACCOUNTS, plan everywhere, show one summary, update "
        "the central bucket and key policies once, then apply account by account. Re-running "
        "skips accounts already done and retries failed ones. With --engine stacksets, one "
        "service-managed StackSet deploys the trail to every account of the OUs given with "
        "--ou, and to accounts that join them later (run from the management account or a "
        "delegated administrator; the accounts file's list is not used). Exit 0 all done, 1 "
        "some account failed, 2 invalid input or blocked (nothing changed)."
    )
    parser.add_argument("accounts", metavar="ACCOUNTS", help="accounts file, YAML or JSON")
    parser.add_argument(
        "--engine",
        choices=("accounts", "stacksets"),
        default="accounts",
        help="accounts: one role per listed account, from this machine (default); "
        "stacksets: a service-managed StackSet for every account of the OUs (--ou)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change; change nothing"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--concurrency",
        type=positive,
        default=4,
        metavar="N",
        help="accounts worked on at once (default %(default)s)",
    )
    parser.add_argument("--output", choices=("text", "json"), default="text")
    how = parser.add_argument_group("log-archive account (overrides central: in ACCOUNTS)")
    one = how.add_mutually_exclusive_group()
    one.add_argument("--log-account-profile", metavar="NAME")
    one.add_argument("--log-account-role", metavar="ARN")
    add_deployment_options(parser, "StackSet deployment (--engine stacksets)")
    parser.add_argument(
        "--wait-minutes",
        type=positive_minutes,
        default=60,
        metavar="N",
        help="--engine stacksets: how long one StackSet operation may run before it is "
        "stopped and the run rolled back (default %(default)s)",
    )


def positive(text: str) -> int:
    """``--concurrency``: a whole number from 1 to 64."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("choose between 1 and 64")
    return value


def positive_minutes(text: str) -> int:
    """``--wait-minutes``: a whole number from 1 to 1440 (a day)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1440:
        raise argparse.ArgumentTypeError("choose between 1 and 1440")
    return value


class Opener:
    """Reaches an account by assuming its role from the main session."""

    def __init__(self, source: AwsSession, *, read_only: bool, partition: str) -> None:
        """Assume roles from ``source``; every session read-only when ``read_only``."""
        self.source = source
        self.read_only = read_only
        self.partition = partition
        self.calls: dict[str, Counter[tuple[str, str]]] = {}
        """Each released account's requests so far, by (service, operation) (tests read them)."""
        self._accounts: weakref.WeakKeyDictionary[AwsCaller, str] = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()

    def __call__(self, target: AccountTarget) -> tuple[AwsCaller, AccountContext]:
        """The caller and context of ``target``'s account, as its role."""
        # Deferred for start-up time: boto3/botocore load only when AWS is called.
        from wizard.aws.accounts import assume_role_session
        from wizard.aws.session import CredentialsProblem

        role = target.entry.role(self.partition)
        try:
            session = assume_role_session(
                self.source,
                role,
                session_name="cloudtrail-wizard-onboard",
                read_only=self.read_only,
            )
            ctx = session.context()
        except CredentialsProblem as exc:
            raise AwsError(
                service="sts",
                operation="AssumeRole",
                code="CredentialsProblem",
                message=exc.message,
            ) from None
        with self.lock:
            self._accounts[session.caller] = ctx.account_id
        return session.caller, ctx

    def release(self, caller: AwsCaller) -> None:
        """Close the clients of an account's caller (they are made again when used).

        The opener keeps no session (whoever holds the caller keeps it): a run that is
        done with an account for good frees it, and a thousand accounts' sessions are not
        all held to the end. Its request counts so far are kept in :attr:`calls`.
        """
        # Deferred for start-up time: botocore loads only when AWS is called.
        from wizard.aws.clients import Boto3Caller, ClientFactory

        factory = getattr(caller, "factory", None)
        if isinstance(factory, ClientFactory):
            factory.close()
        with self.lock:
            account = self._accounts.get(caller)
            if account is not None and isinstance(caller, Boto3Caller):
                self.calls[account] = caller.stats


class Lines:
    """Thread-safe progress lines."""

    def __init__(self, out: TextIO, enabled: bool) -> None:
        """Print to ``out``; print nothing unless ``enabled`` (JSON output)."""
        self.out = out
        self.enabled = enabled
        self.lock = threading.Lock()

    def __call__(self, line: str) -> None:
        """Print one indented line."""
        if self.enabled:
            with self.lock:
                self.out.write(f"  {line}\n")
                self.out.flush()


LAST_OPENER: list[Opener] = []
"""The opener of the last onboard run in this process (tests read its sessions' stats)."""


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Many accounts, one central bucket, one summary, one journal."""
    if args.engine == "stacksets":
        return run_stacksets(args, out)
    if args.ous or args.regions or args.stack_set_name:
        raise UsageError(
            "--ou, --regions and --stack-set-name are for --engine stacksets; the accounts "
            "engine onboards the accounts listed in ACCOUNTS. Add --engine stacksets, or "
            "remove them."
        )
    # Deferred for start-up time: the engine (pydantic, botocore) loads when needed.
    from wizard.model.answers_file import AnswersError
    from wizard.onboard import load_accounts

    # The file is checked before the AWS SDK is even imported: a wrong path fails at once.
    try:
        spec = load_accounts(args.accounts)
    except AnswersError as exc:
        raise UsageError(
            exc.render() + "\nNothing was changed. Fix the accounts file and run again."
        ) from None
    as_json = args.output == "json"
    with connect(args, read_only=args.dry_run) as conn:
        onboarding = _onboarding(args, conn, spec, out)
        if not as_json:
            main_ctx = onboarding.main_ctx
            out.write(
                f"Onboarding {len(spec.targets)} account(s) from {args.accounts} (main "
                f"account {main_ctx.account_id}, {conn.session.region})"
                + (" - dry run, nothing will be changed" if args.dry_run else "")
                + "\n"
            )
        if args.yes and not args.dry_run:
            # Nobody reviews between planning and applying: one pass, each account applied
            # on the plan its discovery just made (the summary then says what was planned).
            rows = onboarding.run_through()
            declined = False
            if not as_json:
                _print_summary(rows, onboarding, out)
        else:
            rows = onboarding.prepare()
            if not as_json:
                _print_summary(rows, onboarding, out)
            declined = _declined(args, rows, onboarding, out)
            if not declined:
                onboarding.apply_all()
        report = onboarding.report()
    if as_json:
        # Deferred for start-up time: the engine (pydantic, botocore) loads when needed.
        from wizard.onboard import report_json

        out.write(json.dumps(report_json(report), indent=2, default=str) + "\n")
    else:
        _print_results(report, out, declined=declined)
    return exit_code(report, declined=declined)


def _onboarding(
    args: argparse.Namespace, conn: Connection, spec: OnboardSpec, out: TextIO
) -> Onboarding:
    """The run: the log-archive caller, the opener, one journal, progress lines."""
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.aws.session import explain_aws_error
    from wizard.onboard import Onboarding

    main_ctx = conn.session.context()
    account, partition = main_ctx.account_id, main_ctx.partition
    central_caller, central_account = _central_caller(args, conn, spec, account)
    opener = Opener(conn.session_here(), read_only=args.dry_run, partition=partition)
    LAST_OPENER[:] = [opener]
    journal = Journal(
        new_journal_path("onboard"),
        meta={
            "command": "onboard",
            "source": args.accounts,
            "main_account": account,
            "accounts": [t.account_id for t in spec.targets],
            "dry_run": args.dry_run,
        },
    )
    onboarding = Onboarding(
        spec,
        opener=opener,
        main_ctx=main_ctx,
        central_caller=central_caller,
        central_account=central_account,
        concurrency=args.concurrency,
        dry_run=args.dry_run,
        journal=journal,
        progress=Lines(out, enabled=args.output != "json"),
        explain=explain_aws_error,
        release=opener.release,
    )
    suggestion = organization_finding(conn.session.caller, main_ctx)
    if suggestion is not None:
        onboarding.findings.append(suggestion)
    return onboarding


def _declined(
    args: argparse.Namespace, rows: list[AccountResult], onboarding: Onboarding, out: TextIO
) -> bool:
    """Asks first when there is work and neither --dry-run nor --yes; True for no."""
    ready = len([r for r in rows if r.status == "ready"])
    work = ready > 0 or (
        onboarding.central is not None and onboarding.central.status == "would-update"
    )
    if not work or args.dry_run or args.yes:
        return False
    if confirm(
        f"Apply to {ready} account(s)?",
        out,
        no_terminal="onboard needs confirmation, but there is no terminal to ask on. Review "
        "the summary (`cloudtrail-wizard onboard ACCOUNTS --dry-run`) and pass --yes.",
    ):
        return False
    onboarding.decline()
    return True


def _central_caller(
    args: argparse.Namespace, conn: Connection, spec: OnboardSpec, account: str
) -> tuple[AwsCaller | None, str | None]:
    central = spec.central_bucket()
    if central is None:
        if args.log_account_profile or args.log_account_role:
            raise UsageError(
                "A log-archive account was given, but no account's answers use a bucket in "
                "another account (bucket.create: false, bucket.account: LOG-ARCHIVE-ID)."
            )
        return None, None
    owner = central[2]
    profile = args.log_account_profile or (spec.central.profile if spec.central else None)
    role = args.log_account_role or (spec.central.role_arn if spec.central else None)
    if args.log_account_profile or args.log_account_role:
        profile, role = args.log_account_profile, args.log_account_role
    session = open_log_session(conn, profile=profile, role=role, read_only=args.dry_run)
    if session is None:
        if owner == account:
            return conn.session.caller, account
        return None, owner
    reached = session.whoami()[0]
    if reached != owner:
        raise UsageError(
            f"The log-archive credentials reach account {reached}, but the central bucket "
            f"{central[0]} belongs to {owner} (bucket.account). Nothing was changed."
        )
    return session.caller, reached


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write(
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def _print_summary(rows: Sequence[AccountResult], onboarding: Onboarding, out: TextIO) -> None:
    out.write("\nSummary:\n")
    table = [["ACCOUNT", "STATUS", "CHANGES", "FINDINGS", "DETAIL"]]
    for r in rows:
        counts = (
            f"{r.findings.get('error', 0)}E {r.findings.get('warning', 0)}W "
            f"{r.findings.get('info', 0)}I"
            if r.findings
            else "-"
        )
        detail = r.error or ", ".join(r.codes)
        table.append(
            [
                r.account_id,
                r.status,
                str(r.planned) if r.status in ("ready", "blocked", "applied") else "-",
                counts,
                detail[:120],
            ]
        )
    _table(table, out)
    _print_central(onboarding.central, out)
    for finding in onboarding.findings:
        out.write(f"\n  info  [{finding.code}] {finding.message}\n")


def _print_central(central: CentralResult | None, out: TextIO) -> None:
    if central is None:
        return
    where = f"bucket {central.bucket}" + (f" and key {central.key}" if central.key else "")
    out.write(f"\nCentral ({where}, account {central.account_id}): ")
    if central.status == "would-update":
        out.write(
            f"{len(central.added)} statement(s) to add ({', '.join(central.added)}) for the "
            f"{len(central.writers)} account(s); nothing existing changes.\n"
        )
        if central.diff:
            out.write("".join(f"    {line}\n" for line in central.diff.rstrip("\n").splitlines()))
    elif central.status == "unchanged":
        out.write(f"already allows all {len(central.writers)} account(s); no change.\n")
    elif central.status == "updated":
        out.write(f"updated once for {len(central.writers)} account(s).\n")
    else:
        out.write(f"{central.status}: {central.error}\n")


def _print_results(report: OnboardReport, out: TextIO, *, declined: bool) -> None:
    out.write("\nResults:\n")
    table = [["ACCOUNT", "RESULT", "DETAIL"]]
    for a in report.accounts:
        table.append([a.account_id, a.status, (a.error or a.trail_arn or "")[:160]])
    _table(table, out)
    if report.central is not None and report.central.status in ("updated", "failed"):
        _print_central(report.central, out)
    if declined:
        out.write("\nNot applied. Nothing was changed.\n")
    elif report.dry_run:
        out.write("\nDry run: nothing was changed in any account.\n")
    if report.journal_path:
        out.write(f"Journal: {report.journal_path}\n")


def exit_code(report: OnboardReport, *, declined: bool) -> int:
    """0 every account done, 1 one failed (or needs attention), 2 blocked or declined."""
    if declined:
        return EXIT_INVALID
    statuses = {a.status for a in report.accounts}
    central = report.central.status if report.central is not None else None
    if statuses & {"failed", "needs-attention"} or central == "failed":
        return EXIT_FAILED
    if "blocked" in statuses or central == "blocked":
        return EXIT_INVALID
    return EXIT_OK
