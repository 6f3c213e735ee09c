"""A fresh Lambda container: what each function's import pulls in, and its first request.

Each check runs in a new interpreter, since this one has imported everything
already. The authorizer's function imports ``chalicelib.auth`` alone (its
handler is ``chalicelib.auth.jwt_authorizer``), so that import must not drag
in the table, the models or the password hashers; its one GetItem (is the
session live?) goes through a plain botocore client, loaded on the first
check and built once per container; the API function hashes
passwords only on signup, login and password changes, so it loads passlib and
argon2 only then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import coldstart, coldstart_child
from bench.coldstart import Target
from chalicelib import security

PROJECT_DIR = Path(__file__).resolve().parent.parent
NOT_FOR_THE_AUTHORIZER = ("pynamodb", "pydantic", "passlib", "argon2")
NOT_AT_THE_AUTHORIZER_IMPORT = (*NOT_FOR_THE_AUTHORIZER, "botocore")
PASSWORD_HASHERS = ("passlib", "argon2")

LOADED = """
import json, sys
def loaded(*packages):
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in sys.modules))
"""


def run_python(code: str) -> Any:
    """Run ``code`` in a new interpreter in the project; what it printed, as JSON.

    It inherits the offline environment ``conftest`` set (dummy credentials,
    the ``test`` stage), without a Sentry DSN.
    """
    finished = subprocess.run(
        [sys.executable, "-c", LOADED + code],
        cwd=PROJECT_DIR,
        env={name: value for name, value in os.environ.items() if name != "SENTRY_DSN"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_importing_the_authorizer_loads_no_storage_models_or_hashers() -> None:
    code = f"import chalicelib.auth\nprint(json.dumps(loaded(*{NOT_AT_THE_AUTHORIZER_IMPORT!r})))"
    assert run_python(code) == []


def test_checking_a_token_loads_no_storage_models_or_hashers_and_builds_one_client() -> None:
    """Two checks: botocore answers one GetItem each (stubbed), from one client."""
    code = f"""
import time
from botocore.stub import Stubber
from chalicelib.security import issue_access_token
from chalicelib.auth import jwt_authorizer
from chalicelib.storage import session_check
token, _ = issue_access_token(42, 7)
event = {{"type": "TOKEN", "authorizationToken": "Bearer " + token, "methodArn": "arn"}}
live = {{"Item": {{"sessions": {{"M": {{"7": {{"BOOL": True}}}}}}}}}}
with Stubber(session_check.client()) as stub:
    stub.add_response("get_item", live)
    stub.add_response("get_item", live)
    principals = [jwt_authorizer(event, None)["principalId"] for _ in range(2)]
assert principals == ["42", "42"], principals
assert session_check.client.cache_info().misses == 1
print(json.dumps(loaded(*{NOT_FOR_THE_AUTHORIZER!r})))
"""
    assert run_python(code) == []


def test_the_api_loads_the_password_hashers_only_when_a_password_is_hashed() -> None:
    code = f"""
import app
before = loaded(*{PASSWORD_HASHERS!r})
from chalicelib import security
security.hash_password("correct horse battery")
print(json.dumps([before, loaded(*{PASSWORD_HASHERS!r})]))
"""
    assert run_python(code) == [[], sorted(PASSWORD_HASHERS)]


def test_a_fresh_process_can_start_with_a_read_of_the_configured_table() -> None:
    """The models reach the settings' table (and region) on any first call, not only writes."""
    code = """
import os
os.environ.update({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"})
import boto3
from moto import mock_aws
with mock_aws():
    from app import app
    from chalice.test import Client
    from chalicelib.storage.table import table_definition
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    dynamodb.create_table(**table_definition(os.environ["TABLE_NAME"]))
    with Client(app, stage_name="test") as client:
        response = client.http.get("/movies/12345")
print(json.dumps([response.status_code, json.loads(response.body)]))
"""
    assert run_python(code) == [404, {"detail": "Movie not found!"}]


def test_the_first_movie_detail_builds_one_dynamodb_client_for_its_two_queries() -> None:
    """Its Queries run in two threads; a client built in each would cost twice the time."""
    code = """
import os
import boto3
from botocore.session import Session
from moto import mock_aws
built = []
create_client = Session.create_client
def counting(self, service_name, *args, **kwargs):
    built.append(service_name)
    return create_client(self, service_name, *args, **kwargs)
with mock_aws():
    from app import app
    from chalice.test import Client
    from chalicelib.storage.table import table_definition
    boto3.client("dynamodb").create_table(**table_definition(os.environ["TABLE_NAME"]))
    Session.create_client = counting
    with Client(app, stage_name="test") as client:
        response = client.http.get("/movies/12345")
print(json.dumps([response.status_code, built]))
"""
    assert run_python(code) == [404, ["dynamodb"]]


DEPLOYED_TARGETS = [target for target in coldstart.TARGETS if target.deployed]


@pytest.mark.parametrize("target", DEPLOYED_TARGETS, ids=lambda target: target.mode)
def test_the_benchmarks_cold_starts_answer_as_the_functions_would(target: Target) -> None:
    """``make bench`` is not part of the suite, so this keeps each of its cold starts running:
    the child checks every answer (the API's ``GET /movies/{id}`` a 200, the token accepted)."""
    token, _ = security.issue_access_token(
        coldstart_child.BENCH_USER_ID, coldstart_child.BENCH_SESSION_ID
    )
    phases, _ = coldstart.run_child(target, token)
    assert phases["import_ms"] > 0
    assert phases["first_response_ms"] > 0


def test_the_cold_start_child_loads_only_the_standard_library_before_it_measures() -> None:
    """``make bench`` times each function's import from a clean interpreter: what the child
    loads for itself beforehand (its Lambda events included) must not warm that import."""
    code = """
before = set(sys.modules)
import bench.coldstart_child
print(json.dumps(sorted({name.split(".")[0] for name in set(sys.modules) - before})))
"""
    loaded_first = run_python(code)
    assert [name for name in loaded_first if name not in sys.stdlib_module_names] == ["bench"]
