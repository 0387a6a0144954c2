"""Which AWS operations only read: the one rule dry-run relies on, twice.

Dry-run has two independent guarantees that nothing changes. The dry-run caller
(:class:`wizard.run.apply.RecordingCaller`) forwards only read operations to AWS and records the
rest; the read-only guard on the boto3 clients (:func:`wizard.aws.clients.install_readonly_guard`)
refuses every other operation before it is sent. Both ask :func:`is_read_only`, so the two
guarantees can never disagree about what a read is.

The rule is an allowlist: a name prefix that AWS reserves for reads, plus a few explicitly
named read operations whose names do not follow the convention. Anything else is a write,
including operations nobody has heard of yet; a new read that is wrongly refused is an
inconvenience, a new write that is wrongly allowed would break the promise of dry-run.
"""

from __future__ import annotations

import re

READ_PREFIXES: tuple[str, ...] = ("Get", "Describe", "List", "Head")
"""Operation-name prefixes that AWS uses for reads only."""

READ_OPERATIONS: frozenset[str] = frozenset(
    {
        "LookupEvents",
        "GetCallerIdentity",
        "SimulatePrincipalPolicy",
        "SimulateCustomPolicy",
        # IAM Access Analyzer policy checks: they evaluate a document, they change nothing.
        "ValidatePolicy",
        "CheckNoNewAccess",
        "CheckAccessNotGranted",
        "CheckNoPublicAccess",
    }
)
"""Read operations whose names do not start with one of :data:`READ_PREFIXES`."""

NEVER_READ_ONLY: frozenset[str] = frozenset(
    {
        # They match the prefix rule but mint credentials: not something a dry-run needs,
        # and not something to allow through a guard that promises "nothing happens".
        "GetSessionToken",
        "GetFederationToken",
    }
)
"""Operations that match the prefix rule but are refused anyway."""

# A prefix only counts when a new word follows it ("GetBucketPolicy", not "Getaway"), so an
# operation that merely begins with the same letters is not waved through.
_PREFIX_RULE = re.compile(rf"^(?:{'|'.join(READ_PREFIXES)})(?:[A-Z0-9]|$)")


class DryRunViolation(RuntimeError):
    """A mutating AWS operation was attempted where only reads are allowed.

    This is a programming error, never an AWS error: it is deliberately not an
    :class:`wizard.ports.AwsError`, so no code path can mistake it for "not found" or retry it.
    """

    def __init__(self, operation: str, service: str | None = None) -> None:
        self.operation = operation
        self.service = service
        where = f"{service}:{operation}" if service else operation
        super().__init__(
            f"Refused {where}: this session is read-only (dry-run), and {operation} is not a "
            "read operation. Nothing was sent to AWS."
        )


def is_read_only(operation: str) -> bool:
    """True when the API operation (PascalCase, ``GetBucketPolicy``) only reads.

    Args:
        operation: The operation name as it appears in the API (``CreateBucket``).

    Returns:
        True for the allowlisted reads, False for everything else.
    """
    if operation in NEVER_READ_ONLY:
        return False
    return operation in READ_OPERATIONS or bool(_PREFIX_RULE.match(operation))
