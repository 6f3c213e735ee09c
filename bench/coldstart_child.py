"""One cold start, in a fresh interpreter: ``python -m bench.coldstart_child MODE SPAWNED``.

Started by ``bench.coldstart``; ``SPAWNED`` is the parent's
``time.perf_counter()`` just before it started this process (on Linux that
clock is system-wide, so the two can be compared). Prints one line,
``COLDSTART {json}``, with the phases in milliseconds:

* ``api``: import ``app``, then ``app(event, context)`` with an API Gateway
  proxy event for ``GET /health`` (no DynamoDB), then moto and the table
  (setup, reported but not part of any phase), then ``GET /movies/{id}``:
  the first DynamoDB call, which builds the botocore client. Time spent
  inside moto during that call is reported apart.
* ``authorizer``: import ``chalicelib.auth`` only (the authorizer function's
  handler module) and call ``jwt_authorizer(event, context)`` with a TOKEN
  event for the token in ``BENCH_TOKEN``, twice. The check's one GetItem
  (is the session live?) goes to a stand-in DynamoDB endpoint on localhost
  (``FakeDynamoDB``, standard library only, so nothing it imports is
  counted as the authorizer's): the first call includes importing botocore
  and building its client, the second (``second_response_ms``) is what every
  later request of the container pays.
* ``ssm``: import ``chalicelib.auth``, then build the SSM client a deployed
  stage's authorizer builds on its first call to fetch the JWT key (botocore
  and the client; the network call itself is not made).

``--deployed`` hides what the Lambda package does not carry but the dev
venv does (``UNPACKAGED``), so optional imports fall back as they do on
Lambda. They are released again before moto starts, which needs them.
Nothing but the standard library (and ``bench.lambda_events``, which
imports only the standard library) is imported before the measured import.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402  (after the clock: the start is measured from the first line)
import os  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any  # noqa: E402

from bench.lambda_events import LambdaContext, proxy_event, token_event  # noqa: E402

UNPACKAGED = ("cryptography", "blinker")
"""In the dev venv (moto's and cfn-lint's dependencies), not in deployment.zip."""
MARK_BEGIN = "bench: measured import begins"
MARK_END = "bench: measured import ends"
RESULT = "COLDSTART "


def elapsed_ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def hide_unpackaged() -> None:
    for name in UNPACKAGED:
        sys.modules[name] = None  # type: ignore[assignment]


def release_unpackaged() -> None:
    for name in UNPACKAGED:
        if sys.modules.get(name, "") is None:
            del sys.modules[name]


@contextmanager
def measured_import() -> Iterator[dict[str, float]]:
    """Time the block, and mark it on stderr for ``-X importtime`` parsing."""
    timing: dict[str, float] = {}
    sys.stderr.write(f"{MARK_BEGIN}\n")
    sys.stderr.flush()
    started = time.perf_counter()
    yield timing
    timing["import_ms"] = elapsed_ms(started)
    sys.stderr.write(f"{MARK_END}\n")
    sys.stderr.flush()


def expect_status(response: dict[str, Any], status: int) -> None:
    if response["statusCode"] != status:
        raise SystemExit(f"unexpected response: {response}")


# ---------------------------------------------------------------- the API function


def api(deployed: bool) -> dict[str, float]:
    with measured_import() as timing:
        from app import app
    started = time.perf_counter()
    expect_status(app(proxy_event("GET", "/health"), LambdaContext()), 200)
    timing["first_response_ms"] = elapsed_ms(started)
    if deployed:
        release_unpackaged()
    started = time.perf_counter()
    movie_id, moto_intervals = start_moto_with_a_movie()
    timing["moto_setup_ms"] = elapsed_ms(started)
    event = proxy_event("GET", "/movies/{movie_id}", f"/movies/{movie_id}")
    started = time.perf_counter()
    expect_status(app(event, LambdaContext()), 200)
    timing["first_db_response_ms"] = elapsed_ms(started)
    timing["first_db_inside_moto_ms"] = union_ms(moto_intervals)
    return timing


def start_moto_with_a_movie() -> tuple[int, list[tuple[float, float]]]:
    """Start moto, create the table and one movie; collect moto's busy intervals after that."""
    import datetime

    import boto3
    from moto import mock_aws
    from moto.core.models import botocore_stubber

    from chalicelib.settings import get_settings
    from chalicelib.storage.movies import new_movie_items
    from chalicelib.storage.table import table_definition

    mock_aws().start()
    settings = get_settings()
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    dynamodb.create_table(**table_definition(settings.table_name))
    fields = {"title": "Metropolis", "release_date": datetime.date(1927, 1, 10)}
    movie, shards = new_movie_items(4242, 7, fields)
    for item in (movie, *shards):  # a movie without its counter shards is not found
        dynamodb.put_item(TableName=settings.table_name, Item=item.serialize())
    intervals: list[tuple[float, float]] = []
    # An instance attribute shadows the method for moto's own self.process_request().
    vars(botocore_stubber)["process_request"] = timed(botocore_stubber.process_request, intervals)
    return 4242, intervals


def timed(
    handler: Callable[[Any], Any], intervals: list[tuple[float, float]]
) -> Callable[[Any], Any]:
    def run(request: Any) -> Any:
        started = time.perf_counter()
        try:
            return handler(request)
        finally:
            intervals.append((started, time.perf_counter()))

    return run


def union_ms(intervals: list[tuple[float, float]]) -> float:
    """The wall time covered by (possibly overlapping) intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total * 1000


# ---------------------------------------------------------------- the authorizer function


BENCH_USER_ID = 4242
BENCH_SESSION_ID = 4243


def authorizer() -> dict[str, float]:
    fake = FakeDynamoDB()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = fake.url
    with measured_import() as timing:
        from chalicelib.auth import jwt_authorizer
    for phase in ("first_response_ms", "second_response_ms"):
        started = time.perf_counter()
        policy = jwt_authorizer(token_event(os.environ["BENCH_TOKEN"]), LambdaContext())
        timing[phase] = elapsed_ms(started)
        if policy["principalId"] != str(BENCH_USER_ID):
            raise SystemExit(f"the token was refused: {policy}")
    fake.stop()
    return timing


class FakeDynamoDB:
    """A localhost endpoint that answers every GetItem with a profile listing the session."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        live = {"sessions": {"M": {str(BENCH_SESSION_ID): {"BOOL": True}}}}
        item = json.dumps({"Item": live}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(item)))
                self.end_headers()
                self.wfile.write(item)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def ssm_client() -> dict[str, float]:
    with measured_import() as timing:
        import chalicelib.auth  # noqa: F401
    started = time.perf_counter()
    from botocore.session import get_session

    get_session().create_client("ssm", region_name=os.environ["AWS_REGION"])
    timing["first_response_ms"] = elapsed_ms(started)
    return timing


MODES: dict[str, Callable[[bool], dict[str, float]]] = {
    "api": api,
    "authorizer": lambda deployed: authorizer(),
    "ssm": lambda deployed: ssm_client(),
}


def main(argv: list[str]) -> None:
    mode, spawned = argv[0], float(argv[1])
    deployed = "--deployed" in argv
    main_started = STARTED
    if deployed:
        hide_unpackaged()
    timing = MODES[mode](deployed)
    timing["python_start_ms"] = (main_started - spawned) * 1000
    sys.stdout.write(f"\n{RESULT}{json.dumps(timing)}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
