"""Rating counters at scale: sharded on the request path, copied to the lists by the stream.

A rating change writes its rating and one of the movie's 32 counter shards,
and nothing else: not the movie item, no index, no key another movie uses.
The average and the detail sum the shards (exact at once); list items show
the copy the stream consumer writes, which catches up once the stream has
been delivered, and which no redelivered or late batch can take back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from chalicelib.storage import engine
from chalicelib.storage.table import (
    COUNTER_SHARDS,
    CounterShardItem,
    MovieItem,
    RatingItem,
    spread,
)
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, User, body
from tests.helpers.snapshots import changed_keys, table_items


def new_movie(api: Api, owner: User) -> int:
    response = api.post("/movies", {"title": "Popular"}, token=owner.token)
    assert response.status_code == 201, response.body
    return int(body(response)["id"])


def rate(api: Api, user: User, movie_id: int, value: int) -> None:
    response = api.post(f"/movies/{movie_id}/ratings", {"rating": value}, token=user.token)
    assert response.status_code == 200, response.body


def in_the_list(api: Api, movie_id: int) -> tuple[float | None, int]:
    [movie] = [m for m in body(api.get("/movies?limit=100"))["data"] if m["id"] == movie_id]
    return movie["average_rating"], movie["rating_count"]


def exact(api: Api, movie_id: int) -> tuple[float | None, int]:
    average = body(api.get(f"/movies/{movie_id}/ratings/average"))
    detail = body(api.get(f"/movies/{movie_id}"))
    assert (detail["average_rating"], detail["rating_count"]) == (
        average["average_rating"],
        average["rating_count"],
    )
    return average["average_rating"], average["rating_count"]


def test_a_rating_change_writes_its_rating_and_its_users_shard_and_nothing_else(
    api: Api, alice: User, bob: User
) -> None:
    movie_id = new_movie(api, alice)
    shard = CounterShardItem.key_for(movie_id, bob.id)
    rating = RatingItem.key(movie_id, bob.id)
    for change in (
        lambda: rate(api, bob, movie_id, 4),
        lambda: rate(api, bob, movie_id, 9),
        lambda: api.delete(f"/movies/{movie_id}/ratings", token=bob.token),
    ):
        before = table_items()
        change()
        assert changed_keys(before, table_items()) == {shard, rating}
    assert MovieItem.key(movie_id) not in {shard, rating}


def test_users_spread_evenly_over_the_shards() -> None:
    """The hash, not the ids' structure, picks a shard: 3,200 ids in a row, about 100 each."""
    counts = Counter(spread(user_id, COUNTER_SHARDS) for user_id in range(10**15, 10**15 + 3200))
    assert set(counts) == set(range(COUNTER_SHARDS))
    assert 60 <= min(counts.values()) <= max(counts.values()) <= 140, counts


def test_the_average_and_detail_are_exact_at_once_and_the_list_after_the_stream(
    api: Api, alice: User, make_user: Callable[[str], User], stream: StreamRunner
) -> None:
    movie_id = new_movie(api, alice)
    raters = [make_user(f"fan{n}") for n in range(6)]
    for n, user in enumerate(raters):
        rate(api, user, movie_id, n + 3)
    assert exact(api, movie_id) == (5.5, 6)
    assert in_the_list(api, movie_id) == (None, 0)  # the copy trails until the stream runs
    stream.drain()
    assert in_the_list(api, movie_id) == (5.5, 6)
    mine = body(api.get("/movies/user", token=alice.token))["data"]
    assert (mine[0]["average_rating"], mine[0]["rating_count"]) == (5.5, 6)


def test_one_batch_recounts_a_movie_once_however_many_changes_it_holds(
    api: Api, alice: User, make_user: Callable[[str], User], stream: StreamRunner
) -> None:
    movie_id = new_movie(api, alice)
    for n in range(5):
        rate(api, make_user(f"fan{n}"), movie_id, 10)
    writes: list[Any] = []
    stream.poll()
    [batch] = stream.pending.values()
    assert len(batch) == 6  # the movie's INSERT and five changes of its shards

    def count_updates(model: Any, **_: Any) -> None:
        if model.name == "UpdateItem":
            writes.append(model.name)

    hooks = engine.connection().client.meta.events
    hooks.register("before-call.dynamodb", count_updates)
    try:
        stream.drain()
    finally:
        hooks.unregister("before-call.dynamodb", count_updates)
    assert writes == ["UpdateItem"]  # one copy write for five changes
    assert in_the_list(api, movie_id) == (10.0, 5)


def test_a_redelivered_or_late_batch_never_takes_the_list_back(
    api: Api, alice: User, bob: User, stream: StreamRunner
) -> None:
    movie_id = new_movie(api, alice)
    rate(api, bob, movie_id, 3)
    stream.drain()
    first = stream.delivered[-1]
    rate(api, bob, movie_id, 9)
    rate(api, alice, movie_id, 7)
    stream.drain()
    second = stream.delivered[-1]
    assert in_the_list(api, movie_id) == (8.0, 2)
    for batch in (first, second, first):  # at least once, in any order
        assert stream.redeliver(batch) == {"batchItemFailures": []}
        assert in_the_list(api, movie_id) == (8.0, 2)
    movie = MovieItem.get(*MovieItem.key(movie_id), consistent_read=True)
    assert movie.counted_version == 3  # three changes, whatever was delivered twice


def test_a_batch_after_the_movie_was_deleted_writes_nothing_back(
    api: Api, alice: User, bob: User, stream: StreamRunner
) -> None:
    movie_id = new_movie(api, alice)
    rate(api, bob, movie_id, 6)
    stream.poll()
    assert api.delete(f"/movies/{movie_id}", token=alice.token).status_code == 204
    stream.drain()
    assert stream.given_up == []
    assert MovieItem.count(MovieItem.partition(movie_id)) == 0
    assert api.get(f"/movies/{movie_id}/ratings/average").status_code == 404
