"""Batch deletes that DynamoDB throttles: resent after a backoff, then a 503.

DynamoDB answers a BatchWriteItem it could not finish with ``UnprocessedItems``
(HTTP 200), which botocore does not retry. ``engine.batch_delete`` sends them
again after a backoff of its own, a bounded number of times; past that the
request is a 503 with ``Retry-After``, never a 500, and the stream consumer
reports its record as failed, so it is delivered again.
"""

from __future__ import annotations

import pytest

from chalicelib.storage import engine
from devtools.stream_runner import StreamRunner
from tests.helpers.api import PASSWORD, UNAVAILABLE, Api, User, body
from tests.helpers.faults import install, unprocessed_writes
from tests.helpers.snapshots import table_items


def log_in(api: Api, user: User) -> str:
    response = api.post("/login", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.body
    return str(body(response)["access_token"])


def session_count(user: User) -> int:
    return sum(
        1 for pk, sk in table_items() if pk == f"USER#{user.id}" and sk.startswith("SESSION#")
    )


def test_ending_the_other_sessions_resends_what_dynamodb_left_unprocessed(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(api, alice)
    log_in(api, alice)
    token = log_in(api, alice)
    faults = install(monkeypatch)
    faults.answer_to("BatchWriteItem", unprocessed_writes, times=2)

    response = api.delete("/users/me/sessions", token=token)

    assert response.status_code == 204, response.body
    assert faults.attempts["BatchWriteItem"] == 3
    assert len(faults.app_backoffs) == 2
    assert session_count(alice) == 1
    assert api.get("/users/me", token=token).status_code == 200


def test_a_batch_that_stays_unprocessed_is_a_503_and_a_retry_finishes_it(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(api, alice)
    token = log_in(api, alice)
    faults = install(monkeypatch)
    faults.answer_to("BatchWriteItem", unprocessed_writes)

    refused = api.delete("/users/me/sessions", token=token)

    assert refused.status_code == 503
    assert body(refused) == UNAVAILABLE
    assert refused.headers["Retry-After"]
    assert faults.attempts["BatchWriteItem"] == engine.MAX_ATTEMPTS
    faults.clear()
    assert api.delete("/users/me/sessions", token=token).status_code == 204
    assert session_count(alice) == 1


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
