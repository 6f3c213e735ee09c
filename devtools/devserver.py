"""``make run``: ``chalice local`` with the deployed API's gateway responses.

Usage: ``python -m devtools.devserver [--host H] [--port P] [--stage S]``.

Unless ``AWS_ENDPOINT_URL_DYNAMODB`` points somewhere already, an embedded
moto server is started and the app pointed at it (with dummy credentials, so
nothing can reach real AWS). The stage's table is created if missing. The app
is then loaded and its routes validated as ``chalice local`` does, and served
through ``ContractGateway``. The table's stream feeds the app's stream handler
from a background thread (``devtools.stream_runner``), batched and filtered
as Lambda's event source mapping would, with a one-second window.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType
from typing import Any

import boto3
from chalice.app import Chalice
from chalice.cli.factory import CLIFactory
from chalice.deploy.validate import validate_routes
from chalice.local import LocalDevServer, ThreadedHTTPServer

from devtools.dynamodb import ensure_table, start_moto_server
from devtools.gateway import PROJECT_DIR, ContractRequestHandler, thread_local_requests
from devtools.stream_runner import StreamRunner, table_stream_arn

STREAM_FUNCTION = "table_stream"


class DevHTTPServer(ThreadedHTTPServer):
    """Chalice's threaded server with a listen backlog for bursts of clients.

    ``socketserver`` queues only 5 pending connections; a burst of 16
    clients connecting at once would see connection resets.
    """

    request_queue_size = 128


DEFAULT_TABLE = "movies-local"
DEFAULT_REGION = "us-east-1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.devserver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=os.environ.get("PORT", "8000"))
    parser.add_argument("--stage", default="local")
    return parser.parse_args(argv)


def apply_stage_environment(stage_variables: dict[str, str]) -> None:
    """Put the stage's variables in ``os.environ``; variables already set win.

    ``chalice local`` does ``os.environ.update(...)`` before importing the app,
    so the config would override the shell. Here the shell wins, so that
    ``TABLE_NAME=x make run`` does what it says.
    """
    for name, value in stage_variables.items():
        os.environ.setdefault(name, value)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stream_runner(app: Chalice, endpoint: str, table: str, region: str) -> StreamRunner:
    """The table's stream into the app's stream handler, through the same endpoint."""
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=region)
    handler = app.handler_map[STREAM_FUNCTION]

    def invoke(event: dict[str, Any]) -> Any:
        return handler(event, None)

    return StreamRunner(streams, table_stream_arn(dynamodb, table), invoke)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials in ..."
    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    # A throwaway environ: CLIFactory would otherwise os.environ.update() the
    # stage's variables over the shell's when it imports the app.
    factory = CLIFactory(str(PROJECT_DIR), environ=dict(os.environ))
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    apply_stage_environment(config.environment_variables)

    moto = None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    if not endpoint:
        moto, endpoint = start_moto_server()
        os.environ.update(
            AWS_ENDPOINT_URL_DYNAMODB=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
        )
        os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    try:
        table = os.environ.get("TABLE_NAME") or DEFAULT_TABLE
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        ensure_table(endpoint, table, region or DEFAULT_REGION)

        app = thread_local_requests(config.chalice_app)
        validate_routes(app.routes)
        _, stop_stream = stream_runner(app, endpoint, table, region or DEFAULT_REGION).start()
        server = LocalDevServer(
            app,
            config,
            args.host,
            args.port,
            handler_cls=ContractRequestHandler,
            server_cls=DevHTTPServer,
        )
        host, port = server.server.server_address[:2]
        url = f"http://{host}:{port}"
        engine = "embedded moto" if moto else "AWS_ENDPOINT_URL_DYNAMODB"
        print(f"Movie listing API, stage {args.stage!r}")
        print(f"  API:      {url}")
        print(f"  Docs:     {url}/docs")
        print(f"  ReDoc:    {url}/redoc")
        print(f"  DynamoDB: {endpoint} ({engine}), table {table!r}, its stream polled")
        print("Press Ctrl-C to stop.", flush=True)
        try:
            server.server.serve_forever()
        finally:
            stop_stream.set()
            server.server.server_close()
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        if moto is not None:
            moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
