"""The local event source mapping behaves as Lambda's: filter, batches, window, retries.

The handler here is a recording stand-in, so each rule is seen on its own;
the app's own handler behind it is tested in test_movie_cleanup and
test_rating_counters. Also pinned: the moto behaviour the embedded engine's
faster transactions rely on (a cancelled transaction leaves nothing behind),
and the registry of instances that would otherwise keep a copy of the table
per transaction for as long as the engine runs.
"""

from __future__ import annotations

import gc
from typing import Any

import boto3
import pytest
from moto.dynamodb.models.table import Table

from chalicelib.settings import get_settings
from chalicelib.storage import changes
from chalicelib.storage.table import CounterShardItem, MovieItem
from devtools.dynamodb import forget_model_instances
from devtools.stream_runner import StreamRunner, matches, table_stream_arn
from tests.helpers.api import Api, User, body
from tests.helpers.snapshots import table_items
from tests.helpers.table import STREAMS_ENDPOINT, dynamodb_client


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Handler:
    """Records every batch; answers failures from a script, one answer per call."""

    def __init__(self, *answers: Any) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.answers = list(answers)

    def __call__(self, event: dict[str, Any]) -> Any:
        self.batches.append(event["Records"])
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        if answer == "fail the second":
            return {"batchItemFailures": [{"itemIdentifier": sequence(event["Records"][1])}]}
        return {"batchItemFailures": []}


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def runner(handler: Handler, clock: Clock | None = None, **settings: Any) -> StreamRunner:
    streams = boto3.client("dynamodbstreams", endpoint_url=STREAMS_ENDPOINT)
    arn = table_stream_arn(dynamodb_client(), get_settings().table_name)
    return StreamRunner(streams, arn, handler, clock=clock or Clock(), **settings)


def rate_three(api: Api, owner: User, raters: list[User]) -> int:
    """A new movie rated three times: four records (the movie's INSERT, three shards' MODIFY)."""
    movie = body(api.post("/movies", {"title": "Streamed"}, token=owner.token))["id"]
    for user in raters:
        response = api.post(f"/movies/{movie}/ratings", {"rating": 5}, token=user.token)
        assert response.status_code == 200
    return int(movie)


@pytest.fixture
def raters(make_user: Any) -> list[User]:
    return [make_user(f"rater{n}") for n in range(3)]


def test_the_filter_passes_counter_changes_and_movie_changes_only() -> None:
    movie = {"Keys": {"sk": {"S": "MOVIE"}}}
    acted_on = [
        {"eventName": "MODIFY", "dynamodb": {"Keys": {"sk": {"S": "RATING#C#07"}}}},
        {"eventName": "INSERT", "dynamodb": movie},
        {"eventName": "MODIFY", "dynamodb": movie},
        {"eventName": "REMOVE", "dynamodb": movie},
    ]
    others = [
        {"eventName": "INSERT", "dynamodb": {"Keys": {"sk": {"S": "RATING#C#07"}}}},
        {"eventName": "REMOVE", "dynamodb": {"Keys": {"sk": {"S": "RATING#U#0001"}}}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"sk": {"S": "LIST#TOP"}}}},
        {"eventName": "MODIFY", "dynamodb": {}},
    ]
    passes = [any(matches(p, r) for p in changes.FILTER_PATTERNS) for r in acted_on]
    assert passes == [True] * 4
    assert not any(matches(p, r) for p in changes.FILTER_PATTERNS for r in others)


def test_a_batch_waits_for_the_window_or_for_the_batch_size(
    api: Api, alice: User, raters: list[User]
) -> None:
    clock, handler = Clock(), Handler()
    stream = runner(handler, clock, window_seconds=10, batch_size=100)
    rate_three(api, alice, raters)
    stream.poll()
    assert stream.deliver_due() == 0
    clock.now = 9.9
    assert stream.deliver_due() == 0
    clock.now = 10.0
    assert stream.deliver_due() == 1
    assert [len(batch) for batch in handler.batches] == [4]
    small = runner(Handler(), Clock(), window_seconds=10, batch_size=2)
    small.poll()
    assert small.deliver_due() == 2  # a full batch goes at once, two here; none waits


def test_a_reported_failure_is_retried_from_that_record_and_a_raise_retries_all(
    api: Api, alice: User, raters: list[User]
) -> None:
    rate_three(api, alice, raters)
    handler = Handler("fail the second", RuntimeError("boom"), None)
    stream = runner(handler)
    stream.drain()
    first, second, third = handler.batches
    assert [sequence(r) for r in second] == [sequence(r) for r in first[1:]]
    assert third == second
    assert stream.given_up == []


def test_a_batch_that_keeps_failing_is_given_up_after_the_retries(
    api: Api, alice: User, raters: list[User]
) -> None:
    rate_three(api, alice, raters)
    handler = Handler(*[RuntimeError("down")] * 10)
    stream = runner(handler, max_retries=2)
    stream.drain()
    assert len(handler.batches) == 3
    [given_up] = stream.given_up
    assert len(given_up) == 4
    assert stream.drain() == 0  # at least once, not forever


def test_records_reach_the_handler_as_lambda_shapes_them(
    api: Api, alice: User, raters: list[User]
) -> None:
    movie = rate_three(api, alice, raters)
    handler = Handler()
    runner(handler).drain()
    [batch] = handler.batches
    created, rated = batch[0], batch[1]
    assert f":table/{get_settings().table_name}/stream/" in rated["eventSourceARN"]
    assert isinstance(rated["dynamodb"]["ApproximateCreationDateTime"], float)
    decoded = [
        changes.decode(record["eventName"], record["dynamodb"]["Keys"], sequence(record))
        for record in (created, rated)
    ]
    assert decoded == [
        changes.Change(movie, changes.LISTED, sequence(created)),
        changes.Change(movie, changes.COUNTED, sequence(rated)),
    ]


def test_a_cancelled_transaction_leaves_the_table_as_it_was(api: Api, alice: User) -> None:
    """moto's rollback, which the embedded engine's one-copy-per-table transactions rely on."""
    movie = body(api.post("/movies", {"title": "Kept"}, token=alice.token))["id"]
    before = table_items()
    table = get_settings().table_name
    shard_pk, shard_sk = CounterShardItem.key(movie, 3)
    client = dynamodb_client()
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": shard_pk}, "sk": {"S": shard_sk}},
                        "UpdateExpression": "ADD changes :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": MovieItem.partition(movie)}, "sk": {"S": "MOVIE"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert table_items() == before


def test_records_after_a_cancelled_transaction_are_still_read(
    api: Api, alice: User, bob: User, raters: list[User]
) -> None:
    """moto rolls a cancelled transaction back by swapping in a copy of the table and
    its stream; the runner asks for a new iterator at every poll, so it follows."""
    handler = Handler()
    stream = runner(handler)
    movie = rate_three(api, alice, raters)
    stream.drain()
    refused = api.post("/movies/9999/ratings", {"rating": 5}, token=bob.token)
    assert refused.status_code == 404  # a cancelled transaction
    assert api.post(f"/movies/{movie}/ratings", {"rating": 1}, token=bob.token).status_code == 200
    stream.drain()
    assert [len(batch) for batch in handler.batches] == [4, 1]


def live_tables() -> int:
    gc.collect()
    return sum(1 for thing in gc.get_objects() if isinstance(thing, Table))


@pytest.mark.parametrize("forgotten", [False, True], ids=["moto as it is", "forgotten"])
def test_no_copy_of_the_table_outlives_its_transaction_once_instances_are_forgotten(
    api: Api, alice: User, forgotten: bool
) -> None:
    """moto registers every model instance it makes, the copy of a table each transaction
    takes included; ``make run`` and the benchmarks, which never reset moto, forget them."""
    if forgotten:
        forget_model_instances()
    movie = body(api.post("/movies", {"title": "Talked about"}, token=alice.token))["id"]
    before = live_tables()
    for n in range(5):
        comment = {"comment_text": f"Comment {n}"}
        assert api.post(f"/movies/{movie}/comments", comment, token=alice.token).status_code == 200
    assert live_tables() - before == (0 if forgotten else 5)
