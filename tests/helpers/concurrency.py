"""Requests sent from several threads at once (the races' harness).

Use with the ``concurrent_requests`` fixture (``tests/conftest.py``), which
puts ``os.environ`` back afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def all_at_once(requests: list[Callable[[], Any]]) -> list[Any]:
    """Run ``requests`` in as many threads, released together by a barrier."""
    barrier = threading.Barrier(len(requests))

    def run(request: Callable[[], Any]) -> Any:
        barrier.wait()
        return request()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(run, requests))
