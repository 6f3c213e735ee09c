"""The counters' fixed read: 32 shards, one read unit, whatever the movie holds.

The detail reads its 32 counter shards beside its first ratings, and the
average reads the 32 for one number: more *items* than "twice the items
shown, plus two". The bar is held in read units instead: the shards are
under 4 KB together, so they cost one strongly consistent read unit (the
floor of any consistent read) whatever the movie's ratings, and the items
shown are read at most twice plus two on top. Fewer shards would not read
fewer units; the 32 are what let one movie take 10,000 rating changes a
second (625 WCU/s on each, under an item's 1,000).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from bench.capacity import READ_UNIT_BYTES, item_size, read_units
from chalicelib.storage import engine
from chalicelib.storage.table import COUNTER_SHARDS, CounterShardItem, MovieItem
from tests.helpers.api import Api, User, body
from tests.helpers.snapshots import table_items


class QueryReads:
    """Each Query's items (as DynamoDB JSON) and whether it was consistent."""

    def __init__(self) -> None:
        self.reads: list[tuple[bool, list[dict[str, Any]]]] = []
        self._consistent: list[bool] = []

    def sent(self, params: dict[str, Any], **_: Any) -> None:
        self._consistent.append(bool(params.get("ConsistentRead")))

    def answered(self, parsed: dict[str, Any], **_: Any) -> None:
        self.reads.append((self._consistent.pop(0), parsed.get("Items", [])))


@pytest.fixture
def queries() -> Iterator[QueryReads]:
    recorder = QueryReads()
    events = engine.connection().client.meta.events
    events.register("provide-client-params.dynamodb.Query", recorder.sent)
    events.register("after-call.dynamodb.Query", recorder.answered)
    yield recorder
    events.unregister("provide-client-params.dynamodb.Query", recorder.sent)
    events.unregister("after-call.dynamodb.Query", recorder.answered)


def is_shard(item: dict[str, Any]) -> bool:
    return str(item["sk"]["S"]).startswith(CounterShardItem.PREFIX)


@pytest.fixture
def rated_movie(api: Api, alice: User, make_user: Any) -> int:
    movie_id = int(body(api.post("/movies", {"title": "Counted"}, token=alice.token))["id"])
    for n in range(15):
        rater = make_user(f"counted{n}")
        api.post(f"/movies/{movie_id}/ratings", {"rating": 1 + n % 10}, token=rater.token)
    return movie_id


def test_the_average_reads_the_32_shards_in_one_consistent_read_unit(
    api: Api, rated_movie: int, queries: QueryReads
) -> None:
    assert body(api.get(f"/movies/{rated_movie}/ratings/average"))["rating_count"] == 15
    [(consistent, items)] = queries.reads
    assert consistent
    assert [item["kind"]["S"] for item in items] == ["rating_counter"] * COUNTER_SHARDS
    # Read units are charged on the whole items, whatever the projection returns.
    partition = MovieItem.partition(rated_movie)
    stored = [
        item for (pk, sk), item in table_items().items() if pk == partition and is_shard(item)
    ]
    assert len(stored) == COUNTER_SHARDS
    assert read_units(sum(item_size(item) for item in stored), consistent=True) == 1


def test_the_detail_s_shards_cost_one_read_unit_beside_ratings_read_twice_plus_two(
    api: Api, rated_movie: int, queries: QueryReads
) -> None:
    detail = body(api.get(f"/movies/{rated_movie}"))
    shown = len(detail["ratings"])
    [(_, items)] = [(c, items) for c, items in queries.reads if items and is_shard(items[0])]
    shards = [item for item in items if is_shard(item)]
    ratings = [item for item in items if not is_shard(item)]
    assert len(shards) == COUNTER_SHARDS
    assert len(ratings) <= 2 * shown + 2
    shard_bytes = sum(item_size(item) for item in shards)
    assert shard_bytes <= READ_UNIT_BYTES  # the shards together: within one read unit
    total = read_units(shard_bytes + sum(item_size(item) for item in ratings), consistent=True)
    alone = math.ceil(sum(item_size(item) for item in ratings) / READ_UNIT_BYTES)
    assert total <= alone + 1
