"""The offline DynamoDB engine: moto's server, and the table inside it."""

from __future__ import annotations

import contextlib
import logging

import boto3
from moto.server import ThreadedMotoServer

from chalicelib.storage.table import table_definition, ttl_attribute_name


def start_moto_server(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadedMotoServer, str]:
    """Start moto in a background thread; return it and its endpoint URL.

    ``port=0`` lets the OS pick a free port. Stop the server with ``.stop()``.
    Its per-request access log (werkzeug's) is silenced: one line for every
    DynamoDB call would drown the app's own log.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


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
