"""No password, password hash, token or key in any log line or error body, over a whole session.

One scenario walks through everything that handles a secret: signups (and
refused ones, with password fields in the error), logins that succeed, fail
and get throttled, a profile update, password changes (a wrong current
password, an invalid new one, a good one), movies, ratings and comments,
validation errors, DynamoDB staying throttled (a 503) and an unexpected
error (a 500, whose trace is logged). Everything logged is captured: the
app's JSON lines on stdout, stderr, and every library's records at DEBUG
(as a Lambda with its log level turned up to DEBUG would emit them). Then
every secret the session produced is searched for: each password tried,
each hash the table ever held, each access and refresh token issued, and
the signing key.

The settings fail closed: below the scenario, the environments in which the
app must refuse to start.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import security
from chalicelib.settings import (
    DEPLOYED_STAGES,
    ConfigurationError,
    Settings,
    get_settings,
    refuse_to_start_if_misconfigured,
)
from tests.helpers.api import Api, body, user_payload
from tests.helpers.faults import TRANSIENT, install
from tests.helpers.snapshots import table_items
from tests.helpers.table import app_hook

PROJECT_DIR = Path(__file__).resolve().parent.parent
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Session:
    """The scenario's requests, and every secret they handled."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.passwords: set[str] = set()
        self.tokens: set[str] = set()
        self.hashes: set[str] = set()
        self.responses: list[tuple[str, Any]] = []

    def send(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> Any:
        response = self.api.request(method, path, payload, **kwargs)
        self.responses.append((f"{method} {path}", response))
        self.collect_hashes()
        return response

    def expect(
        self, status: int, method: str, path: str, payload: Any = None, **kwargs: Any
    ) -> Any:
        response = self.send(method, path, payload, **kwargs)
        assert response.status_code == status, (method, path, response.body)
        return body(response)

    def login(self, username: str, password: str, *, form: bool = False) -> Any:
        self.passwords.add(password)
        if form:
            raw = f"username={username}&password={password.replace(' ', '+')}".encode()
            response = self.send("POST", "/login", raw=raw, headers=FORM)
        else:
            response = self.send("POST", "/login", {"username": username, "password": password})
        self.collect_tokens(response)
        return response

    def refresh(self, refresh_token: str, *, form: bool = False) -> Any:
        if form:
            raw = f"grant_type=refresh_token&refresh_token={refresh_token}".encode()
            response = self.send("POST", "/token/refresh", raw=raw, headers=FORM)
        else:
            response = self.send("POST", "/token/refresh", {"refresh_token": refresh_token})
        self.collect_tokens(response)
        return response

    def collect_tokens(self, response: Any) -> None:
        if response.status_code == 200:
            self.tokens.add(body(response)["access_token"])
            self.tokens.add(body(response)["refresh_token"])

    def collect_hashes(self) -> None:
        for item in table_items().values():
            if "password_hash" in item:
                self.hashes.add(item["password_hash"]["S"])

    def secrets(self) -> dict[str, set[str]]:
        key = security.signing_key()
        signatures = {token.rsplit(".", 1)[1] for token in self.tokens}
        return {
            "password": self.passwords,
            "password hash": self.hashes | {h.rsplit("$", 1)[1] for h in self.hashes},
            "token": self.tokens | signatures,
            "signing key": {key},
        }


@pytest.fixture
def signing_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A random key for this test, so that finding it anywhere means it leaked."""
    key = secrets.token_urlsafe(48)
    monkeypatch.setenv("JWT_SECRET", key)
    get_settings.cache_clear()
    security.signing_key.cache_clear()
    yield key
    get_settings.cache_clear()
    security.signing_key.cache_clear()


def run_scenario(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    expect, login = session.expect, session.login
    first, second, wrong = "first secret phrase", "second secret phrase", "a wrong guess!"
    too_short, too_long = "s3cr!t", "\u00fc" * 40
    session.passwords |= {first, second, wrong, too_short, too_long}

    expect(200, "POST", "/signup", user_payload("alice", password=first))
    expect(200, "POST", "/signup", user_payload("bob", password=second))
    expect(422, "POST", "/signup", user_payload("carol", password=too_short))
    expect(422, "POST", "/signup", user_payload("carol", password=too_long))
    expect(422, "POST", "/signup", {**user_payload("carol", password=first), "email": "nope"})
    expect(422, "POST", "/signup", {"password": first})
    expect(409, "POST", "/signup", user_payload("alice", password=second))
    alice = body(login("alice", first))["access_token"]
    bob = body(login("bob", second, form=True))["access_token"]
    expect(422, "POST", "/login", raw=f"password={first}".encode(), headers=FORM)
    for _ in range(6):
        login("bob", wrong)
    assert login("bob", second).status_code == 429

    me = {"token": alice}
    change = "/users/me/password"
    expect(200, "PUT", "/users/me", {"first_name": "Alicia", "username": "alicia"}, **me)
    expect(400, "PUT", change, {"current_password": wrong, "new_password": second}, **me)
    expect(422, "PUT", change, {"current_password": first, "new_password": too_short}, **me)
    expect(200, "PUT", change, {"current_password": first, "new_password": second}, **me)
    tokens = body(login("alicia", second))
    me = {"token": tokens["access_token"]}
    renewed = body(session.refresh(tokens["refresh_token"], form=True))
    assert session.refresh(renewed["refresh_token"]).status_code == 200
    expect(422, "POST", "/token/refresh", {"refresh_token": renewed["refresh_token"] * 3})
    expect(200, "GET", "/users/me/sessions", **me)
    phone = body(login("alicia", second))
    expect(204, "POST", "/logout", token=phone["access_token"])
    assert session.refresh(phone["refresh_token"]).status_code == 401

    movie = expect(201, "POST", "/movies", {"title": "Secrets & Lies"}, **me)["id"]
    expect(200, "PATCH", f"/movies/{movie}", {"description": "1996"}, **me)
    expect(200, "POST", f"/movies/{movie}/ratings", {"rating": 9}, token=bob)
    comment = expect(200, "POST", f"/movies/{movie}/comments", {"comment_text": "Ssh"}, token=bob)
    expect(200, "POST", f"/comments/{comment['id']}/replies", {"comment_text": "Quiet"}, **me)
    expect(200, "DELETE", f"/comments/{comment['id']}", **me)
    for path in ("/movies", f"/movies/{movie}", f"/movies/{movie}/ratings"):
        expect(200, "GET", path)
    expect(422, "GET", "/movies?limit=0&cursor=x.y")
    expect(422, "POST", "/movies", raw=b'{"title": NaN}', headers=JSON, **me)
    expect(401, "GET", "/users/me", token=me["token"] + "x")
    expect(401, "GET", "/users/me", token=f"{me['token']}.{security.signing_key()}")

    faults = install(monkeypatch)
    faults.fail("GetItem", TRANSIENT["throttling"])
    expect(503, "GET", "/users/me", **me)
    faults.clear()

    def explode(**_: Any) -> None:
        raise RuntimeError("the table is on fire")

    with app_hook("before-call.dynamodb.TransactWriteItems", explode):
        expect(500, "PUT", change, {"current_password": second, "new_password": first}, **me)


def test_a_whole_session_logs_no_secret_and_answers_none_in_an_error(
    api: Api,
    signing_key: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    session = Session(api)
    run_scenario(session, monkeypatch)
    captured = capsys.readouterr()
    logged = {"stdout": captured.out, "stderr": captured.err, "log records": caplog.text}

    assert "the table is on fire" in captured.out  # the 500's trace is in the log
    assert '"dynamodb unavailable"' in captured.out
    access = [json.loads(line) for line in captured.out.splitlines() if '"movies.access"' in line]
    assert len(access) == len(session.responses)
    found = {
        (kind, where)
        for kind, values in session.secrets().items()
        for value in values
        for where, text in logged.items()
        if value and value in text
    }
    assert not found, f"secrets in the logs: {sorted(found)}"
    assert len(session.tokens) >= 2 and len(session.hashes) == 3  # alice twice, bob

    for request, response in session.responses:
        text = response.body.decode("utf-8", "replace") + json.dumps(dict(response.headers))
        leaked = {
            kind for kind, values in session.secrets().items() for value in values if value in text
        }
        if request in ("POST /login", "POST /token/refresh") and response.status_code == 200:
            leaked.discard("token")  # the one place a token belongs
        assert not leaked, (request, response.status_code, leaked)


# ---------------------------------------------------------------- settings that fail closed


LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "movie-listing-api-prod"}
STRONG_KEY = "k" * 48


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({}, "STAGE must be one of .* it is not set"),
        ({"STAGE": "local"}, "STAGE must be one of .* it is 'local'"),
        ({"STAGE": "test", "JWT_SECRET": STRONG_KEY}, "it is 'test'"),
        ({"STAGE": "staging", "JWT_SECRET_PARAMETER": "/app/jwt"}, "it is 'staging'"),
        ({"STAGE": "prod"}, "missing or a placeholder"),
        ({"STAGE": "prod", "JWT_SECRET": security.LOCAL_DEVELOPMENT_KEY}, "placeholder"),
        ({"STAGE": "dev", "JWT_SECRET": "short"}, "shorter than 32 bytes"),
    ],
    ids=["no-stage", "local-stage", "test-stage", "unknown-stage", "no-key", "dev-key", "weak"],
)
def test_in_lambda_the_settings_refuse_a_missing_stage_or_key(
    env: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        Settings.from_env({**LAMBDA, **env})
    with pytest.raises(ConfigurationError, match=problem):
        refuse_to_start_if_misconfigured({**LAMBDA, **env})


def test_in_lambda_a_deployed_stage_with_ssm_or_a_strong_key_starts() -> None:
    from_ssm = Settings.from_env({**LAMBDA, "STAGE": "prod", "JWT_SECRET_PARAMETER": "/a/jwt"})
    assert (from_ssm.stage, from_ssm.is_local) == ("prod", False)
    strong = Settings.from_env({**LAMBDA, "STAGE": "dev", "JWT_SECRET": STRONG_KEY})
    assert strong.jwt_secret_value == STRONG_KEY


def test_outside_lambda_only_the_local_and_test_stages_get_the_development_key() -> None:
    assert Settings.from_env({}).is_local  # make run without a stage: local
    assert Settings.from_env({"STAGE": "test"}).is_local
    with pytest.raises(ConfigurationError, match="missing or a placeholder"):
        Settings.from_env({"STAGE": "dev"})


def test_the_deployed_stages_are_the_ones_the_deploy_tooling_knows() -> None:
    from devtools import package

    assert set(package.DEPLOYED_STAGES) == DEPLOYED_STAGES


def test_every_deployed_stage_sets_valid_token_lifetimes() -> None:
    from devtools import package

    config = package.load_config()
    for name in package.DEPLOYED_STAGES:
        env = config["stages"][name]["environment_variables"]
        settings = Settings.from_env({**LAMBDA, **env})
        assert settings.access_token_ttl_seconds == 15 * 60
        assert settings.refresh_token_ttl_seconds == 30 * 24 * 3600
        assert 0 < settings.refresh_grace_seconds <= 60


def test_a_grace_over_a_minute_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="REFRESH_GRACE_SECONDS must be at most 60"):
        Settings.from_env({"REFRESH_GRACE_SECONDS": "61"})


@pytest.mark.parametrize("module", ["app", "chalicelib.auth", "chalicelib.streams"])
def test_a_lambda_like_environment_without_a_stage_refuses_to_start(module: str) -> None:
    """Every function's handler module: the import (Lambda's init) fails."""
    env = {name: value for name, value in os.environ.items() if name != "STAGE"}
    finished = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=PROJECT_DIR,
        env={**env, **LAMBDA},
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode != 0
    assert "ConfigurationError: in Lambda, STAGE must be one of" in finished.stderr


def test_a_lambda_like_environment_of_a_deployed_stage_starts() -> None:
    env = {**os.environ, **LAMBDA, "STAGE": "prod", "JWT_SECRET_PARAMETER": "/a/jwt"}
    finished = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
