"""Fixtures: dummy AWS credentials, moto with the real table, the app's client,
users logged in through the real ``/login``, and a DynamoDB call counter."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
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
from chalicelib.storage import engine, session_check
from chalicelib.storage.table import table_definition, ttl_attribute_name
from devtools.dynamodb import copy_each_table_once_per_transaction
from devtools.gateway import ContractClient
from devtools.stream_runner import StreamRunner, table_stream_arn

PASSWORD = "correct horse battery"
copy_each_table_once_per_transaction()  # moto copied a table per transaction action


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


@lru_cache(maxsize=1)
def dynamodb_client() -> Any:
    """The tests' own DynamoDB client, outside the app's (whose calls tests count).

    Built once: building a botocore client takes about 0.1 s, and moto's
    handler on every client serves whichever ``mock_aws`` is running.
    """
    return boto3.client("dynamodb")


def create_table() -> None:
    dynamodb = dynamodb_client()
    dynamodb.create_table(**table_definition(get_settings().table_name))
    dynamodb.update_time_to_live(
        TableName=get_settings().table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute_name()},
    )


def make_requests_atomic() -> None:
    """Apply each DynamoDB request atomically, as DynamoDB does.

    moto's in-process backend is not thread-safe (a transaction copies the
    table's dict while another thread writes it), so concurrent tests would
    fail inside moto. This lock makes every request one atomic step while
    the app's own code still interleaves freely between requests, which is
    where read-then-write races live.
    """
    hold_the_lock(engine.connection().client)
    authorizer_client_holds_the_lock()


REQUEST_LOCK = threading.RLock()


def hold_the_lock(client: Any) -> None:
    def acquire(**_: Any) -> None:
        REQUEST_LOCK.acquire()

    def release(**_: Any) -> None:
        REQUEST_LOCK.release()

    events = client.meta.events
    events.register("before-call.dynamodb", acquire)
    events.register("after-call.dynamodb", release)
    events.register("after-call-error.dynamodb", release)


@lru_cache(maxsize=1)
def authorizer_client_holds_the_lock() -> None:
    """The authorizer's own client (built once per process) takes the same lock."""
    hold_the_lock(session_check.client())


@dataclass
class Api:
    """The app's HTTP client with JSON helpers."""

    client: Client

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        all_headers = {"Content-Type": "application/json"} if body is not None else {}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.client.http.request(method, path, headers=all_headers, body=payload)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


@pytest.fixture
def api() -> Iterator[Api]:
    with ContractClient(app, stage_name="test") as client:
        yield Api(client)


@pytest.fixture
def plain_api() -> Iterator[Api]:
    """``chalice.test.Client`` itself, without the local gateway responses."""
    with Client(app, stage_name="test") as client:
        yield Api(client)


# botocore 1.44 defaults to account-based stream endpoints, which moto in-process does not route.
STREAMS_ENDPOINT = "https://streams.dynamodb.us-east-1.amazonaws.com"


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


def user_payload(name: str, **overrides: Any) -> dict[str, Any]:
    payload = {
        "username": name,
        "first_name": "Test",
        "last_name": "User",
        "phone_number": "+12345678901",
        "email": f"{name}@example.com",
        "password": PASSWORD,
    }
    payload.update(overrides)
    return payload


@dataclass
class User:
    id: int
    username: str
    token: str
    profile: dict[str, Any] = field(default_factory=dict)


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


class CallCounter:
    """Counts DynamoDB API calls by operation, and the items Queries read, from botocore hooks."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def answered(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "Query":
            self.items_read += int(parsed.get("ScannedCount", 0))

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0


@pytest.fixture
def dynamodb_calls() -> Iterator[CallCounter]:
    counter = CallCounter()
    events = engine.connection().client.meta.events
    events.register("before-call.dynamodb", counter)
    events.register("after-call.dynamodb", counter.answered)
    yield counter
    events.unregister("after-call.dynamodb", counter.answered)
    events.unregister("before-call.dynamodb", counter)
