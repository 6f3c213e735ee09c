"""Fixtures: dummy AWS credentials, moto with the real table, the app's client,
users logged in through the real ``/login``, the stream, and a DynamoDB call counter.

What the fixtures build with (and what tests import) is in ``tests/helpers``;
the few fixtures that only one topic's modules use live there too, beside
that topic's helpers, registered below in ``pytest_plugins``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "STAGE": "test",
        "TABLE_NAME": "movies-test",
    }
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

from chalice.test import Client

from app import app
from chalicelib import security
from chalicelib.settings import get_settings
from chalicelib.storage import engine
from devtools.dynamodb import copy_each_table_once_per_transaction
from devtools.gateway import ContractClient
from devtools.stream_runner import StreamRunner, table_stream_arn
from tests.helpers.api import PASSWORD, Api, CallCounter, User, body, user_payload
from tests.helpers.table import (
    STREAMS_ENDPOINT,
    create_table,
    dynamodb_client,
    make_requests_atomic,
)

copy_each_table_once_per_transaction()  # moto copied a table per transaction action

# The fixtures one topic's test modules share, kept beside that topic's helpers.
pytest_plugins = [
    "tests.helpers.faults",
    "tests.helpers.migration",
    "tests.helpers.ratings",
    "tests.helpers.template",
    "tests.helpers.worlds",
]


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    """A fresh in-process DynamoDB with the table created from the models."""
    get_settings.cache_clear()
    security.signing_key.cache_clear()
    with mock_aws():
        engine.reset()
        create_table()
        make_requests_atomic()
        yield
        engine.reset()


@pytest.fixture
def api() -> Iterator[Api]:
    with ContractClient(app, stage_name="test") as client:
        yield Api(client)


@pytest.fixture
def plain_api() -> Iterator[Api]:
    """``chalice.test.Client`` itself, without the local gateway responses."""
    with Client(app, stage_name="test") as client:
        yield Api(client)


@pytest.fixture
def stream(api: Api) -> StreamRunner:
    """The table's stream into the app's stream handler, as Lambda's event source mapping.

    Nothing runs in the background: ``stream.drain()`` delivers every
    record there is now, in batches, with the mapping's filter and retries,
    and ``stream.redeliver(batch)`` hands a batch over again.
    """
    streams = boto3.client("dynamodbstreams", endpoint_url=STREAMS_ENDPOINT)
    arn = table_stream_arn(dynamodb_client(), get_settings().table_name)

    def handler(event: dict[str, Any]) -> Any:
        return api.client.lambda_.invoke("table_stream", event).payload

    return StreamRunner(streams, arn, handler)


@pytest.fixture
def make_user(api: Api) -> Callable[[str], User]:
    """Sign up and log in through the real endpoints."""

    def make(name: str) -> User:
        created = api.post("/signup", user_payload(name))
        assert created.status_code == 200, created.body
        login = api.post("/login", {"username": name, "password": PASSWORD})
        assert login.status_code == 200, login.body
        return User(body(created)["id"], name, body(login)["access_token"], body(created))

    return make


@pytest.fixture
def alice(make_user: Callable[[str], User]) -> User:
    return make_user("alice")


@pytest.fixture
def bob(make_user: Callable[[str], User]) -> User:
    return make_user("bob")


@pytest.fixture
def dynamodb_calls() -> Iterator[CallCounter]:
    counter = CallCounter()
    events = engine.connection().client.meta.events
    events.register("before-call.dynamodb", counter)
    events.register("after-call.dynamodb", counter.answered)
    yield counter
    events.unregister("after-call.dynamodb", counter.answered)
    events.unregister("before-call.dynamodb", counter)


@pytest.fixture
def concurrent_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Puts back ``os.environ`` after requests from several threads at once.

    Chalice's test client swaps ``os.environ`` for a copy around each
    request; interleaved swaps can leave a copy in place. (The client already
    gives each thread its own ``current_request``, and ``tests/helpers/table``
    makes each DynamoDB call atomic in moto.)
    """
    monkeypatch.setattr(os, "environ", os.environ)
