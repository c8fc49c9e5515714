"""Who a resident is, for the public page: pluggable sign-in providers.

A provider turns what the page sends (its device id, and for WeChat the authorisation
``code``) into a stable, pseudonymous subject. The subject is what co-signatures,
rate limits and "my submissions" are keyed by, and what notifications address
(``resident:<subject>``); it is never a name, a phone number or an ID number.

* ``DevIdentityProvider`` (the default, ``XIESHANG_PUBLIC_IDENTITY_PROVIDER=dev``): the
  resident is the device: the page generates a random device id once and keeps it; the
  subject is a hash of it. Good for development, tests and a kiosk; anyone can open as
  many "residents" as devices, which the rate limits (per address) bound.
* ``WeChatOAuthProvider`` (``wechat``): the official account's web authorisation
  (网页授权, scope ``snsapi_base``, silent): the page sends the resident to
  ``authorize_url``, WeChat sends them back with ``code``, and the code is exchanged
  server-side (AppID + AppSecret) for the resident's ``openid`` in this account. The
  subject is ``wx-<openid>``, so the account can push template messages to it.
  docs/public.md describes the set-up; its network calls are not exercised in the suite
  (no internet here): the unit tests drive it over a mock transport.

A new provider implements ``IdentityProvider`` and is named in ``provider_for``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

import httpx

from services.common.problems import Problem
from services.common.settings import Settings

from ..fields import validation_problem


@dataclass(frozen=True)
class SignIn:
    """What the page sent: its device id and, for providers that need one, a code."""

    device_id: str
    code: str | None = None


class IdentityProvider(Protocol):
    name: str

    async def subject(self, sign_in: SignIn) -> str:
        """The resident's subject, or Problem 401/422/503 naming what went wrong."""
        ...


_HEX_AS_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


class DevIdentityProvider:
    """The device is the resident (development and tests; see the module docstring)."""

    name = "dev"

    async def subject(self, sign_in: SignIn) -> str:
        # Letters only (hex digits spelt a-p): no run of digits that the outbox's contact
        # check could take for a phone or ID number (residents/service.py: resident_recipient).
        digest = hashlib.sha256(f"dev:{sign_in.device_id}".encode()).hexdigest()[:32]
        return "resident-" + digest.translate(_HEX_AS_LETTERS)


_OPENID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


class WeChatOAuthProvider:
    """WeChat official account web authorisation (公众号网页授权), scope snsapi_base."""

    name = "wechat"
    AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
    ACCESS_TOKEN = "https://api.weixin.qq.com/sns/oauth2/access_token"

    def __init__(self, app_id: str, app_secret: str, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 10.0) -> None:
        if not app_id or not app_secret:
            raise ValueError("the wechat provider needs XIESHANG_WECHAT_APP_ID and XIESHANG_WECHAT_APP_SECRET")
        self._app_id = app_id
        self._app_secret = app_secret
        self._transport = transport
        self._timeout = timeout

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where the page sends the resident first; WeChat returns to ``redirect_uri``
        with ``?code=...&state=...`` (the code is good once, for five minutes)."""
        query = urlencode({"appid": self._app_id, "redirect_uri": redirect_uri, "response_type": "code",
                           "scope": "snsapi_base", "state": state})
        return f"{self.AUTHORIZE}?{query}#wechat_redirect"

    async def subject(self, sign_in: SignIn) -> str:
        if not sign_in.code:
            raise validation_problem([{"field": "code", "rule": "missing", "message": "required by the wechat provider"}])
        params = {"appid": self._app_id, "secret": self._app_secret, "code": sign_in.code,
                  "grant_type": "authorization_code"}
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as http:
                response = await http.get(self.ACCESS_TOKEN, params=params)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Problem(503, "Service Unavailable", "WeChat did not answer the sign-in; try again.",
                          headers={"Retry-After": "5"}) from exc
        openid = answer.get("openid") if isinstance(answer, dict) else None
        if not isinstance(openid, str) or not _OPENID.match(openid):
            # errcode 40029 (invalid code), 40163 (code used)...: the code proves nothing.
            raise Problem(401, "Unauthorized", "The WeChat authorisation code was not accepted; sign in again.",
                          headers={"WWW-Authenticate": 'Bearer realm="xieshang"'})
        return f"wx-{openid}"


def provider_for(settings: Settings) -> IdentityProvider:
    if settings.public_identity_provider == "wechat":
        return WeChatOAuthProvider(settings.wechat_app_id, settings.wechat_app_secret,
                                   timeout=settings.http_timeout_seconds)
    return DevIdentityProvider()
