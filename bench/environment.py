"""The offline environment every part of the benchmark runs in.

Set before the app is imported: dummy AWS credentials (moto accepts any),
the ``test`` stage (local signing key, table ``movies-test``, as in
``.chalice/config.json``), access tokens that outlast a run, and no
endpoint override or error reporting, so nothing can leave the machine.
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
    # The bench's users log in once, and a run (12 minutes, more on a busy machine)
    # outlasts the 15-minute access token: its later requests would be 401s. Signing
    # and checking a token cost the same whatever its lifetime.
    "ACCESS_TOKEN_TTL_SECONDS": str(3 * 60 * 60),
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
