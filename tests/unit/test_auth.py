import time

import jwt
import pytest

from services.common.auth import Role, decode_token, mint_token, signing_key
from services.common.problems import Problem
from services.common.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(jwt_secret="unit-test-secret-0123456789abcdefghij", data_dir=str(tmp_path))


def test_round_trip_keeps_role_subject_and_department(settings: Settings) -> None:
    token = mint_token(settings, role=Role.DEPARTMENT, subject="edu-1", department="教育体育局")
    principal = decode_token(settings, token)
    assert (principal.role, principal.subject, principal.department) == (Role.DEPARTMENT, "edu-1", "教育体育局")


def test_department_token_needs_a_department(settings: Settings) -> None:
    with pytest.raises(ValueError, match="department"):
        mint_token(settings, role=Role.DEPARTMENT, subject="x")
    forged = jwt.encode(
        {"iss": "xieshang", "sub": "x", "role": "department", "exp": int(time.time()) + 60}, "unit-test-secret-0123456789abcdefghij"
    )
    with pytest.raises(Problem) as err:
        decode_token(settings, forged)
    assert err.value.status == 401


@pytest.mark.parametrize(
    ("claims", "key", "detail"),
    [
        ({"exp": -10}, "unit-test-secret-0123456789abcdefghij", "expired"),
        ({}, "another-key-0123456789abcdefghijklmnop", "not valid"),
        ({"role": "mayor"}, "unit-test-secret-0123456789abcdefghij", "not valid"),
        ({"iss": "someone-else"}, "unit-test-secret-0123456789abcdefghij", "not valid"),
    ],
)
def test_bad_tokens_are_401(settings: Settings, claims: dict, key: str, detail: str) -> None:
    base = {"iss": "xieshang", "sub": "x", "role": "clerk", "exp": int(time.time()) + 60}
    if "exp" in claims:
        claims = {**claims, "exp": int(time.time()) + claims["exp"]}
    token = jwt.encode({**base, **claims}, key)
    with pytest.raises(Problem) as err:
        decode_token(settings, token)
    assert err.value.status == 401 and detail in (err.value.detail or "")


def test_embedded_signing_key_is_created_once_and_reused(tmp_path) -> None:
    settings = Settings(jwt_secret="", data_dir=str(tmp_path / "data"))
    first = signing_key(settings)
    assert len(first) >= 40 and signing_key(settings) == first
    assert (tmp_path / "data" / "signing.key").stat().st_mode & 0o777 == 0o600


def test_short_signing_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        Settings(jwt_secret="short")


def test_a_verified_token_is_kept_only_until_it_expires_and_only_for_its_key(settings: Settings, monkeypatch) -> None:
    """decode_token keeps verified tokens (one verification per token, not per request):
    the kept answer must refuse what PyJWT would refuse. An expired token and a token
    checked against a replaced key are verified afresh and refused."""
    token = mint_token(settings, role=Role.SERVICE, subject="worker", ttl_seconds=2)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    verified = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: verified.append(1) or real_decode(*a, **k))
    assert decode_token(settings, token).subject == "worker"
    assert decode_token(settings, token).subject == "worker"
    assert len(verified) == 1  # the second request used the kept verification

    replaced = Settings(jwt_secret="another-key-0123456789abcdefghijklmnop", data_dir=settings.data_dir)
    with pytest.raises(Problem) as err:
        decode_token(replaced, token)
    assert err.value.status == 401 and "not valid" in (err.value.detail or "")

    time.sleep(max(0.0, expires - time.time()) + 0.05)
    with pytest.raises(Problem) as err:
        decode_token(settings, token)
    assert err.value.status == 401 and "expired" in (err.value.detail or "")


def test_embedded_signing_key_is_read_again_only_when_its_file_changes(tmp_path, monkeypatch) -> None:
    """signing_key keeps the file's key (every decode asks for it) and reads the file
    again when it is replaced: a token signed with the old key is then refused."""
    import os
    from pathlib import Path

    settings = Settings(jwt_secret="", data_dir=str(tmp_path / "data"))
    first = signing_key(settings)
    token = mint_token(settings, role=Role.CLERK, subject="office")
    reads = []
    real_read = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: reads.append(self) or real_read(self, *a, **k))
    assert signing_key(settings) == first and decode_token(settings, token).subject == "office"
    assert reads == []  # kept, not read again

    path = tmp_path / "data" / "signing.key"
    path.write_text("a-replaced-key-0123456789abcdefghijklmnopqrstuvwxyz")
    stamp = path.stat().st_mtime_ns + 1_000_000_000  # a clock that did not tick still changes it
    os.utime(path, ns=(stamp, stamp))
    assert signing_key(settings) == "a-replaced-key-0123456789abcdefghijklmnopqrstuvwxyz"
    assert reads == [path]
    with pytest.raises(Problem) as err:
        decode_token(settings, token)
    assert err.value.status == 401
