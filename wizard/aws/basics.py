"""The session vocabulary that needs neither botocore nor pydantic.

:class:`CredentialsProblem` (the one error a session that cannot work raises), its kinds
and the retry modes live here so that the worker process of :mod:`wizard.aws.worker` can
open a session without loading the wizard's models, and the command line can report a
session problem without loading the AWS SDK. :mod:`wizard.aws.session` re-exports them.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CredentialsProblem", "ProblemKind", "RetryMode"]

RetryMode = Literal["standard", "adaptive"]
"""botocore retry modes worth using (``legacy`` is not offered)."""

ProblemKind = Literal[
    "profile-not-found",
    "no-credentials",
    "expired",
    "invalid-credentials",
    "credentials",
    "region",
    "endpoint",
]
"""What kind of session problem a :class:`CredentialsProblem` is."""


class CredentialsProblem(Exception):
    """The session cannot be used as configured; ``message`` says how to fix it.

    Despite the name it covers every session-level problem (profile, credentials, region,
    endpoint): ``kind`` says which. None of them is fixed by retrying.
    """

    def __init__(self, message: str, *, kind: ProblemKind = "credentials") -> None:
        self.message = message
        self.kind: ProblemKind = kind
        super().__init__(message)
