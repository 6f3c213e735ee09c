"""The offline DynamoDB engine: moto's server, and the table inside it."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import boto3
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


def _one_request_at_a_time(app: WSGIApp) -> WSGIApp:
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            return list(app(environ, start_response))

    return serialised


def start_moto_server(host: str = "127.0.0.1", port: int = 0) -> tuple[EmbeddedDynamoDB, str]:
    """Start the embedded engine; return it and its endpoint URL (stop with ``.stop()``).

    ``port=0`` lets the OS pick a free port.
    """
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
