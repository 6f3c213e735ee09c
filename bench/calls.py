"""Which DynamoDB calls a request makes, and how many round trips it waits for.

A botocore ``before-call`` hook on the app's client records each call's
operation and the thread that made it. Calls made by the request's own
thread are sequential: each is a round trip. Calls made by other threads
(a pool the request hands work to and waits for, like the movie detail's
two Queries) between two calls of the request's thread were sent at once:
together they are one round trip, or more if one of those threads made
several calls in turn. Nothing is timed, so the count does not depend on
how the threads happen to be scheduled.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class CallLog:
    """Counts the calls made through one botocore event system, by operation."""

    EVENT = "before-call.dynamodb"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.operations: Counter[str] = Counter()
        self.round_trips = 0
        self._request_thread = threading.get_ident()
        self._fan_out: Counter[int] = Counter()

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

    def record(self, operation: str) -> None:
        """One call of ``operation``, made by the calling thread."""
        thread = threading.get_ident()
        with self._lock:
            self.operations[operation] += 1
            if thread == self._request_thread:
                self._fan_out.clear()
                self.round_trips += 1
                return
            deepest = max(self._fan_out.values(), default=0)
            self._fan_out[thread] += 1
            if self._fan_out[thread] > deepest:
                self.round_trips += 1

    def _before_call(self, model: Any, **_: Any) -> None:
        self.record(model.name)
