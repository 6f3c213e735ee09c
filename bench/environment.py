"""The offline environment every part of the benchmark runs in.

Set before the app is imported: dummy AWS credentials (moto accepts any),
the ``test`` stage (local signing key, table ``movies-test``, as in
``.chalice/config.json``), and no endpoint override or error reporting, so
nothing can leave the machine.
"""

from __future__ import annotations

import os

OFFLINE = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "STAGE": "test",
    "TABLE_NAME": "movies-test",
}
REMOVED = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "SENTRY_DSN")


def offline_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) made offline."""
    env = dict(os.environ if base is None else base)
    for name in REMOVED:
        env.pop(name, None)
    env.update(OFFLINE)
    return env


def go_offline() -> None:
    """Make this process's environment offline (before importing the app)."""
    offline = offline_environment()
    os.environ.clear()
    os.environ.update(offline)
