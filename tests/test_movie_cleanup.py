"""Deleting a movie removes its comments and ratings, via the table's stream.

The cleanup is bounded per invocation: a step deletes at most
``CLEANUP_ITEMS_PER_STEP`` items of the collection (and their comments'
refs) and hands the rest on through a marker item's stream record.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.storage.changes import CLEANUP_ITEMS_PER_STEP, MARKERS_READ
from chalicelib.storage.engine import BATCH_WRITE_ITEMS
from chalicelib.storage.table import (
    CommentRefItem,
    MovieCleanupItem,
    MovieItem,
    TableItem,
)
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.faults import TRANSIENT, install
from tests.helpers.movies import add_children, remaining

# Bigger than two steps: comments (with refs) first in the collection, then ratings.
BIG = range(1, CLEANUP_ITEMS_PER_STEP + CLEANUP_ITEMS_PER_STEP // 10 + 1)
STEP_DELETES = 2 * CLEANUP_ITEMS_PER_STEP  # a step's items and, for comments, their refs


def test_deleting_a_movie_leaves_no_orphans_once_the_stream_runs(
    api: Api, alice: User, dynamodb_calls: CallCounter, stream: StreamRunner
) -> None:
    movie = body(api.post("/movies", {"title": "Doomed"}, token=alice.token))
    keeper = body(api.post("/movies", {"title": "Keeper"}, token=alice.token))
    add_children(movie["id"], range(1, 31))
    add_children(keeper["id"], range(100, 102))

    dynamodb_calls.reset()
    assert api.delete(f"/movies/{movie['id']}", token=alice.token).status_code == 204
    # One transaction (the movie and its counter shards), whatever the movie had.
    assert dynamodb_calls.calls == Counter({"TransactWriteItems": 1})

    assert api.get(f"/movies/{movie['id']}").status_code == 404
    assert len(remaining(movie["id"])) == 60  # until the stream runs: unseen, but there
    stream.drain()

    assert remaining(movie["id"]) == []
    refs = [CommentRefItem.key(n) for n in [*range(1, 31), 100, 101]]
    assert [ref for ref in refs if TableItem.count(ref[0])] == refs[-2:]  # the keeper's
    # The other movie is untouched: itself, its shards, 2 comments, 2 ratings, and the list
    # entries of its title's prefixes ("k" ... "keeper").
    assert len(remaining(keeper["id"])) == 1 + 32 + 2 + 2 + 6


def test_the_cleanup_gets_only_the_records_it_acts_on_and_one_batch_is_enough(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    movie = body(api.post("/movies", {"title": "Stays"}, token=alice.token))
    add_children(movie["id"], range(1, 4))
    api.patch(f"/movies/{movie['id']}", {"title": "Still here"}, token=alice.token)
    assert stream.drain() == 1  # the movie's insert and update (its lists); no child's insert
    entries = len("still") + len("here")  # one per prefix of each title word
    assert len(remaining(movie["id"])) == 1 + 32 + 3 + 3 + entries
    api.delete(f"/movies/{movie['id']}", token=alice.token)
    assert stream.drain() == 1
    listed, removed = stream.delivered
    assert [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in listed] == [
        ("INSERT", MovieItem.SK),
        ("MODIFY", MovieItem.SK),
    ]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in removed] == [
        ("REMOVE", MovieItem.SK)
    ]
    assert remaining(movie["id"]) == []


def test_a_redelivered_removal_finds_nothing_more_to_delete(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    movie = body(api.post("/movies", {"title": "Twice"}, token=alice.token))
    add_children(movie["id"], range(1, 6))
    api.delete(f"/movies/{movie['id']}", token=alice.token)
    stream.drain()
    [batch] = stream.delivered
    assert stream.redeliver(batch) == {"batchItemFailures": []}
    assert remaining(movie["id"]) == []


def refs_left(ids: range) -> list[tuple[str, str]]:
    return [ref for n in ids if TableItem.count((ref := CommentRefItem.key(n))[0])]


def markers(movie_id: int) -> list[str]:
    found = TableItem.query(
        MovieItem.partition(movie_id), TableItem.sk.startswith(MovieCleanupItem.PREFIX)
    )
    return [item.sk for item in found]


def counted_invocations(
    stream: StreamRunner, api: Api, calls: CallCounter
) -> list[tuple[Counter[str], int]]:
    """Make ``stream`` count each invocation's DynamoDB calls and items read, apart."""
    seen: list[tuple[Counter[str], int]] = []

    def handler(event: dict[str, Any]) -> Any:
        calls.reset()
        answer = api.client.lambda_.invoke("table_stream", event).payload
        seen.append((Counter(calls.calls), calls.items_read))
        return answer

    stream.handler = handler
    return seen


def deleted_movie_with(api: Api, owner: User, ids: range) -> int:
    movie_id = int(body(api.post("/movies", {"title": "Epic"}, token=owner.token))["id"])
    add_children(movie_id, ids)
    assert api.delete(f"/movies/{movie_id}", token=owner.token).status_code == 204
    return movie_id


def test_a_big_movie_is_cleaned_up_over_several_invocations_each_bounded(
    api: Api, alice: User, dynamodb_calls: CallCounter, stream: StreamRunner
) -> None:
    movie_id = deleted_movie_with(api, alice, BIG)
    invocations = counted_invocations(stream, api, dynamodb_calls)

    stream.drain()

    assert remaining(movie_id) == []
    assert refs_left(BIG) == []
    # 2 x 550 items in the collection, 500 a step: 500 (the comments), 500, 100.
    assert len(invocations) == 3
    for calls, items_read in invocations:
        assert calls["Query"] == 1
        assert items_read <= CLEANUP_ITEMS_PER_STEP + 1 + MARKERS_READ  # items, markers
        assert calls["BatchWriteItem"] <= STEP_DELETES // BATCH_WRITE_ITEMS
        moves = calls["PutItem"] + calls["TransactWriteItems"] + calls["DeleteItem"]
        assert moves == 1  # the marker: put, moved on, removed
        assert sum(calls.values()) == 2 + calls["BatchWriteItem"]
    # Comments go first (with their refs), so the first step deletes twice its items.
    assert [calls["BatchWriteItem"] for calls, _ in invocations] == [40, 22, 4]
    first, second, last = (calls for calls, _ in invocations)
    assert (first["PutItem"], second["TransactWriteItems"], last["DeleteItem"]) == (1, 1, 1)
    steps = [[r["dynamodb"]["Keys"]["sk"]["S"] for r in batch] for batch in stream.delivered]
    # The first batch: the movie's INSERT (its lists: never made, the removal wins) and REMOVE.
    assert steps == [[MovieItem.SK] * 2, ["CLEANUP#0000000001"], ["CLEANUP#0000000002"]]


def test_redelivering_any_record_of_a_cleanup_is_harmless(
    api: Api, alice: User, dynamodb_calls: CallCounter, stream: StreamRunner
) -> None:
    movie_id = deleted_movie_with(api, alice, BIG)
    invocations = counted_invocations(stream, api, dynamodb_calls)
    next_batch(stream)
    removal = stream.delivered[-1]
    assert markers(movie_id) == ["CLEANUP#0000000001"]
    left = len(remaining(movie_id))

    # The movie's removal again, mid-way: its step is done; nothing deleted, nothing written.
    assert stream.redeliver(removal) == {"batchItemFailures": []}
    assert invocations[-1][0] == Counter({"Query": 1})  # it found the marker and stopped
    assert len(remaining(movie_id)) == left

    next_batch(stream)  # step 1
    first_step = stream.delivered[-1]
    for batch in (first_step, removal, first_step):  # duplicates, out of order
        stream.redeliver(batch)
        assert set(invocations[-1][0]) == {"Query"}
    assert markers(movie_id) == ["CLEANUP#0000000002"]

    stream.drain()
    assert remaining(movie_id) == []
    assert refs_left(BIG) == []
    for batch in list(reversed(stream.delivered)):  # every record again, once it is all done
        assert stream.redeliver(batch) == {"batchItemFailures": []}
        assert invocations[-1][0] == Counter({"Query": 1})
    assert remaining(movie_id) == []  # no marker came back


def test_a_second_chain_started_by_a_concurrent_first_step_does_not_stall_the_cleanup(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    """Two deliveries of the removal at once: the slower one's marker lands late, stale."""
    movie_id = deleted_movie_with(api, alice, BIG)
    next_batch(stream)  # step 0: CLEANUP#1
    next_batch(stream)  # step 1: CLEANUP#1 replaced by CLEANUP#2
    MovieCleanupItem.new(movie_id, 1, CLEANUP_ITEMS_PER_STEP).save()  # the slower step 0's
    assert markers(movie_id) == ["CLEANUP#0000000001", "CLEANUP#0000000002"]

    stream.drain()

    assert remaining(movie_id) == []
    assert refs_left(BIG) == []


def next_batch(stream: StreamRunner) -> None:
    """Deliver the stream's next batch (of its one shard)."""
    stream.poll()
    [shard] = [shard for shard, waiting in stream.pending.items() if waiting]
    stream.deliver(shard)


def test_a_step_that_fails_half_way_is_retried_and_the_cleanup_completes(
    api: Api, alice: User, stream: StreamRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    movie_id = deleted_movie_with(api, alice, BIG)
    faults = install(monkeypatch)
    # Step 1's deletes land, then moving the marker on fails every botocore attempt.
    faults.fail("TransactWriteItems", TRANSIENT["internal-error"], times=4)

    stream.drain()

    # Lambda retried step 1, which then found only the last 100 items: it removed the marker.
    assert faults.attempts["TransactWriteItems"] == 4
    assert faults.attempts["DeleteItem"] == 1
    removal, failed, retried = stream.delivered
    assert [r["eventName"] for r in removal] == ["INSERT", "REMOVE"]
    assert failed == retried
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in retried] == ["CLEANUP#0000000001"]
    assert stream.given_up == []
    assert remaining(movie_id) == []
    assert refs_left(BIG) == []


def test_under_the_local_runner_in_the_background_a_big_cleanup_completes(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    """What ``make run`` does: the runner polls in its own thread, with the local window."""
    movie_id = deleted_movie_with(api, alice, BIG)
    thread, stop = stream.start()
    try:
        wait_for(lambda: not remaining(movie_id), seconds=60)
    finally:
        stop.set()
        thread.join()
    assert refs_left(BIG) == []
    assert stream.given_up == []


def wait_for(done: Callable[[], bool], *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the cleanup did not complete"
        time.sleep(0.2)
