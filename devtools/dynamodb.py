"""The offline DynamoDB engine: moto's server, and the table inside it."""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import boto3
import moto.dynamodb.models
from moto.core.model_instances import model_data
from moto.dynamodb.models.table import Table
from moto.server import (  # type: ignore[attr-defined]  # not in moto's __all__
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from chalicelib.storage.table import table_definition, ttl_attribute_name

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class EmbeddedDynamoDB:
    """moto's server in a background thread, applying one request at a time.

    moto's backend is not thread-safe (a transaction copies a table's dict
    while another request writes it), and the dev server is threaded. Real
    DynamoDB applies each request atomically, so this serialises requests
    into moto with a lock; the app's own code still interleaves freely
    between its requests, which is where read-then-write races live.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = _one_request_at_a_time(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmbeddedDynamoDB:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _CopyOncePerTable:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend during a transaction.

    moto keeps a deep copy of a table to roll a failed transaction back, but
    makes one per *action*, not per table: a movie's create (the movie and
    its 32 counter shards) would copy the whole table 33 times. The first
    copy of each table is the state before the transaction all the same, so
    this hands that one out again.
    """

    def __init__(self) -> None:
        self.copies: dict[int, Any] = {}

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table):
            if id(value) not in self.copies:
                self.copies[id(value)] = copy.deepcopy(value)
            return self.copies[id(value)]
        return copy.deepcopy(value, memo)


def copy_each_table_once_per_transaction() -> None:
    """Make moto's ``TransactWriteItems`` copy each table once (see ``_CopyOncePerTable``).

    Idempotent. Requests must be applied one at a time, as the embedded
    engine and the tests do anyway. ``tests/test_stream_runner.py`` pins the
    moto behaviour this relies on.
    """
    backend = moto.dynamodb.models.DynamoDBBackend
    original = backend.transact_write_items
    if getattr(original, "copies_once", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        setattr(moto.dynamodb.models, "copy", _CopyOncePerTable())  # noqa: B010
        try:
            original(self, transact_items)
        finally:
            setattr(moto.dynamodb.models, "copy", copy)  # noqa: B010

    transact_write_items.copies_once = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _one_request_at_a_time(app: WSGIApp) -> WSGIApp:
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            return list(app(environ, start_response))

    return serialised


class _Forgotten(list[Any]):
    """A list that keeps nothing appended to it: moto's instance registry, made to forget."""

    def append(self, instance: Any) -> None:
        pass


def forget_model_instances() -> None:
    """Stop moto keeping every DynamoDB model instance it ever made, for as long as it runs.

    moto's ``BaseModel`` appends each instance to a list on its class (for
    its server's dashboard), which only stopping a mock empties. That is every
    item ever written, and, since a transaction deep-copies its tables to
    roll back with, a whole copy of the table per transaction: under
    ``make run`` or a benchmark, which never reset, memory grew with the
    square of the writes (``make bench`` was killed at 22 GB). Nothing here
    reads the registry. Call it after a mock starts (stopping one installs
    fresh lists); idempotent.
    """
    for service in ("dynamodb", "dynamodbstreams"):
        for model in model_data[service].values():
            model.instances_tracked = _Forgotten()  # type: ignore[attr-defined]


def start_moto_server(host: str = "127.0.0.1", port: int = 0) -> tuple[EmbeddedDynamoDB, str]:
    """Start the embedded engine; return it and its endpoint URL (stop with ``.stop()``).

    ``port=0`` lets the OS pick a free port.
    """
    copy_each_table_once_per_transaction()
    forget_model_instances()
    server = EmbeddedDynamoDB(host, port).start()
    return server, server.endpoint_url


def ensure_table(endpoint_url: str | None, table_name: str, region: str) -> None:
    """Create the table (with TTL enabled) unless it exists; safe to call repeatedly.

    ``endpoint_url=None`` means wherever boto3 points by default (including
    ``AWS_ENDPOINT_URL_DYNAMODB``).
    """
    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
    # ResourceInUse: created earlier, or by a concurrent caller.
    with contextlib.suppress(client.exceptions.ResourceInUseException):
        client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute_name()},
        )
