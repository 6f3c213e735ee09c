"""Faults past botocore's retries: unprocessed batch keys, lost answers, the stream's retries.

The app asks again for unprocessed keys, a bounded number of times; a
write whose answer was lost lands once; the stream's event source mapping
retries a failed batch and a redelivery finishes what it left.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.settings import get_settings
from chalicelib.storage import engine
from chalicelib.storage.table import LoginThrottleItem
from devtools.stream_runner import StreamRunner
from tests.helpers.api import PASSWORD, body
from tests.helpers.faults import (
    BOTOCORE_ATTEMPTS,
    TRANSIENT,
    DynamoFaults,
    assert_unavailable,
)
from tests.helpers.movies import add_children, remaining
from tests.helpers.worlds import World, rate

# ---------------------------------------------------------------- batches, lost answers, the stream


def unprocessed_keys(keys: list[dict[str, Any]]) -> Callable[[], tuple[int, str]]:
    """A BatchGetItem answer that read nothing and hands every key back."""

    def answer() -> tuple[int, str]:
        table = get_settings().table_name
        unread = {"Responses": {table: []}, "UnprocessedKeys": {table: {"Keys": keys}}}
        return 200, json.dumps(unread)

    return answer


LOGIN_KEYS = [
    {"pk": {"S": "USERNAME#bob"}, "sk": {"S": "USERNAME"}},
    {"pk": {"S": "LOGIN#bob"}, "sk": {"S": "CLIENT#127.0.0.1"}},
]


def test_a_login_whose_keys_stay_unprocessed_is_a_bounded_503(
    world: World, faults: DynamoFaults
) -> None:
    """A throttled batch comes back as unprocessed keys: asking again at once, forever, spins."""
    faults.fail("BatchGetItem", unprocessed_keys(LOGIN_KEYS))
    response = world.api.post("/login", {"username": "bob", "password": PASSWORD})
    assert_unavailable(response)
    assert faults.attempts["BatchGetItem"] == engine.MAX_ATTEMPTS
    assert len(faults.app_backoffs) == engine.MAX_ATTEMPTS - 1


def test_a_login_whose_keys_come_back_unprocessed_once_still_succeeds(
    world: World, faults: DynamoFaults
) -> None:
    faults.fail("BatchGetItem", unprocessed_keys(LOGIN_KEYS), times=1)
    response = world.api.post("/login", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 200, response.body
    assert faults.attempts["BatchGetItem"] == 2


def test_a_failed_login_whose_answer_was_lost_is_counted_once(
    world: World, faults: DynamoFaults
) -> None:
    faults.fail("UpdateItem", TRANSIENT["read-timeout"], times=1, lands=True)
    response = world.api.post("/login", {"username": "bob", "password": "not the password"})
    assert response.status_code == 401
    throttle = LoginThrottleItem.get(*LoginThrottleItem.key("bob", "127.0.0.1"))
    assert throttle.failures == 1


def test_the_stream_cleanup_survives_throttling_and_a_redelivery_finishes_it(
    world: World, faults: DynamoFaults, stream: StreamRunner
) -> None:
    """A batch whose movie failed is reported back, retried, and given up; redelivery finishes."""
    stream.drain()  # the world's own records: the batch below holds only the removal
    add_children(world.movie, range(1, 31))
    assert world.api.delete(f"/movies/{world.movie}", token=world.alice.token).status_code == 204
    faults.fail("BatchWriteItem", TRANSIENT["throttling"], times=BOTOCORE_ATTEMPTS - 1)
    stream.drain()
    assert remaining(world.movie) == []
    [batch] = stream.delivered[1:]
    faults.clear()
    add_children(world.movie, range(1, 31))
    faults.fail("BatchWriteItem", TRANSIENT["throttling"])
    answer = stream.redeliver(batch)
    [removal] = batch
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": removal["dynamodb"]["SequenceNumber"]}]
    }
    assert len(remaining(world.movie)) == 60
    faults.clear()
    assert stream.redeliver(batch) == {"batchItemFailures": []}
    assert remaining(world.movie) == []


def test_a_recount_that_stays_throttled_is_retried_by_the_mapping_until_it_lands(
    world: World, faults: DynamoFaults, stream: StreamRunner
) -> None:
    """The list's copy is written by the stream; a failed write is retried, never lost."""
    stream.drain()
    earlier = len(stream.delivered)
    assert rate(world, 9).status_code == 200
    faults.fail("UpdateItem", TRANSIENT["throttling"], times=2 * BOTOCORE_ATTEMPTS)
    stream.drain()
    rating_batch, *retries, recounted = stream.delivered[earlier:]
    assert retries == [rating_batch, rating_batch]  # two failed deliveries, then the one that took
    assert [record["eventName"] for record in recounted] == ["MODIFY"]  # the recount's own write
    assert stream.given_up == []
    [listed] = body(world.api.get("/movies"))["data"]
    assert (listed["average_rating"], listed["rating_count"]) == (8.0, 2)


def test_a_movie_created_when_the_answer_was_lost_is_created_once(
    world: World, faults: DynamoFaults
) -> None:
    faults.fail("TransactWriteItems", TRANSIENT["read-timeout"], times=1, lands=True)
    response = world.api.post("/movies", {"title": "Waldorf Salad"}, token=world.alice.token)
    assert response.status_code == 201, response.body
    mine = body(world.api.get("/movies/user", token=world.alice.token))["data"]
    assert [movie["title"] for movie in mine] == ["Waldorf Salad", "Faulty Towers"]
    assert mine[0]["id"] == body(response)["id"]
