"""Password hashing, access tokens and refresh tokens.

Passwords: argon2id through passlib (the maintained ``libpass`` fork) at
OWASP's minimum (19 MiB, t=2, p=1), 20-30 ms here; see
docs/PERFORMANCE.md. bcrypt hashes migrated from the original deployment
are still checked, and replaced on the first login (docs/MIGRATION.md).
passlib is imported on first use so the authorizer, which only checks
tokens, never pays for it.

Tokens: HS256 JWTs from pyjwt. The algorithm list is fixed (never read from
the token), and ``exp``, ``iat``, ``sub``, ``iss`` and ``aud`` are required
and checked. ``sub`` is the user's stable id, so a rename keeps the session;
``sid`` names the session (one login) the token belongs to, which the
authorizer checks is still live.

Refresh tokens are opaque: ``<user id>.<session id>.<secret>.<tag>``. The
secret is 32 random bytes (``secrets.token_urlsafe``) for a session's first
token, and for each next one ``HMAC(key, previous token)``: 32 bytes nobody
can predict without the key, and which the server can compute again from the
previous token, so a client whose answer was lost gets the *same* new token
when it presents the old one within the grace period (``chalicelib.accounts``),
while the table holds only hashes. The tag is an HMAC of the rest: a token
the server never issued is refused before any DynamoDB call, and a token it
did issue that is no longer the session's current one is known to be a used
(stolen or replayed) token, which ends the session. Tokens are stored as
SHA-256 hashes: they carry 256 bits of entropy, so nobody can search the hash
space for them, and a slow password hash would only cost time on every
refresh.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jwt

from chalicelib.settings import check_jwt_key, get_settings

if TYPE_CHECKING:
    from passlib.context import CryptContext

ALGORITHM = "HS256"
LOCAL_DEVELOPMENT_KEY = "local-development-only-key-not-for-deployment"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid", "iss", "aud"]
REFRESH_SECRET_BYTES = 32
REFRESH_TAG_BYTES = 16
MAX_REFRESH_TOKEN_CHARS = 256
MAX_ID_DIGITS = 16
BCRYPT_BYTES = 72  # what bcrypt reads of a password


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged or not ours."""


# ---------------------------------------------------------------- passwords


@lru_cache(maxsize=1)
def _password_context() -> CryptContext:
    # bcrypt is passlib's backend for the migrated hashes, which passlib would load only at
    # the first one it meets; imported here (under a millisecond) so that a package that
    # lacks it fails on any login, in its tests, not on a migrated user's login in production.
    import bcrypt  # noqa: F401
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


def issue_access_token(
    user_id: int, session_id: int, *, now: float | None = None, at_most: int | None = None
) -> tuple[str, int]:
    """A signed token for ``user_id`` in session ``session_id``, and its lifetime in seconds.

    ``at_most``: a cap on the lifetime (the session's own time left).
    """
    settings = get_settings()
    issued_at = int(time.time() if now is None else now)
    ttl = settings.access_token_ttl_seconds
    if at_most is not None:
        ttl = min(ttl, at_most)
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
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
    if not _is_id(claims["sub"]):
        raise InvalidToken("InvalidSubject")
    if not _is_id(claims["sid"]):
        raise InvalidToken("InvalidSession")
    return claims


def _is_id(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and 0 < len(value) <= MAX_ID_DIGITS
        and int(value) > 0
    )


# ---------------------------------------------------------------- refresh tokens


@dataclass(frozen=True)
class RefreshToken:
    """A refresh token the server issued: whose, which session, and the token itself."""

    user_id: int
    session_id: int
    token: str

    @property
    def hash(self) -> str:
        return refresh_token_hash(self.token)


def new_refresh_token(user_id: int, session_id: int) -> RefreshToken:
    """The first refresh token of a session: 32 random bytes, tagged."""
    return _tagged(user_id, session_id, secrets.token_urlsafe(REFRESH_SECRET_BYTES))


def next_refresh_token(previous: RefreshToken) -> RefreshToken:
    """The token that replaces ``previous``: the same every time it is asked for."""
    secret = _b64(sign(previous.token.encode(), "refresh-token-next"))
    return _tagged(previous.user_id, previous.session_id, secret)


def parse_refresh_token(token: str) -> RefreshToken | None:
    """The token, if the server issued it (its tag checks); ``None`` for anything else."""
    if len(token) > MAX_REFRESH_TOKEN_CHARS or not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 4 or not (_is_id(parts[0]) and _is_id(parts[1])):
        return None
    body, tag = token.rsplit(".", 1)
    if not hmac.compare_digest(tag, _tag(body)):
        return None
    return RefreshToken(int(parts[0]), int(parts[1]), token)


def refresh_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _tagged(user_id: int, session_id: int, secret: str) -> RefreshToken:
    body = f"{user_id}.{session_id}.{secret}"
    return RefreshToken(user_id, session_id, f"{body}.{_tag(body)}")


def _tag(body: str) -> str:
    return _b64(sign(body.encode(), "refresh-token")[:REFRESH_TAG_BYTES])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# ---------------------------------------------------------------- signing


def sign(payload: bytes, purpose: str) -> bytes:
    """An HMAC of ``payload`` with a key derived from the JWT key for ``purpose``."""
    derived = hmac.new(signing_key().encode(), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(derived, payload, hashlib.sha256).digest()
