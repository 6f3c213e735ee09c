"""Every bad token is a 401 with ``WWW-Authenticate: Bearer``, everywhere."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import security
from chalicelib.settings import ConfigurationError, Settings, check_jwt_key, get_settings
from tests.helpers.api import Api, User, body

NOT_AUTHENTICATED = {"detail": "Not authenticated"}
BAD_CREDENTIALS = {"detail": "Could not validate credentials"}


def claims(user: User, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    settings = get_settings()
    base = {
        "sub": str(user.id),
        "sid": session_of(user),
        "iat": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def session_of(user: User) -> str:
    """The session id of the user's real login (any made-up one for a user who has none)."""
    if not user.token:
        return "1"
    return str(jwt.decode(user.token, options={"verify_signature": False})["sid"])


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
        lambda user: "Bearer " + signed(claims(user, sid=None)),
        lambda user: "Bearer " + signed(claims(user, sid="first")),
        lambda user: "Bearer " + signed(claims(user, sid="12345")),
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
        "no-sid",
        "non-numeric-sid",
        "a-session-that-does-not-exist",
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
    assert set(decoded) == {"sub", "sid", "iat", "exp", "iss", "aud"}
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


# ---------------------------------------------------------------- key confusion and foreign keys


@functools.lru_cache(maxsize=1)
def attacker_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def attacker_public_pem() -> bytes:
    return (
        attacker_rsa_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def hand_signed(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    """An HS256 token signed with any bytes at all (pyjwt refuses a PEM as an HMAC secret)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


def unsigned_as(algorithm: str, payload: dict[str, Any]) -> str:
    """``unsigned`` with another spelling of ``none``."""
    _, claims_part, _ = unsigned(payload).split(".")
    header = base64.urlsafe_b64encode(json.dumps({"alg": algorithm}).encode()).rstrip(b"=")
    return f"{header.decode()}.{claims_part}."


def attacker_jwk() -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(
        jwt.algorithms.RSAAlgorithm.to_jwk(attacker_rsa_key().public_key())
    )
    return {**jwk, "kid": "attacker"}


@pytest.mark.parametrize(
    "make_token",
    [
        lambda user: jwt.encode(claims(user), attacker_rsa_key(), algorithm="RS256"),
        lambda user: hand_signed(
            {"alg": "HS256", "typ": "JWT"}, claims(user), attacker_public_pem()
        ),
        lambda user: jwt.encode(claims(user), attacker_rsa_key(), algorithm="PS256"),
        lambda user: jwt.encode(
            claims(user), attacker_rsa_key(), algorithm="RS256", headers={"jwk": attacker_jwk()}
        ),
        lambda user: jwt.encode(
            claims(user),
            attacker_rsa_key(),
            algorithm="RS256",
            headers={"kid": "attacker", "jku": "https://attacker.example/jwks.json"},
        ),
        lambda user: jwt.encode(
            claims(user), "k" * 40, headers={"kid": "../../../../../../dev/null"}
        ),
        lambda user: hand_signed(
            {"alg": "HS256", "kid": "../../../../dev/null"}, claims(user), b""
        ),
        lambda user: jwt.encode(
            claims(user), "k" * 40, headers={"x5u": "https://attacker.example/cert.pem"}
        ),
        lambda user: unsigned_as("NONE", claims(user)),
        lambda user: unsigned_as("nOnE", claims(user)),
        lambda user: signed(claims(user)) + ".extra",
        lambda user: ".".join(signed(claims(user)).split(".")[:2]) + ".",
    ],
    ids=[
        "rs256-with-an-attacker-key",
        "hs256-keyed-with-an-rsa-public-pem",
        "ps256",
        "embedded-jwk",
        "kid-and-jku-elsewhere",
        "kid-path-traversal",
        "kid-and-an-empty-key",
        "x5u-elsewhere",
        "alg-NONE",
        "alg-nOnE",
        "four-parts",
        "signature-stripped",
    ],
)
def test_tokens_with_foreign_keys_or_algorithms_are_401(
    api: Api, alice: User, make_token: Any
) -> None:
    response = api.get("/users/me", token=make_token(alice))
    assert_401(response, BAD_CREDENTIALS)


def test_a_token_signed_with_another_stages_key_is_401(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each stage has its own key: a dev token is worthless in prod, and a local one anywhere."""
    this_stage, other_stage = "p" * 48, "d" * 48
    monkeypatch.setenv("JWT_SECRET", this_stage)
    get_settings.cache_clear()
    security.signing_key.cache_clear()
    try:
        assert api.get("/users/me", token=signed(claims(alice), key=this_stage)).status_code == 200
        for key in (other_stage, security.LOCAL_DEVELOPMENT_KEY):
            assert_401(api.get("/users/me", token=signed(claims(alice), key=key)), BAD_CREDENTIALS)
        assert_401(api.get("/users/me", token=alice.token), BAD_CREDENTIALS)  # issued locally
    finally:
        get_settings.cache_clear()
        security.signing_key.cache_clear()


@pytest.mark.parametrize(
    "carry",
    [
        lambda token: ("/users/me?access_token=" + token, {}),
        lambda token: ("/users/me", {"Cookie": f"access_token={token}"}),
        lambda token: ("/users/me", {"X-Access-Token": token}),
        lambda token: ("/users/me", {"Authorization": token}),
    ],
    ids=["query-string", "cookie", "other-header", "no-scheme"],
)
def test_a_token_anywhere_but_the_bearer_header_is_not_a_login(
    api: Api, alice: User, carry: Any
) -> None:
    path, headers = carry(alice.token)
    response = api.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
