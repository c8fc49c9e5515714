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
