"""Messages posted by thread workers back to the UI (post_message is thread-safe).

One class per result, so every handler receives its result typed. The types come from
``TYPE_CHECKING`` imports: this module loads with the first screen, the models they name
only once a worker needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from screens.common.backend import AccountInfo, DeliveryReport
    from screens.common.log_account import LogAccount
    from wizard.account.discovery import Discovery, OrganizationFacts, TrailFacts
    from wizard.account.inventory import (
        BucketBatch,
        BucketChoice,
        BucketListing,
        KeyBatch,
        KeyChoice,
        KeyListing,
    )
    from wizard.engine import Outcome
    from wizard.health.integrity import IntegrityReport
    from wizard.health.logfiles import LogListing
    from wizard.health.trails import HealthReport
    from wizard.model.plan import Call, Plan
    from wizard.run.apply import ApplyEvent


class Connected(Message):
    """The session is open and the caller identified."""

    def __init__(self, info: AccountInfo, trails: list[TrailFacts]) -> None:
        self.info = info
        """Who the wizard runs as."""
        self.trails = trails
        """The trails seen from the session's region."""
        super().__init__()


class ConnectFailed(Message):
    """The session could not be opened; ``message`` says how to fix it."""

    def __init__(self, message: str, kind: str) -> None:
        self.message = message
        """What is wrong and how to fix it."""
        self.kind = kind
        """The :class:`~wizard.aws.session.CredentialsProblem` kind, or ``aws``."""
        super().__init__()


class TrailsFound(Message):
    """The trails of every region were listed (those homed elsewhere included)."""

    def __init__(self, trails: list[TrailFacts]) -> None:
        self.trails = trails
        """Every trail the account can see; empty when the lookup failed."""
        super().__init__()


class OrganizationChecked(Message):
    """What the account's organization allows (for the organization-trail switch)."""

    def __init__(self, facts: OrganizationFacts) -> None:
        self.facts = facts
        """What discovery found about the organization."""
        super().__init__()


class BucketChecked(Message):
    """Whether a new bucket's name is free."""

    def __init__(self, name: str, problem: str | None) -> None:
        self.name = name
        """The name checked."""
        self.problem = problem
        """None when it is free, else why it cannot be used."""
        super().__init__()


class BucketsListed(Message):
    """The account's buckets, for the picker."""

    def __init__(self, buckets: list[BucketChoice], error: str | None = None) -> None:
        self.buckets = buckets
        """The buckets (empty when listing failed)."""
        self.error = error
        """Why they could not be listed."""
        super().__init__()


class BucketBatchReady(Message):
    """A bucket listing's next batch: rows found, policies judged."""

    def __init__(self, listing: BucketListing, batch: BucketBatch) -> None:
        self.listing = listing
        """The listing it comes from (a batch of a listing replaced since is dropped)."""
        self.batch = batch
        """What was learnt since the last batch."""
        super().__init__()


class KeyBatchReady(Message):
    """A key listing's next batch: rows found, keys described and judged."""

    def __init__(self, listing: KeyListing, bucket_region: str, batch: KeyBatch) -> None:
        self.listing = listing
        """The listing it comes from (a batch of a listing replaced since is dropped)."""
        self.bucket_region = bucket_region
        """The bucket's region, the keys are judged for."""
        self.batch = batch
        """What was learnt since the last batch."""
        super().__init__()


class KeysListed(Message):
    """The account's KMS keys, judged for the bucket's region."""

    def __init__(
        self, bucket_region: str | None, keys: list[KeyChoice], error: str | None = None
    ) -> None:
        self.bucket_region = bucket_region
        """The bucket's region (None when listing failed)."""
        self.keys = keys
        """The keys (empty when listing failed)."""
        self.error = error
        """Why they could not be listed."""
        super().__init__()


class HealthChecked(Message):
    """Every trail's health was checked."""

    def __init__(self, report: HealthReport | None, error: str | None = None) -> None:
        self.report = report
        """The report (None when the check failed)."""
        self.error = error
        """Why the check failed."""
        super().__init__()


class LogsDelivered(Message):
    """Sandbox: the recorded calls were delivered as log files."""

    def __init__(self, report: DeliveryReport | None, error: str | None = None) -> None:
        self.report = report
        """What was written (None when nothing could be delivered)."""
        self.error = error
        """Why nothing was delivered."""
        super().__init__()


class IntegrityChecked(Message):
    """A trail's log files were validated against its digest chain."""

    def __init__(self, arn: str, report: IntegrityReport | None, error: str | None = None) -> None:
        self.arn = arn
        """The trail validated."""
        self.report = report
        """The verdict (None when validation could not run)."""
        self.error = error
        """Why validation could not run."""
        super().__init__()


class LogFilesListed(Message):
    """A trail's newest log files were listed."""

    def __init__(self, listing: LogListing | None, error: str | None = None) -> None:
        self.listing = listing
        """The files (None when listing failed)."""
        self.error = error
        """Why they could not be listed."""
        super().__init__()


class LogFileRead(Message):
    """One log file was read."""

    def __init__(
        self, key: str, records: list[dict[str, Any]] | None, error: str | None = None
    ) -> None:
        self.key = key
        """The file's key."""
        # dict[str, Any]: a CloudTrail record is JSON whose fields vary by service and call.
        self.records = records
        """Its records (None when it could not be read)."""
        self.error = error
        """Why it could not be read."""
        super().__init__()


class PlanReady(Message):
    """Discovery, preflight and plan are done."""

    def __init__(self, plan: Plan, discovery: Discovery) -> None:
        self.plan = plan
        """The plan built."""
        self.discovery = discovery
        """What discovery read, behind the plan."""
        super().__init__()


class PlanFailed(Message):
    """Planning failed (an AWS error); ``message`` explains."""

    def __init__(self, message: str) -> None:
        self.message = message
        """What went wrong, in words."""
        super().__init__()


class ApplyProgress(Message):
    """One apply event (step started/done/failed, rollback, ...)."""

    def __init__(self, event: ApplyEvent) -> None:
        self.event = event
        """The executor's event."""
        super().__init__()


class ApplyFinished(Message):
    """Apply ended (applied, rolled back, cancelled, stale)."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        """The report and the verification."""
        super().__init__()


class DryRunFinished(Message):
    """A dry run ended; ``calls`` were recorded and none sent."""

    def __init__(self, calls: list[Call]) -> None:
        self.calls = calls
        """The changes apply would have sent."""
        super().__init__()


class LogAccountConnected(Message):
    """A session in the log-archive account was opened and reaches the account named."""

    def __init__(self, log: LogAccount) -> None:
        self.log = log
        """The session, with who the wizard is there."""
        super().__init__()


class LogAccountFailed(Message):
    """The log-archive account could not be reached; ``message`` says why and what to do."""

    def __init__(self, account_id: str, message: str) -> None:
        self.account_id = account_id
        """The account that was to be reached."""
        self.message = message
        """What went wrong and how to fix it."""
        super().__init__()
