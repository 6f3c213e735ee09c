"""Typed settings, read from the environment and checked once, at first use.

Per-stage values live in ``.chalice/config.json``; in deployed stages the JWT
key is not there at all but in an SSM SecureString parameter whose name the
stage sets (``JWT_SECRET_PARAMETER``).

The settings fail closed. Inside Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is set)
``STAGE`` must name a deployed stage and the key must come from SSM or be a
strong ``JWT_SECRET``: a deployment that forgot a variable refuses to start
(``refuse_to_start_if_misconfigured``, called when a function's module is
imported) instead of signing tokens with the development key that is in the
repository. Outside Lambda, only the ``local`` (``make run``) and ``test``
stages may use that key; any other stage needs a strong one too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

LOCAL_STAGES = frozenset({"local", "test"})
DEPLOYED_STAGES = frozenset({"dev", "prod"})
LAMBDA_MARKER = "AWS_LAMBDA_FUNCTION_NAME"
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
MINUTE = 60
DAY = 24 * 60 * MINUTE
MAX_REFRESH_GRACE_SECONDS = MINUTE


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
    refresh_token_ttl_seconds: int
    refresh_grace_seconds: int
    cursor_ttl_seconds: int
    max_body_bytes: int
    cors_allow_origin: str | None
    jwt_secret_parameter: str | None
    jwt_secret_value: str | None
    in_lambda: bool = False

    @property
    def is_local(self) -> bool:
        """May this process sign with the development key? Never inside Lambda."""
        return self.stage in LOCAL_STAGES and not self.in_lambda

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        in_lambda = bool(env.get(LAMBDA_MARKER))
        settings = cls(
            stage=_stage(env, in_lambda),
            table_name=env.get("TABLE_NAME", "movies-local"),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
            jwt_issuer=env.get("JWT_ISSUER", "movie-listing-api"),
            jwt_audience=env.get("JWT_AUDIENCE", "movie-listing-clients"),
            access_token_ttl_seconds=_positive_int(env, "ACCESS_TOKEN_TTL_SECONDS", 15 * MINUTE),
            refresh_token_ttl_seconds=_positive_int(env, "REFRESH_TOKEN_TTL_SECONDS", 30 * DAY),
            refresh_grace_seconds=_positive_int(
                env, "REFRESH_GRACE_SECONDS", 30, maximum=MAX_REFRESH_GRACE_SECONDS
            ),
            cursor_ttl_seconds=_positive_int(env, "CURSOR_TTL_SECONDS", 3600),
            max_body_bytes=_positive_int(env, "MAX_BODY_BYTES", 64 * 1024),
            cors_allow_origin=env.get("CORS_ALLOW_ORIGIN") or None,
            jwt_secret_parameter=env.get("JWT_SECRET_PARAMETER") or None,
            jwt_secret_value=env.get("JWT_SECRET"),
            in_lambda=in_lambda,
        )
        settings._enforce_secret_source()
        return settings

    def _enforce_secret_source(self) -> None:
        if self.is_local or self.jwt_secret_parameter:
            return
        check_jwt_key(self.jwt_secret_value or "", stage=self.stage)


def _stage(env: Mapping[str, str], in_lambda: bool) -> str:
    """``STAGE``; outside Lambda it defaults to ``local``, inside it must be a deployed one."""
    stage = env.get("STAGE") or ""
    if not in_lambda:
        return stage or "local"
    if stage not in DEPLOYED_STAGES:
        named = repr(stage) if stage else "not set"
        raise ConfigurationError(
            f"in Lambda, STAGE must be one of {sorted(DEPLOYED_STAGES)}; it is {named}"
        )
    return stage


def refuse_to_start_if_misconfigured(env: Mapping[str, str] | None = None) -> None:
    """Inside Lambda, check the settings while the function starts, so a bad one never serves.

    A no-op elsewhere: ``make run`` and the tests set their stage's variables
    later (Chalice applies them per request), and read the settings lazily.
    """
    env = os.environ if env is None else env
    if env.get(LAMBDA_MARKER):
        Settings.from_env(env)


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


def _positive_int(
    env: Mapping[str, str], name: str, default: int, *, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigurationError(f"{name} must be at most {maximum}, got {value}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
