"""Bearer-token auth: who may call which endpoint.

Tokens are HS256 JWTs signed with ``Settings.jwt_secret``. Every route declares its
callers with ``Depends(allow(Role.CLERK, ...))``; a missing or bad token is 401 and a
token of the wrong role is 403, both as problem+json.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .problems import Problem
from .settings import Settings, get_settings


class Role(str, enum.Enum):
    CLERK = "clerk"  # CPPCC office staff (政协办公室)
    CHAIR = "chair"  # the chair's meeting (主席会议)
    COMMITTEE = "committee"  # special committees (专委会) and supervising members
    DEPARTMENT = "department"  # an implementing department (承办单位), scoped to one
    OPERATOR = "operator"  # watches workflows; reads everything, changes nothing
    SERVICE = "service"  # another Xieshang process (worker, service)
    PUBLIC = "public"  # a resident using the online column (网上征集)


STAFF_ROLES = (Role.CLERK, Role.CHAIR, Role.COMMITTEE, Role.OPERATOR)


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    department: str | None = None
    # sha256 of the device a resident's public session is bound to (DEVICE_HEADER).
    device: str | None = None


# A resident's public token (POST /public/session) is bound to the device that asked for
# it: every request with it must carry the same device id in this header, so a token
# copied off the phone is worth nothing elsewhere.
DEVICE_HEADER = "X-Xieshang-Device"


def device_fingerprint(device_id: str) -> str:
    return hashlib.sha256(device_id.encode()).hexdigest()


# The key file's text by path, with the mtime it was read at: every token decode asks
# for the key, and reading the file each time cost ~22 us of I/O per request. A replaced
# file (new mtime) is read again at once.
_KEY_FILES: dict[Path, tuple[int, str]] = {}


def signing_key(settings: Settings) -> str:
    """The configured key, or in embedded mode one generated once under data_dir."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.data_dir) / "signing.key"
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        tmp.replace(path)  # atomic: concurrent starters agree on one key
        stamp = path.stat().st_mtime_ns
    known = _KEY_FILES.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    key = path.read_text().strip()
    _KEY_FILES[path] = (stamp, key)
    return key


def mint_token(
    settings: Settings,
    *,
    role: Role,
    subject: str,
    department: str | None = None,
    ttl_seconds: int = 30 * 24 * 3600,
    device: str | None = None,
) -> str:
    if role is Role.DEPARTMENT and not department:
        raise ValueError("a department token must name its department")
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "sub": subject,
        "role": role.value,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if department:
        claims["dept"] = department
    if device:
        claims["dvc"] = device
    return jwt.encode(claims, signing_key(settings), algorithm="HS256")


# Tokens already verified, with their expiry: the worker sends the same service token
# with every request, and each write request was verified twice (the write guard, then the
# route), ~90 us each. The signing key and issuer are part of the key, so a token signed
# with a replaced key is verified afresh (and refused); an entry is used only before its
# token's ``exp``, as PyJWT would check it.
_VERIFIED: dict[tuple[str, str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 4096


def decode_token(settings: Settings, token: str) -> Principal:
    cache_key = (signing_key(settings), settings.jwt_issuer, token)
    hit = _VERIFIED.get(cache_key)
    if hit is not None and time.time() < hit[1]:
        return hit[0]
    principal, expires = _verify(settings, cache_key[0], token)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()  # residents' tokens come and go: a bound, not an LRU
    _VERIFIED[cache_key] = (principal, expires)
    return principal


def _verify(settings: Settings, key: str, token: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "role"]},
        )
        role = Role(claims["role"])
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("The bearer token has expired.") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise _unauthorized("The bearer token is not valid.") from exc
    department = claims.get("dept")
    if role is Role.DEPARTMENT and not department:
        raise _unauthorized("A department token must name its department.")
    device = claims.get("dvc")
    principal = Principal(subject=str(claims["sub"]), role=role, department=department,
                          device=str(device) if device else None)
    return principal, float(claims["exp"])


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="xieshang"'})


_bearer = HTTPBearer(auto_error=False, description="JWT minted by `xieshang token`")

#: Where the write guard (services.common.writes) leaves the principal it decoded, with
#: the token it came from, so the route's ``current_principal`` does not decode it again.
GUARDED_PRINCIPAL = "write_principal"


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("This endpoint needs a bearer token (Authorization: Bearer <token>).")
    guarded = getattr(request.state, GUARDED_PRINCIPAL, None)
    if guarded is not None and guarded[0] == credentials.credentials:
        principal: Principal = guarded[1]
    else:
        settings: Settings = getattr(request.app.state, "settings", None) or get_settings()
        principal = decode_token(settings, credentials.credentials)
    if principal.device is not None:
        sent = request.headers.get(DEVICE_HEADER)
        if not sent or not secrets.compare_digest(device_fingerprint(sent), principal.device):
            raise _unauthorized(f"This token is bound to a device: send the same {DEVICE_HEADER} it was issued for.")
    return principal


def allow(*roles: Role):
    """Dependency: the caller must hold one of ``roles``."""
    allowed = frozenset(roles)

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Problem(403, "Forbidden", f"Role '{principal.role.value}' may not do this; allowed: {names}.")
        return principal

    check.roles = tuple(sorted(allowed, key=lambda r: r.value))  # type: ignore[attr-defined]  # read by services.common.openapi
    return check

