"""The boundary between the core and AWS: the core calls AWS only through :class:`AwsCaller`.

The boto3 implementation lives in :mod:`wizard.aws`; tests and dry-run use other ones. The
core therefore never imports boto3, and every AWS interaction is a (service, region,
operation, params) value that can be recorded, refused, counted or replayed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class AwsError(Exception):
    """An AWS API error, reduced to what the core needs to decide and explain."""

    def __init__(
        self,
        *,
        service: str,
        operation: str,
        code: str,
        message: str,
        status: int | None = None,
    ) -> None:
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"{service}:{operation} failed with {code}: {message}")

    @property
    def not_found(self) -> bool:
        """True for the many spellings of "this does not exist"."""
        return self.status == 404 or self.code in NOT_FOUND_CODES

    @property
    def access_denied(self) -> bool:
        """True when the caller lacks permission."""
        return self.status == 403 or self.code in ACCESS_DENIED_CODES


NOT_FOUND_CODES = frozenset(
    {
        "404",
        "NoSuchBucket",
        "NoSuchBucketPolicy",
        "NotFoundException",
        "NoSuchEntity",
        "NotFound",
        "ResourceNotFoundException",
        "TrailNotFoundException",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchPublicAccessBlockConfiguration",
        "OwnershipControlsNotFoundError",
    }
)
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "403"}
)


class AwsCaller(Protocol):
    """Makes AWS API calls. Implementations must be safe to use from several threads."""

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Make one call and return the response (without ResponseMetadata).

        Except for a change the SDK had to send more than once: its response keeps
        ``ResponseMetadata.RetryAttempts`` (> 0), because an earlier attempt whose answer
        was lost may have acted too (see :mod:`wizard.run.orphans`).

        Raises:
            AwsError: the call failed.
        """
        ...

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Make a paginated call and return every item under ``result_key``.

        Raises:
            AwsError: a page failed.
        """
        ...
