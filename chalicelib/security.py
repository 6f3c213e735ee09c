"""Password hashing and access tokens.

Passwords: argon2id through passlib (the maintained ``libpass`` fork) at
OWASP's minimum (19 MiB, t=2, p=1), 20-30 ms here; see
docs/PERFORMANCE.md. bcrypt hashes migrated from the original deployment
are still checked, and replaced on the first login (docs/MIGRATION.md).
passlib is imported on first use so the authorizer, which only checks
tokens, never pays for it.

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
BCRYPT_BYTES = 72  # what bcrypt reads of a password


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged or not ours."""


# ---------------------------------------------------------------- passwords


@lru_cache(maxsize=1)
def _password_context() -> CryptContext:
    from passlib.context import CryptContext

    return CryptContext(
        schemes=["argon2", "bcrypt"],
        deprecated=["bcrypt"],  # the original deployment's hashes: checked, then replaced
        argon2__type="ID",
        argon2__memory_cost=19 * 1024,
        argon2__time_cost=2,
        argon2__parallelism=1,
    )


def hash_password(password: str) -> str:
    return str(_password_context().hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    return check_password(password, password_hash)[0]


def check_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Whether ``password`` matches, and the hash to store instead if this one is outdated.

    With no hash, or one no scheme here knows, it spends the same time and
    says no: an attacker cannot tell unknown users from wrong passwords by
    timing. A bcrypt hash (migrated from the original deployment) is
    outdated: on a match the answer carries a fresh argon2id hash, which
    the caller stores. The original's bcrypt read only the first 72 bytes of
    a password, and bcrypt 5 refuses longer ones, so bcrypt is given those
    72 bytes; the new hash is of the whole password (which is why this is
    not ``CryptContext.verify_and_update``: that would hash the 72 bytes).
    """
    context = _password_context()
    scheme = context.identify(password_hash) if password_hash else None
    if password_hash is None or scheme is None:
        context.verify(password, _dummy_hash())
        return False, None
    secret: str | bytes = password.encode()[:BCRYPT_BYTES] if scheme == "bcrypt" else password
    try:
        matches = bool(context.verify(secret, password_hash))
    except ValueError:  # bcrypt refuses a NUL byte; no original password held one
        return False, None
    if matches and context.needs_update(password_hash):
        return True, hash_password(password)
    return matches, None


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
