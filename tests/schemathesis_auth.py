"""Bearer tokens for schemathesis: each operation is called with a role that may call it.

The role comes from the operation's ``x-roles`` (services/common/openapi.py declares it
from the route's ``allow(...)``), so the run exercises what is behind the role check
rather than stopping at 403. Used by tests/e2e/test_schemathesis.py and, for a run by
hand, as a hooks module::

    SCHEMATHESIS_HOOKS=tests.schemathesis_auth XIESHANG_JWT_SECRET=... \\
        schemathesis run http://127.0.0.1:8001/openapi.json --checks all
"""

from __future__ import annotations

import os

import schemathesis

from services.common.auth import Role, mint_token
from services.common.settings import Settings

# The first of these that an operation allows is the one presented.
PREFERENCE = (Role.CLERK, Role.SERVICE, Role.COMMITTEE, Role.CHAIR, Role.DEPARTMENT, Role.PUBLIC, Role.OPERATOR)
DEPARTMENT = "教育体育局"


def role_for(roles: list[str] | None) -> Role | None:
    if not roles:
        return None
    allowed = {Role(r) for r in roles}
    return next(role for role in PREFERENCE if role in allowed)


def token_for(settings: Settings, role: Role) -> str:
    department = DEPARTMENT if role is Role.DEPARTMENT else None
    return mint_token(settings, role=role, subject=f"schemathesis-{role.value}", department=department, ttl_seconds=3600)


_settings: Settings | None = None


def configure(settings: Settings) -> None:
    """The settings whose key signs the tokens (the stack under test)."""
    global _settings
    _settings = settings


def _current_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings(jwt_secret=os.environ["XIESHANG_JWT_SECRET"])
    return _settings


@schemathesis.auth(refresh_interval=None)
class RoleToken:
    """A token of the operation's preferred role; none for open operations."""

    def get(self, case, ctx):
        role = role_for(case.operation.definition.raw.get("x-roles"))
        return None if role is None else token_for(_current_settings(), role)

    def set(self, case, data, ctx):
        if data is None:
            return
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
