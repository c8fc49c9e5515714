"""The codec endpoint of the Temporal Web UI (Temporal's remote codec protocol).

The UI, configured with ``--ui-codec-endpoint <intake>/codec`` (devstack.py), POSTs the
payloads it displays to ``/codec/decode`` (and ``/codec/encode`` when a user sends a
signal or update from the UI) as ``{"payloads": [{"metadata": {...}, "data": ...}]}``
(protobuf JSON, bytes in base64) and shows what comes back.

Order of operations per request: CORS (only the UI's origins, settings
``codec_cors_origins``; a preflight is answered without a token, as browsers send none),
then the caller's token (an operator or clerk token; others 403, none 401), then the
codec. The token comes as ``Authorization: Bearer`` (CLI, scripts, the UI's "pass access
token") or, for a browser whose UI cannot send headers, in the path:
``<intake>/codec/t/<token>`` entered as the codec endpoint in the UI's own settings
(kept in that browser only; docs/operators.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payloads

from .auth import Principal, Role, decode_token
from .codec import EncryptionCodec, UnknownPayloadKey, payload_keys
from .problems import Problem
from .settings import Settings, get_settings

CODEC_ROLES = frozenset({Role.OPERATOR, Role.CLERK})
_bearer = HTTPBearer(auto_error=False)

router = APIRouter(prefix="/codec", tags=["codec"])


def _settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


def _cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin or origin.rstrip("/") not in _settings(request).codec_origins():
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Namespace",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _authorise(request: Request, token: str | None) -> Principal:
    if not token:
        raise Problem(401, "Unauthorized", "The codec needs an operator or clerk token.",
                      headers={"WWW-Authenticate": 'Bearer realm="xieshang"', **_cors_headers(request)})
    try:
        principal = decode_token(_settings(request), token)
    except Problem as problem:
        problem.headers = {**(problem.headers or {}), **_cors_headers(request)}
        raise
    if principal.role not in CODEC_ROLES:
        raise Problem(403, "Forbidden", f"Role '{principal.role.value}' may not read decoded payloads; allowed: clerk, operator.",
                      headers=_cors_headers(request))
    return principal


async def _run(request: Request, token: str | None, direction: str) -> Response:
    _authorise(request, token)
    try:
        body: Any = await request.json()
        payloads = json_format.ParseDict(body, Payloads())
    except (ValueError, json_format.ParseError) as exc:
        raise Problem(422, "Unprocessable Content", f"body: not a Payloads JSON object ({type(exc).__name__}).",
                      headers=_cors_headers(request)) from exc
    codec = EncryptionCodec(payload_keys(_settings(request)))
    try:
        if direction == "decode":
            result = await codec.decode(payloads.payloads)
        else:
            result = await codec.encode(payloads.payloads)
    except UnknownPayloadKey as exc:
        raise Problem(422, "Unprocessable Content", f"payloads: {exc}.", headers=_cors_headers(request)) from exc
    except (InvalidTag, DecodeError) as exc:  # tampered or foreign ciphertext
        raise Problem(422, "Unprocessable Content", "payloads: a payload does not decrypt with its key (tampered?).",
                      headers=_cors_headers(request)) from exc
    out = json_format.MessageToJson(Payloads(payloads=result))
    return Response(out, media_type="application/json", headers=_cors_headers(request))


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else None


@router.options("/{path:path}", include_in_schema=False)
async def preflight(request: Request) -> Response:
    headers = _cors_headers(request)
    return Response(status_code=204 if headers else 403, headers=headers)


@router.post("/decode", openapi_extra={"x-roles": ["operator", "clerk"]}, summary="Decode Temporal payloads for the Web UI (operator, clerk)")
async def decode(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Response:
    return await _run(request, _bearer_token(credentials), "decode")


@router.post("/encode", openapi_extra={"x-roles": ["operator", "clerk"]}, summary="Encode Temporal payloads for the Web UI (operator, clerk)")
async def encode(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Response:
    return await _run(request, _bearer_token(credentials), "encode")


@router.post("/t/{token}/decode", include_in_schema=False)
async def decode_with_path_token(request: Request, token: str) -> Response:
    return await _run(request, token, "decode")


@router.post("/t/{token}/encode", include_in_schema=False)
async def encode_with_path_token(request: Request, token: str) -> Response:
    return await _run(request, token, "encode")
