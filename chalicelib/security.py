"""Password hashing and access tokens.

Passwords: argon2id through passlib (the maintained ``libpass`` fork) at
OWASP's minimum (19 MiB, t=2, p=1), 20-30 ms here; see
docs/PERFORMANCE.md. passlib is imported on first use so the authorizer,
which only checks tokens, never pays for it.

Tokens: HS256 JWTs from pyjwt. The algorithm list is fixed (never read from
the token), and ``exp``, ``iat``, ``sub``, ``iss`` and ``aud`` are required
and checked. ``sub`` is the user's stable id, so a rename keeps the session.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jwt

from chalicelib.settings import check_jwt_key, get_settings

if TYPE_CHECKING:
    from passlib.context import CryptContext

ALGORITHM = "HS256"
LOCAL_DEVELOPMENT_KEY = "local-development-only-key-not-for-deployment"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud"]


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged or not ours."""


# ---------------------------------------------------------------- passwords


@lru_cache(maxsize=1)
def _password_context() -> CryptContext:
    from passlib.context import CryptContext

    return CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=19 * 1024,
        argon2__time_cost=2,
        argon2__parallelism=1,
    )


def hash_password(password: str) -> str:
    return str(_password_context().hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check ``password``; with no hash, spend the same time and say no.

    Verifying against a dummy hash when the user does not exist keeps an
    attacker from telling unknown users from wrong passwords by timing.
    """
    context = _password_context()
    if password_hash is None:
        context.verify(password, _dummy_hash())
        return False
    return bool(context.verify(password, password_hash))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return str(_password_context().hash("not-a-real-password-but-the-same-cost"))


# ---------------------------------------------------------------- tokens


@lru_cache(maxsize=1)
def signing_key() -> str:
    """The JWT key: SSM in deployed stages, the environment, or a local default."""
    settings = get_settings()
    if settings.jwt_secret_parameter:
        key = _read_ssm_secure_string(settings.jwt_secret_parameter)
    elif settings.jwt_secret_value:
        key = settings.jwt_secret_value
    elif settings.is_local:
        key = LOCAL_DEVELOPMENT_KEY
    else:
        key = ""
    return check_jwt_key(key, stage=settings.stage)


def _read_ssm_secure_string(name: str) -> str:
    from botocore.session import get_session

    client = get_session().create_client("ssm", region_name=get_settings().region)
    response = client.get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])


def issue_access_token(user_id: int, *, now: float | None = None) -> tuple[str, int]:
    """A signed token for ``user_id`` and its lifetime in seconds."""
    settings = get_settings()
    issued_at = int(time.time() if now is None else now)
    ttl = settings.access_token_ttl_seconds
    claims = {
        "sub": str(user_id),
        "iat": issued_at,
        "exp": issued_at + ttl,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM), ttl


def decode_access_token(token: str) -> dict[str, Any]:
    """The claims of a valid token; ``InvalidToken`` for anything else."""
    settings = get_settings()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from None
    subject = claims["sub"]
    if not (isinstance(subject, str) and subject.isascii() and subject.isdigit()):
        raise InvalidToken("InvalidSubject")
    return claims


# ---------------------------------------------------------------- signing


def sign(payload: bytes, purpose: str) -> bytes:
    """An HMAC of ``payload`` with a key derived from the JWT key for ``purpose``."""
    derived = hmac.new(signing_key().encode(), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(derived, payload, hashlib.sha256).digest()
