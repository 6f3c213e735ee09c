"""Every bad token is a 401 with ``WWW-Authenticate: Bearer``, everywhere."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from chalicelib import security
from chalicelib.settings import ConfigurationError, Settings, check_jwt_key, get_settings
from tests.conftest import Api, User, body

NOT_AUTHENTICATED = {"detail": "Not authenticated"}
BAD_CREDENTIALS = {"detail": "Could not validate credentials"}


def claims(user: User, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    settings = get_settings()
    base = {
        "sub": str(user.id),
        "iat": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key or security.signing_key(), algorithm=algorithm)


def unsigned(payload: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def assert_401(response: Any, expected: dict[str, str]) -> None:
    assert response.status_code == 401
    assert body(response) == expected
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["X-Request-Id"]


def test_a_valid_token_is_accepted(api: Api, alice: User) -> None:
    response = api.get("/users/me", token=signed(claims(alice)))
    assert response.status_code == 200


def test_no_token_is_401(api: Api) -> None:
    assert_401(api.get("/users/me"), NOT_AUTHENTICATED)


@pytest.mark.parametrize(
    "make_header",
    [
        lambda user: "Bearer",
        lambda user: "Bearer ",
        lambda user: "Basic dXNlcjpwYXNz",
        lambda user: "Token " + signed(claims(user)),
        lambda user: "Bearer not.a.jwt",
        lambda user: "Bearer " + "x" * 5000,
        lambda user: "Bearer " + unsigned(claims(user)),
        lambda user: "Bearer " + signed(claims(user), key="k" * 40),
        lambda user: "Bearer " + signed(claims(user, exp=int(time.time()) - 5)),
        lambda user: "Bearer " + signed(claims(user, exp=None)),
        lambda user: "Bearer " + signed(claims(user, iat=None)),
        lambda user: "Bearer " + signed(claims(user, sub=None)),
        lambda user: "Bearer " + signed(claims(user, sub="alice")),
        lambda user: "Bearer " + signed(claims(user, iss="someone-else")),
        lambda user: "Bearer " + signed(claims(user, aud="another-api")),
        lambda user: "Bearer " + signed(claims(user), algorithm="HS512"),
    ],
    ids=[
        "bearer-without-token",
        "bearer-blank",
        "basic-scheme",
        "wrong-scheme",
        "not-a-jwt",
        "huge",
        "alg-none",
        "forged-signature",
        "expired",
        "no-exp",
        "no-iat",
        "no-sub",
        "non-numeric-sub",
        "wrong-issuer",
        "wrong-audience",
        "other-hmac-algorithm",
    ],
)
def test_every_bad_token_is_401(api: Api, alice: User, make_header: Any) -> None:
    response = api.get("/users/me", headers={"Authorization": make_header(alice)})
    assert_401(response, BAD_CREDENTIALS)


def test_bad_tokens_are_401_under_chalice_test_client_itself(plain_api: Api, alice: User) -> None:
    """No gateway emulation needed: the authorizer admits and the route refuses."""
    for token in (unsigned(claims(alice)), signed(claims(alice), key="k" * 40), "garbage"):
        assert_401(plain_api.get("/users/me", token=token), BAD_CREDENTIALS)


def test_without_a_header_chalice_own_gateway_says_401_too(plain_api: Api) -> None:
    """Chalice's local gateway answers before the app (as API Gateway does)."""
    response = plain_api.get("/users/me")
    assert response.status_code == 401


def test_a_token_for_a_user_that_no_longer_exists_is_401(api: Api) -> None:
    ghost = User(id=12345, username="ghost", token="")
    assert_401(api.get("/users/me", token=signed(claims(ghost))), BAD_CREDENTIALS)


def test_an_expired_result_cached_by_the_gateway_is_still_refused() -> None:
    """API Gateway may reuse an authorizer result after the token expired."""
    from chalicelib import auth, errors

    context = {"authorizer": {"user_id": "7", "expires_at": int(time.time()) - 1}}
    with pytest.raises(errors.NotAuthenticated):
        auth.user_id_from_context(context)


def test_renaming_keeps_the_token_valid(api: Api, alice: User) -> None:
    api.put("/users/me", {"username": "renamed"}, token=alice.token)
    assert body(api.get("/users/me", token=alice.token))["username"] == "renamed"


def test_the_token_carries_the_required_claims(alice: User) -> None:
    decoded = jwt.decode(alice.token, options={"verify_signature": False})
    assert set(decoded) == {"sub", "iat", "exp", "iss", "aud"}
    assert decoded["sub"] == str(alice.id)
    assert jwt.get_unverified_header(alice.token)["alg"] == "HS256"


# ---------------------------------------------------------------- the key


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "missing or a placeholder"),
        ("changeme", "missing or a placeholder"),
        ("local-development-only-key-not-for-deployment", "missing or a placeholder"),
        ("too-short-key", "shorter than 32 bytes"),
    ],
)
def test_deployed_stages_refuse_to_start_with_a_weak_key(key: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        Settings.from_env({"STAGE": "prod", "JWT_SECRET": key})
    with pytest.raises(ConfigurationError, match=problem):
        check_jwt_key(key, stage="dev")


def test_deployed_stages_accept_a_strong_key_or_an_ssm_parameter() -> None:
    strong = "s" * 48
    assert Settings.from_env({"STAGE": "prod", "JWT_SECRET": strong}).jwt_secret_value == strong
    from_ssm = Settings.from_env({"STAGE": "prod", "JWT_SECRET_PARAMETER": "/app/prod/jwt"})
    assert from_ssm.jwt_secret_parameter == "/app/prod/jwt"


def test_the_local_stage_has_a_development_key() -> None:
    assert check_jwt_key(security.LOCAL_DEVELOPMENT_KEY, stage="local")


def test_the_key_is_read_from_ssm_in_deployed_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    secret = "k" * 48
    boto3.client("ssm").put_parameter(Name="/movies/dev/jwt", Value=secret, Type="SecureString")
    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("JWT_SECRET_PARAMETER", "/movies/dev/jwt")
    get_settings.cache_clear()
    security.signing_key.cache_clear()
    try:
        assert security.signing_key() == secret
    finally:
        get_settings.cache_clear()
        security.signing_key.cache_clear()
