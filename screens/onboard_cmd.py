"""Central logging and onboarding on the command line: ``check-central`` and ``onboard``.

Also the central-logging options ``plan`` and ``apply`` share (``--log-account-profile``,
``--log-account-role``, ``--central-reader``, ``--central-confirmed``, ``--handoff-out``)
and the code that opens the log-archive account's session. Never imports Textual.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from screens.cli import (
    _EXTRA_COMMANDS,
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    _load_all,
)


def add_central_options(parser: Any, *, handoff: bool = True) -> None:
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


# ------------------------------------------------------------ log-archive session


def central_accounts(answers: Any, account: str) -> list[str]:
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
    conn: Any, *, profile: str | None, role: str | None, read_only: bool
) -> Any | None:
    """The log-archive account's session (a profile, or a role assumed from ``conn``)."""
    from wizard.aws.session import (
        CredentialsProblem,
        SessionSettings,
        explain_aws_error,
        open_session,
    )
    from wizard.ports import AwsError

    if profile:
        if conn is not None and conn.sandbox is not None:
            raise UsageError(
                "--log-account-profile cannot be used with --sandbox (the sandbox has no "
                "profiles): use --log-account-role arn:aws:iam::ACCOUNT:role/NAME."
            )
        region = conn.session.region if conn is not None else None
        try:
            return open_session(
                SessionSettings(profile=profile, region=region, read_only=read_only)
            )
        except CredentialsProblem as exc:
            raise UsageError(f"--log-account-profile {profile}: {exc.message}") from None
    if role:
        from wizard.aws.accounts import assume_role_session
        from wizard.model.names import check_principal_arn

        problem = check_principal_arn(role)
        if problem is None and ":role/" not in role:
            problem = f"'{role}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
        if problem:
            raise UsageError(f"--log-account-role: {problem}")
        try:
            return assume_role_session(conn.session, role, read_only=read_only)
        except AwsError as err:
            raise UsageError(
                f"--log-account-role: {explain_aws_error(err)} Check the role's trust policy: "
                "it must let this session's principal call sts:AssumeRole."
            ) from None
        except CredentialsProblem as exc:
            raise UsageError(f"--log-account-role: {exc.message}") from None
    return None


def log_account_callers(
    args: argparse.Namespace, conn: Any, answers: Any, *, read_only: bool
) -> dict[str, Any]:
    """``{log-archive account id: caller}`` from the options, or ``{}`` when none is given."""
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


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Engine keyword arguments of the central options (readers, confirmation)."""
    return {
        "central_readers": list(getattr(args, "central_reader", []) or []),
        "central_confirmation": getattr(args, "central_confirmed", None),
    }


def write_handoff(plan: Any, directory: str, answers_path: str, out: TextIO) -> bool:
    """Write the plan's hand-off pack to ``directory``; False when there is none."""
    from wizard.model.safe_io import write_atomically
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


def organization_finding(caller: Any, ctx: Any) -> Any | None:
    """``organization-trail-suggested`` when run in an organization's management account."""
    from wizard.onboard import organization_suggestion
    from wizard.ports import AwsError

    try:
        return organization_suggestion(caller, ctx)
    except AwsError:
        return None


# -------------------------------------------------------------------- commands


def register(sub: Any) -> None:
    """Add ``check-central`` and ``onboard`` to the command-line parser."""
    p = sub.add_parser(
        "check-central",
        help="check that the central bucket and key policies let this account's trail deliver",
        description="Read the central (log-archive) bucket and key policies and evaluate every "
        "request CloudTrail will make for this account's trail, and each named reader's "
        "decryption. Read-only. Exit 0 when all are allowed (a confirmation code is printed "
        "for `apply --central-confirmed`), 1 when not.",
    )
    p.add_argument("answers", metavar="ANSWERS")
    p.add_argument(
        "--account",
        help="the account whose trail writes (default: the account of the main session)",
    )
    add_central_options(p, handoff=False)
    p.add_argument("--output", choices=("text", "json"), default="text")
    p.set_defaults(handler=cmd_check_central)

    p = sub.add_parser(
        "onboard",
        help="set up a trail in many accounts delivering to one central bucket",
        description="Assume a role in each account of ACCOUNTS, plan everywhere, show one "
        "summary, update the central bucket and key policies once, then apply account by "
        "account. Re-running skips accounts already done and retries failed ones. Exit 0 all "
        "done, 1 some account failed, 2 invalid input or blocked (nothing changed).",
    )
    p.add_argument("accounts", metavar="ACCOUNTS", help="accounts file, YAML or JSON")
    p.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        metavar="N",
        help="accounts worked on at once (default %(default)s)",
    )
    p.add_argument("--output", choices=("text", "json"), default="text")
    how = p.add_argument_group("log-archive account (overrides central: in ACCOUNTS)")
    one = how.add_mutually_exclusive_group()
    one.add_argument("--log-account-profile", metavar="NAME")
    one.add_argument("--log-account-role", metavar="ARN")
    p.set_defaults(handler=cmd_onboard)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("choose between 1 and 64")
    return value


_EXTRA_COMMANDS.append(register)


# ---------------------------------------------------------------- check-central


@contextmanager
def _main_connection(args: argparse.Namespace) -> Iterator[Any | None]:
    """The main session, unless the log-archive profile and --account make it unneeded."""
    from screens.commands import connect

    if args.log_account_profile and args.account and not args.sandbox:
        yield None
        return
    with connect(args, read_only=True) as conn:
        yield conn


def cmd_check_central(args: argparse.Namespace, out: TextIO) -> int:
    """``check-central``: evaluate the live central policies for this account's trail."""
    from wizard.model.context import AccountContext
    from wizard.model.names import check_account_id
    from wizard.plan.central import check_central

    ((path, answers),) = _load_all([args.answers])
    if args.account and (problem := check_account_id(args.account)):
        raise UsageError(f"--account: {problem}")
    with _main_connection(args) as conn:
        log = open_log_session(
            conn, profile=args.log_account_profile, role=args.log_account_role, read_only=True
        )
        if conn is None:
            # Only a log-archive profile and --account: the main session is not needed.
            assert log is not None
            session, account = log, args.account
        else:
            session = log if log is not None else conn.session
            account = args.account or conn.session.whoami()[0]
        _owner, partition, _arn = session.whoami()
        ctx = AccountContext(account_id=account, partition=partition, region=session.region)
        report = check_central(answers, ctx, session.caller, readers=args.central_reader)
    if args.output == "json":
        doc = json.loads(report.model_dump_json())
        doc["ok"] = report.ok
        if not report.ok:
            doc["confirmation"] = None
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        _print_check(report, path, out)
    return EXIT_OK if report.ok else EXIT_FAILED


def _print_check(report: Any, path: str, out: TextIO) -> None:
    out.write(f"Central policies for trail {report.trail_arn} (account {report.account_id})\n")
    out.write(f"  bucket {report.bucket}" + (f", key {report.key}" if report.key else "") + "\n\n")
    for check in report.checks:
        mark = "pass" if check.allowed else "FAIL"
        out.write(f"  [{mark}] {check.resource}: {check.label}\n")
        if not check.allowed and check.detail:
            out.write(f"         {check.detail}\n")
    for problem in report.problems:
        out.write(f"  [FAIL] cannot read: {problem}\n")
    out.write("\n")
    if report.ok:
        out.write(
            f"All {len(report.checks)} requests are allowed. Confirmation code: "
            f"{report.confirmation}\nThe operator of account {report.account_id} runs: "
            f"cloudtrail-wizard apply {shlex.quote(path)} --central-confirmed "
            f"{report.confirmation}\n"
        )
    else:
        refused = sum(1 for c in report.checks if not c.allowed) + len(report.problems)
        out.write(
            f"{refused} problem(s): the central policies do not (yet) let this trail deliver. "
            "Apply the hand-off pack (`cloudtrail-wizard plan ANSWERS --handoff-out DIR` "
            "writes it) and check again.\n"
        )


# ---------------------------------------------------------------------- onboard


class _Opener:
    """Reaches an account by assuming its role from the main session."""

    def __init__(self, source: Any, *, read_only: bool, partition: str) -> None:
        self.source = source
        self.read_only = read_only
        self.partition = partition
        self.sessions: dict[str, Any] = {}
        self.lock = threading.Lock()

    def __call__(self, target: Any) -> tuple[Any, Any]:
        from wizard.aws.accounts import assume_role_session
        from wizard.aws.session import CredentialsProblem
        from wizard.ports import AwsError

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
            self.sessions[ctx.account_id] = session
        return session.caller, ctx


class _Lines:
    """Thread-safe progress lines."""

    def __init__(self, out: TextIO, enabled: bool) -> None:
        self.out = out
        self.enabled = enabled
        self.lock = threading.Lock()

    def __call__(self, line: str) -> None:
        if self.enabled:
            with self.lock:
                self.out.write(f"  {line}\n")
                self.out.flush()


LAST_OPENER: list[_Opener] = []
"""The opener of the last onboard run in this process (tests read its sessions' stats)."""


def cmd_onboard(args: argparse.Namespace, out: TextIO) -> int:
    """``onboard``: many accounts, one central bucket, one summary, one journal."""
    from wizard.model.answers_file import AnswersError
    from wizard.onboard import Onboarding, load_accounts

    # The file is checked before the AWS SDK is even imported: a wrong path fails at once.
    try:
        spec = load_accounts(args.accounts)
    except AnswersError as exc:
        raise UsageError(
            exc.render() + "\nNothing was changed. Fix the accounts file and run again."
        ) from None
    from screens.commands import connect
    from wizard.aws.session import explain_aws_error
    from wizard.run.journal import Journal, new_journal_path

    as_json = args.output == "json"
    with connect(args, read_only=args.dry_run) as conn:
        main_ctx = conn.session.context()
        account, partition = main_ctx.account_id, main_ctx.partition
        central_caller, central_account = _central_caller(args, conn, spec, account)
        opener = _Opener(conn.session, read_only=args.dry_run, partition=partition)
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
        lines = _Lines(out, enabled=not as_json)
        run = Onboarding(
            spec,
            opener=opener,
            main_ctx=main_ctx,
            central_caller=central_caller,
            central_account=central_account,
            concurrency=args.concurrency,
            dry_run=args.dry_run,
            journal=journal,
            progress=lines,
            explain=explain_aws_error,
        )
        suggestion = organization_finding(conn.session.caller, main_ctx)
        if suggestion is not None:
            run.findings.append(suggestion)
        if not as_json:
            out.write(
                f"Onboarding {len(spec.targets)} account(s) from {args.accounts} (main "
                f"account {account}, {conn.session.region})"
                + (" - dry run, nothing will be changed" if args.dry_run else "")
                + "\n"
            )
        rows = run.prepare()
        if not as_json:
            _print_summary(rows, run, out)
        work = [r for r in rows if r.status == "ready"] or (
            run.central is not None and run.central.status == "would-update"
        )
        declined = False
        ready = len([r for r in rows if r.status == "ready"])
        if work and not args.dry_run and not args.yes and not _confirm_onboard(ready, out):
            run.decline()
            declined = True
        if not declined:
            if run.apply_central():
                run.apply_accounts()
            else:
                run.fail_ready("the central policy update failed; nothing was changed here")
        report = run.report()
    if as_json:
        from wizard.onboard import report_json

        out.write(json.dumps(report_json(report), indent=2, default=str) + "\n")
    else:
        _print_results(report, out, declined=declined)
    return _exit_code(report, declined=declined)


def _central_caller(
    args: argparse.Namespace, conn: Any, spec: Any, account: str
) -> tuple[Any | None, str | None]:
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


def _confirm_onboard(count: int, out: TextIO) -> bool:
    if not sys.stdin.isatty():
        raise UsageError(
            "onboard needs confirmation, but there is no terminal to ask on. Review the summary "
            "(`cloudtrail-wizard onboard ACCOUNTS --dry-run`) and pass --yes."
        )
    out.write(f"\nApply to {count} account(s)? [y/N] ")
    out.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write(
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def _print_summary(rows: Sequence[Any], run: Any, out: TextIO) -> None:
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
                str(r.planned) if r.status in ("ready", "blocked") else "-",
                counts,
                detail[:120],
            ]
        )
    _table(table, out)
    _print_central(run.central, out)
    for finding in run.findings:
        out.write(f"\n  info  [{finding.code}] {finding.message}\n")


def _print_central(central: Any, out: TextIO) -> None:
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


def _print_results(report: Any, out: TextIO, *, declined: bool) -> None:
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


def _exit_code(report: Any, *, declined: bool) -> int:
    if declined:
        return EXIT_INVALID
    statuses = {a.status for a in report.accounts}
    central = report.central.status if report.central is not None else None
    if statuses & {"failed", "needs-attention"} or central == "failed":
        return EXIT_FAILED
    if "blocked" in statuses or central == "blocked":
        return EXIT_INVALID
    return EXIT_OK
