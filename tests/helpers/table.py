"""The tests' table: their own DynamoDB client, the table from the models, moto made atomic."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import boto3

from chalicelib.settings import get_settings
from chalicelib.storage import engine, session_check
from chalicelib.storage.table import table_definition, ttl_attribute_name

# botocore 1.44 defaults to account-based stream endpoints, which moto in-process does not route.
STREAMS_ENDPOINT = "https://streams.dynamodb.us-east-1.amazonaws.com"


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


@contextmanager
def app_hook(event: str, handler: Callable[..., Any]) -> Iterator[None]:
    """``handler`` on the app's own botocore client for ``event``, while the block runs."""
    events = engine.connection().client.meta.events
    events.register(event, handler)
    try:
        yield
    finally:
        events.unregister(event, handler)
