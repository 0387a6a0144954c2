"""The one base class every domain model of the wizard derives from.

It fixes the wire-format policy in one place: models are frozen (change them with
``model_copy(update=...)``), unknown fields are refused (a typo in an answers file is an
error that names the field, never silently ignored), and values are validated on
construction only. Strings are kept exactly as given: policy texts must
survive byte-for-byte (answers models strip whitespace themselves).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WizardModel(BaseModel):
    """Frozen pydantic base for every value the core passes around."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        validate_default=True,
    )
