"""A log bucket in another account (a log-archive account): whose bucket, and how to reach it.

The Storage step of both front ends (the TUI and the plain prompts) asks the same questions,
in the same order and with the same words, defined here once:

1. :data:`OWNER_PROMPT`: this account's bucket, or another account's.
2. :data:`ACCOUNT_PROMPT`: the owner's account ID (``bucket.account`` in the answers).
3. :data:`REACH_PROMPT`: how the wizard reaches that account: with a profile, by assuming a
   role there, or not at all (its owner is asked to add the statements).

With a profile or a role the wizard reads and changes the central bucket's policy itself, as
``--log-account-profile`` and ``--log-account-role`` do on the command line
(:mod:`screens.common.central`): :func:`connect_log_account` opens that session and checks it
reaches the account named, and :meth:`screens.common.backend.Backend.use_log_account` hands
its caller to the engine.
Without one, the plan carries the hand-off pack for the owner
(:func:`wizard.plan.central.build_handoff`) and apply stays blocked until it is applied.

Every function that calls AWS blocks: the TUI calls them only from thread workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from wizard.guide import Choice
from wizard.model.names import check_account_id, check_principal_arn, parse_arn
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession
    from wizard.ports import AwsCaller

Owner = Literal["this", "other"]
"""Whose bucket: this account's, or another account's."""

Reach = Literal["profile", "role", "owner"]
"""How the wizard reaches the other account (``owner``: it does not; its owner is asked)."""

OWNER_PROMPT = "Whose bucket is it?"
"""Asked once an existing bucket is chosen."""


def owner_choices(account_id: str) -> tuple[Choice, ...]:
    """The two owners, this account named by its ID."""
    return (
        Choice("this", f"This account ({account_id})", "pick it from the list"),
        Choice("other", "Another account", "a log-archive account (central logging)"),
    )


ACCOUNT_PROMPT = "Account ID of the bucket's owner"
"""The log-archive account's 12-digit ID (``bucket.account``)."""

ACCOUNT_HINT = "12 digits: the account that owns the central log bucket."

REACH_PROMPT = "How can the wizard reach that account?"
"""Asked after the owner's account ID."""

REACH_CHOICES: tuple[Choice, ...] = (
    Choice("profile", "With an AWS profile for it", "from your AWS config"),
    Choice("role", "By assuming a role there", "with this session's credentials"),
    Choice("owner", "It cannot: I will ask its owner", "the review lists what to send"),
)
"""The ways to reach the log-archive account, in the order both front ends show them."""

PROFILE_PROMPT = "AWS profile for that account"
ROLE_PROMPT = "Role to assume there (ARN)"
ROLE_PLACEHOLDER = "arn:aws:iam::ACCOUNT:role/NAME"

WHO_WRITES: dict[str, str] = {
    "this": "The wizard adds CloudTrail's statements to the bucket's policy itself, with this "
    "session's credentials, and shows you the difference before applying.",
    "connected": "The wizard reads the bucket's policy with the log-archive account's "
    "credentials and adds this trail's statements next to the existing ones (nothing is "
    "replaced); if the setup fails, the policy is restored to its exact previous text.",
    "owner": "The wizard cannot read or change the bucket's policy: its owner does. The review "
    "lists the statements to add to it, and Apply stays blocked until they are in place. Save "
    "the answers, then `cloudtrail-wizard plan ANSWERS --handoff-out DIR` writes them as files "
    "for the owner; `check-central` gives a code once they are applied, for `cloudtrail-wizard "
    "apply ANSWERS --central-confirmed CODE`.",
}
"""Who writes the bucket policy, for each choice (shown under the choice)."""


def who_writes(owner: Owner, reach: Reach) -> str:
    """What happens to the bucket's policy for this owner and way of reaching it."""
    if owner == "this":
        return WHO_WRITES["this"]
    return WHO_WRITES["owner" if reach == "owner" else "connected"]


def check_owner_account(value: str, this_account: str | None) -> str | None:
    """None when ``value`` can own a central bucket, else what is wrong and how to fix it."""
    value = value.strip()
    if not value:
        return "The owner's account ID is required: 12 digits, e.g. 111122223333."
    problem = check_account_id(value)
    if problem:
        return problem
    if value == this_account:
        return (
            f"{value} is this account: choose 'This account' for its own buckets, or give the "
            "log-archive account's ID."
        )
    return None


def check_role(value: str, account_id: str) -> str | None:
    """None when ``value`` is a role ARN in ``account_id``, else what is wrong."""
    value = value.strip()
    if not value:
        return f"Give the ARN of a role in account {account_id}, e.g. {ROLE_PLACEHOLDER}."
    problem = check_principal_arn(value)
    arn = parse_arn(value)
    if problem is None and (arn is None or arn.service != "iam" or ":role/" not in value):
        problem = f"'{value}' is not an IAM role ARN ({ROLE_PLACEHOLDER})."
    if problem:
        return problem
    if arn is not None and arn.account != account_id:
        return (
            f"The role {value} is in account {arn.account}, but the bucket's owner is "
            f"{account_id}: name a role in {account_id}."
        )
    return None


def check_profile(value: str) -> str | None:
    """None when ``value`` can name a profile (whether it exists is checked when connecting)."""
    value = value.strip()
    if not value:
        return "Give the name of an AWS profile for that account (from ~/.aws/config)."
    if any(c.isspace() for c in value):
        return f"'{value}' is not a profile name: profile names have no spaces."
    return None


class LogAccountProblem(Exception):
    """The log-archive account cannot be reached; ``message`` says why and what to do."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class LogAccount:
    """A session in the log-archive account, checked to reach the account named."""

    account_id: str
    """The log-archive account."""
    how: Literal["profile", "role"]
    """How it was reached."""
    value: str
    """The profile's name or the role's ARN."""
    caller_arn: str
    """Who the wizard is there (STS GetCallerIdentity)."""
    caller: AwsCaller
    """Makes that account's calls."""

    def same(self, account_id: str, how: str, value: str) -> bool:
        """Whether this session answers for ``account_id`` reached that way."""
        return (self.account_id, self.how, self.value) == (account_id, how, value.strip())


def sandbox_hint(seeded: tuple[str, str, str] | None) -> str | None:
    """In the sandbox: which log-archive account it has and the role that reaches it.

    Args:
        seeded: :attr:`screens.common.backend.Backend.sandbox_log_archive`.
    """
    if seeded is None:
        return None
    account, role, bucket = seeded
    return (
        f"The sandbox has a log-archive account, {account}, with bucket {bucket}; reach it by "
        f"assuming {role}. (The sandbox has no profiles.)"
    )


def connect_log_account(
    main: AwsSession,
    account_id: str,
    how: Literal["profile", "role"],
    value: str,
    *,
    sandbox: bool = False,
    read_only: bool = False,
) -> LogAccount:
    """Open a session in ``account_id`` with a profile or by assuming a role (blocks).

    Args:
        main: The wizard's session: a role is assumed with its credentials, a profile's
            session uses its region.
        account_id: The account the session must reach.
        how: ``profile`` or ``role``.
        value: The profile's name or the role's ARN.
        sandbox: The main session is the sandbox's (which has no profiles).
        read_only: Refuse every mutating call in that account too.

    Raises:
        LogAccountProblem: the profile is missing or its credentials do not work, the role
            cannot be assumed, or the session reaches another account.
    """
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.aws.accounts import assume_role_session
    from wizard.aws.session import (
        CredentialsProblem,
        SessionSettings,
        explain_aws_error,
        open_session,
    )

    value = value.strip()
    problem = check_profile(value) if how == "profile" else check_role(value, account_id)
    if problem:
        raise LogAccountProblem(problem)
    if how == "profile":
        if sandbox:
            raise LogAccountProblem(
                "The sandbox has no profiles: choose 'By assuming a role there' and give a "
                f"role in account {account_id}."
            )
        try:
            session = open_session(
                SessionSettings(profile=value, region=main.region, read_only=read_only)
            )
        except CredentialsProblem as exc:
            raise LogAccountProblem(f"Profile {value}: {exc.message}") from None
        what = f"The profile {value}"
    else:
        try:
            session = assume_role_session(main, value, read_only=read_only)
        except AwsError as err:
            if not err.code.startswith("AccessDenied"):
                raise LogAccountProblem(
                    f"The role cannot be assumed: {explain_aws_error(err)}"
                ) from None
            caller = main.whoami()[2]  # cached since the session was opened
            raise LogAccountProblem(
                f"The role cannot be assumed ({err.code}): {err.message.rstrip('.')}. Check "
                f"its trust policy: it must let {caller} call sts:AssumeRole (and that "
                "identity's own IAM policy must allow sts:AssumeRole on the role)."
            ) from None
        except CredentialsProblem as exc:
            raise LogAccountProblem(f"The role cannot be assumed: {exc.message}") from None
        what = f"The role {value}"
    try:
        reached, _partition, arn = session.whoami()
    except CredentialsProblem as exc:
        raise LogAccountProblem(f"{what} does not work: {exc.message}") from None
    if reached != account_id:
        raise LogAccountProblem(
            f"{what} reaches account {reached}, not {account_id}: use credentials for the "
            "bucket's owner."
        )
    return LogAccount(
        account_id=account_id, how=how, value=value, caller_arn=arn, caller=session.caller
    )
