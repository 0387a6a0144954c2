"""How to reach AWS: the settings a session is opened with.

Separate from :mod:`wizard.aws.session` (which re-exports :class:`SessionSettings`) so that
describing a session loads no AWS SDK: the command line starts its AWS worker process
(:mod:`wizard.aws.worker`) before it loads anything else.
"""

from __future__ import annotations

from wizard.aws.basics import RetryMode
from wizard.model.base import WizardModel

__all__ = ["SessionSettings"]


class SessionSettings(WizardModel):
    """How to reach AWS: from the command line (``--profile``, ``--region``, ``--sandbox``)."""

    profile: str | None = None
    """Named profile from the AWS config; None uses the default credential chain."""
    region: str | None = None
    """Region for calls; None: ``AWS_REGION``, then the profile or AWS_DEFAULT_REGION."""
    sandbox_endpoint: str | None = None
    """URL of the local emulator; when set, dummy credentials are forced."""
    read_only: bool = False
    """Install the read-only guard on every client (dry-run)."""
    retry_mode: RetryMode = "standard"
    """botocore retry mode."""
    max_attempts: int = 8
    """Attempts per request, the first included."""
