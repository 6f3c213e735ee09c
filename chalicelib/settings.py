"""Typed settings, read from the environment and checked once, at first use.

Per-stage values live in ``.chalice/config.json``; in deployed stages the JWT
key is not there at all but in an SSM SecureString parameter whose name the
stage sets (``JWT_SECRET_PARAMETER``). Outside the ``local`` stage the app
refuses to run with a missing, short or placeholder key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

LOCAL_STAGES = frozenset({"local", "test"})
MIN_KEY_BYTES = 32
PLACEHOLDER_KEYS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "secret",
        "your_secret_key",
        "local-development-only-key-not-for-deployment",
    }
)


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable app; refuse to start."""


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    region: str
    jwt_issuer: str
    jwt_audience: str
    access_token_ttl_seconds: int
    cursor_ttl_seconds: int
    max_body_bytes: int
    cors_allow_origin: str | None
    jwt_secret_parameter: str | None
    jwt_secret_value: str | None

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        settings = cls(
            stage=env.get("STAGE", "local"),
            table_name=env.get("TABLE_NAME", "movies-local"),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
            jwt_issuer=env.get("JWT_ISSUER", "movie-listing-api"),
            jwt_audience=env.get("JWT_AUDIENCE", "movie-listing-clients"),
            access_token_ttl_seconds=_positive_int(env, "ACCESS_TOKEN_TTL_SECONDS", 1800),
            cursor_ttl_seconds=_positive_int(env, "CURSOR_TTL_SECONDS", 3600),
            max_body_bytes=_positive_int(env, "MAX_BODY_BYTES", 64 * 1024),
            cors_allow_origin=env.get("CORS_ALLOW_ORIGIN") or None,
            jwt_secret_parameter=env.get("JWT_SECRET_PARAMETER") or None,
            jwt_secret_value=env.get("JWT_SECRET"),
        )
        settings._enforce_secret_source()
        return settings

    def _enforce_secret_source(self) -> None:
        if self.is_local or self.jwt_secret_parameter:
            return
        check_jwt_key(self.jwt_secret_value or "", stage=self.stage)


def check_jwt_key(key: str, *, stage: str) -> str:
    """Return ``key`` if it may sign tokens in ``stage``; raise otherwise."""
    if stage in LOCAL_STAGES and key:
        return key
    if key.strip().lower() in PLACEHOLDER_KEYS:
        raise ConfigurationError(f"JWT key for stage {stage!r} is missing or a placeholder")
    if len(key.encode()) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"JWT key for stage {stage!r} is shorter than {MIN_KEY_BYTES} bytes"
        )
    return key


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
