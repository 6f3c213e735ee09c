"""The app's own CPU time per request, with moto's share taken out.

moto runs in-process, in the thread that makes the DynamoDB call, so
``time.process_time`` around a request counts moto's work as well as the
app's. ``MotoClock`` adds up the CPU time each thread spends inside moto
(``time.thread_time`` around moto's request handler) and ``measure``
subtracts it. What remains is the app: routing, validation, PynamoDB,
botocore building, signing and parsing the calls, pydantic, logging.

Two figures per request:

* *request*: around ``client.http.request``, so it includes Chalice's local
  API Gateway emulation (event building, route matching, and the authorizer
  for protected routes);
* *handler*: around ``app(event, context)`` alone, what the API's Lambda
  function itself would spend.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.core.models import botocore_stubber


class MotoClock:
    """CPU seconds spent inside moto since ``start``, summed over threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds = 0.0

    @property
    def seconds(self) -> float:
        with self._lock:
            return self._seconds

    @contextmanager
    def running(self) -> Iterator[MotoClock]:
        """Time moto's request handler while the block runs."""
        original = botocore_stubber.process_request

        def timed(request: Any) -> Any:
            started = time.thread_time()
            try:
                return original(request)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self._seconds += spent

        # An instance attribute shadows the method for moto's own self.process_request().
        vars(botocore_stubber)["process_request"] = timed
        try:
            yield self
        finally:
            del vars(botocore_stubber)["process_request"]


class HandlerClock:
    """Process CPU seconds spent in the app's handler, ``app(event, context)``.

    Stands in for the app object that Chalice's local gateway calls, so
    everything the gateway does around the call is left out.
    """

    def __init__(self, gateway: Any) -> None:
        self._gateway = gateway
        self.seconds = 0.0

    @contextmanager
    def running(self) -> Iterator[HandlerClock]:
        app = self._gateway._app_object
        self._gateway._app_object = _TimedApp(app, self)
        try:
            yield self
        finally:
            self._gateway._app_object = app


class _TimedApp:
    """The app, with the CPU time of each call added to a ``HandlerClock``."""

    def __init__(self, app: Any, clock: HandlerClock) -> None:
        self._app = app
        self._clock = clock

    def __call__(self, event: Any, context: Any) -> Any:
        started = time.process_time()
        try:
            return self._app(event, context)
        finally:
            self._clock.seconds += time.process_time() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


@dataclass(frozen=True)
class Sample:
    """One request's CPU time, in seconds, moto excluded."""

    request: float
    handler: float
    moto: float


def measure(send: Callable[[], Any], moto: MotoClock, handler: HandlerClock) -> Sample:
    moto_before, handler_before = moto.seconds, handler.seconds
    started = time.process_time()
    send()
    request = time.process_time() - started
    in_moto = moto.seconds - moto_before
    in_handler = handler.seconds - handler_before
    return Sample(request - in_moto, in_handler - in_moto, in_moto)


@dataclass(frozen=True)
class Spread:
    """Median and 95th percentile of some samples, in milliseconds."""

    median_ms: float
    p95_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Spread:
        return cls(statistics.median(seconds) * 1000, percentile(seconds, 95) * 1000)


def percentile(values: Sequence[float], rank: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    index = max(0, math.ceil(rank / 100 * len(ordered)) - 1)
    return ordered[index]
