"""Batch deletes that DynamoDB throttles: resent after a backoff, then reported as failed.

DynamoDB answers a BatchWriteItem it could not finish with ``UnprocessedItems``
(HTTP 200), which botocore does not retry. ``engine.batch_delete`` sends them
again after a backoff of its own, a bounded number of times; past that the
stream consumer (the one caller: a deleted movie's children) reports its
record as failed, so it is delivered again.
"""

from __future__ import annotations

import pytest

from chalicelib.storage import engine
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, User, body
from tests.helpers.faults import install, unprocessed_writes
from tests.helpers.snapshots import table_items


def test_a_deleted_movies_children_go_even_when_the_first_batches_come_back_unprocessed(
    api: Api, alice: User, bob: User, stream: StreamRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    movie_id = body(api.post("/movies", {"title": "Metropolis"}, token=alice.token))["id"]
    comment = {"comment_text": "Fritz Lang at his most ambitious."}
    assert api.post(f"/movies/{movie_id}/comments", comment, token=bob.token).status_code == 200
    rating = {"rating": 9}
    assert api.post(f"/movies/{movie_id}/ratings", rating, token=bob.token).status_code == 200
    stream.drain()
    assert api.delete(f"/movies/{movie_id}", token=alice.token).status_code == 204
    faults = install(monkeypatch)
    faults.answer_to("BatchWriteItem", unprocessed_writes, times=engine.MAX_ATTEMPTS + 1)

    stream.drain()

    left = [(pk, sk) for pk, sk in table_items() if pk == f"MOVIE#{movie_id}" or sk == "REF"]
    assert left == []
    assert faults.attempts["BatchWriteItem"] > engine.MAX_ATTEMPTS
