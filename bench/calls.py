"""Which DynamoDB calls a request makes, and how many round trips it waits for.

A botocore ``before-call`` hook on the app's client records each call's
operation and who made it. Calls made by the request's own thread are
sequential: each is a round trip. Calls made by tasks the request hands to
a pool and waits for (like the movie detail's two Queries) between two
calls of the request's thread were sent at once: together they are one
round trip, or more if one task made several calls in turn. A task is told
apart by the pool's ``submit`` (``watch``), not by the thread that ran it:
a pool thread may run two tasks one after the other, and that is how the
threads happened to be scheduled, not what the request waited for. Nothing
is timed.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

_running = threading.local()  # .task: the id of the watched task this thread runs


class CallLog:
    """Counts the calls made through one botocore event system, by operation."""

    EVENT = "before-call.dynamodb"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.operations: Counter[str] = Counter()
        self.round_trips = 0
        self._request_thread = threading.get_ident()
        self._fan_out: Counter[int] = Counter()
        self._task_ids = itertools.count(1)

    def attach(self, events: Any) -> None:
        events.register(self.EVENT, self._before_call)

    def detach(self, events: Any) -> None:
        events.unregister(self.EVENT, self._before_call)

    def reset(self) -> None:
        """Start counting afresh; the calling thread is the request's thread."""
        with self._lock:
            self.operations.clear()
            self.round_trips = 0
            self._request_thread = threading.get_ident()
            self._fan_out.clear()

    @property
    def calls(self) -> dict[str, int]:
        return dict(self.operations)

    @contextmanager
    def watch(self, pool: Executor) -> Iterator[None]:
        """Tell each task submitted to ``pool`` apart while the block runs."""
        submit = pool.submit

        def tagged(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            task = next(self._task_ids)

            def run() -> Any:
                _running.task = task
                try:
                    return fn(*args, **kwargs)
                finally:
                    _running.task = None

            return submit(run)

        pool.submit = tagged  # type: ignore[method-assign]
        try:
            yield
        finally:
            del pool.submit

    def record(self, operation: str) -> None:
        """One call of ``operation``, made by the calling thread (or the task it runs)."""
        thread = threading.get_ident()
        with self._lock:
            self.operations[operation] += 1
            if thread == self._request_thread:
                self._fan_out.clear()
                self.round_trips += 1
                return
            maker = getattr(_running, "task", None) or -thread
            deepest = max(self._fan_out.values(), default=0)
            self._fan_out[maker] += 1
            if self._fan_out[maker] > deepest:
                self.round_trips += 1

    def _before_call(self, model: Any, **_: Any) -> None:
        self.record(model.name)
