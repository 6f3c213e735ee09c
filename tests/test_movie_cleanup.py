"""Deleting a movie removes its comments and ratings, via the table's stream."""

from __future__ import annotations

from collections import Counter

from chalicelib.storage.table import (
    CommentRefItem,
    MovieItem,
    TableItem,
)
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.movies import add_children, remaining


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
    assert len(remaining(keeper["id"])) == 1 + 32 + 2 + 2  # the other movie is untouched


def test_the_cleanup_gets_only_the_records_it_acts_on_and_one_batch_is_enough(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    movie = body(api.post("/movies", {"title": "Stays"}, token=alice.token))
    add_children(movie["id"], range(1, 4))
    api.patch(f"/movies/{movie['id']}", {"title": "Still here"}, token=alice.token)
    assert stream.drain() == 0  # inserts and a movie's update: filtered out
    assert len(remaining(movie["id"])) == 1 + 32 + 3 + 3
    api.delete(f"/movies/{movie['id']}", token=alice.token)
    assert stream.drain() == 1
    [batch] = stream.delivered
    assert [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in batch] == [
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
