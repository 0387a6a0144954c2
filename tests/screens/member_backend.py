"""A sandbox backend connected as a member account of a seeded organization (shared by the
TUI and plain-mode landing-zone tests)."""

from __future__ import annotations

import dataclasses

from screens.common.backend import AccountInfo, Backend
from wizard.aws.accounts import assume_role_session
from wizard.engine import Engine


class MemberBackend(Backend):
    """The sandbox backend, connected as a member account (a role assumed from the demo one)."""

    member = ""

    def connect(self) -> AccountInfo:
        info = super().connect()
        with self._lock:
            assert self._session is not None
            session = assume_role_session(
                self._session, f"arn:aws:iam::{self.member}:role/OrganizationAccountAccessRole"
            )
            self._session = session
            self._engine = Engine(session.caller, session.context(), sandbox=True)
            ctx = self._engine.ctx
            self._info = dataclasses.replace(
                info, account_id=ctx.account_id, caller_arn=ctx.caller_arn or ""
            )
            return self._info
