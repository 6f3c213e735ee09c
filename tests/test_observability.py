"""Sentry is opt-in: absent without a DSN, and scrubbed of personal data with one.

Each check that imports the app or starts Sentry runs in a fresh interpreter,
so that neither ``sys.modules`` nor Sentry's global client leaks between tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from chalicelib import observability
from devtools.package import PROJECT_DIR

# A DSN on the loopback discard port: nothing can leave the machine.
LOOPBACK_DSN = "http://public@127.0.0.1:9/1"


def run_python(code: str, **env: str) -> Any:
    """Run ``code`` in a new interpreter in the project; return what it printed, as JSON."""
    environment = {k: v for k, v in os.environ.items() if k != observability.DSN_VARIABLE}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_dsn_the_app_never_imports_sentry() -> None:
    imported = run_python(
        "import json, sys, app; print(json.dumps('sentry_sdk' in sys.modules))",
    )
    assert imported is False


def test_without_a_dsn_nothing_starts() -> None:
    assert observability.init_error_reporting({}) is False
    assert observability.init_error_reporting({"SENTRY_DSN": ""}) is False


def test_with_a_dsn_sentry_starts_without_personal_data() -> None:
    options = run_python(
        "import json, sentry_sdk\n"
        "from chalicelib import observability\n"
        "started = observability.init_error_reporting()\n"
        "o = sentry_sdk.get_client().options\n"
        "print(json.dumps({'started': started, 'pii': o['send_default_pii'],"
        " 'locals': o['include_local_variables'], 'bodies': o['max_request_body_size'],"
        " 'before_send': o['before_send'].__name__, 'environment': o['environment']}))",
        SENTRY_DSN=LOOPBACK_DSN,
        STAGE="dev",
    )
    assert options == {
        "started": True,
        "pii": False,
        "locals": False,
        "bodies": "never",
        "before_send": "scrub_event",
        "environment": "dev",
    }


def test_events_lose_the_request_body_and_credentials() -> None:
    event = {
        "request": {
            "url": "https://api.example/login",
            "data": "username=ann&password=secret",
            "cookies": {"session": "abc"},
            "headers": {"Authorization": "Bearer abc", "Cookie": "a=b", "Accept": "*/*"},
        }
    }
    scrubbed = observability.scrub_event(event, {})
    assert scrubbed["request"] == {
        "url": "https://api.example/login",
        "headers": {"Accept": "*/*"},
    }
