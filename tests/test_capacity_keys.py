"""No key takes more write units than issue 12's goals allow: counted, not timed.

The rating changes (first rating, re-rate, delete) are sent through the
API and every DynamoDB call they make is recorded and charged to the items,
partitions and index key values it writes (``bench.capacity``), then scaled
by the goals (``bench.model``): one movie at 10,000 changes a second, and
100,000 a second over 10,000 active movies, where no key that different
movies share may take over 1,000 WCU/s. The stream consumer's batches are
charged too, as the deployed event source mapping would deliver them. What
a "shared key" is comes from the recording itself: a key that different
users wrote while rating different movies. A key that one user's changes
alone write, for every movie they rate (their list of ratings, GSI2's
``RATER#<user>``), is that user's: it takes their own rate
(``Workload.user_changes_per_second``), not the movies'. Each test also
checks that the recording holds what the design spreads the load over
(every counter shard of the movie took writes, the consumer's batches wrote
GSI1 under each movie's own shard, one regular rater's key was written for
every movie), so a recording that missed them cannot pass for the wrong
reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import app
from bench.capacity import INDEX_KEY, ITEM, Item, Recorder, TableShape
from bench.model import (
    SHARED_KEY,
    USER_KEY,
    WCU_PER_SECOND,
    KeyLoad,
    Part,
    Sample,
    key_loads,
    shared_keys,
)
from bench.scale import CONSUMER, Rig, Workload, change_parts, consumer_part, rating_changes
from bench.scale import new_movie as new_owned_movie
from bench.scenarios import World
from bench.streams import StreamTap, stream_mapping
from chalicelib.settings import get_settings
from chalicelib.storage import engine
from chalicelib.storage.table import (
    COUNTER_SHARDS,
    ByAllMovies,
    ByOwner,
    CounterShardItem,
    ListEntryItem,
    MovieItem,
    RatingItem,
    table_definition,
)
from tests.helpers.api import Api
from tests.helpers.table import dynamodb_client

GOALS = Workload()
HOT_RATERS = 64  # enough that every shard of a sharded key shows up (uniform spread)
MOVIES = 4
RATERS_PER_MOVIE = 2


@pytest.fixture
def rig(api: Api) -> Iterator[Rig]:
    settings = get_settings()
    definition = table_definition(settings.table_name)
    dynamodb = dynamodb_client()

    def fetch(key: Item) -> Item | None:
        found = dynamodb.get_item(TableName=settings.table_name, Key=key, ConsistentRead=True)
        item: Item | None = found.get("Item")
        return item

    recorder = Recorder(TableShape.from_definition(definition), fetch)
    tap = StreamTap(settings.table_name, settings.region)
    yield Rig(
        World(api.client),
        recorder,
        engine.connection().client.meta.events,
        tap,
        stream_mapping(app),
    )


def too_busy(loads: list[KeyLoad]) -> dict[str, float]:
    user_rate = GOALS.user_changes_per_second
    return {
        f"{load.level} {load.shape}": round(load.wcu(user_rate))
        for load in loads
        if load.wcu(user_rate) > WCU_PER_SECOND
    }


def written(samples: list[Sample], level: str, index: str = "") -> set[str]:
    """The keys at ``level`` (of ``index``) that the samples charged write units to."""
    return {
        charge.key
        for sample in samples
        for charge in sample.charges
        if charge.level == level and charge.index == index and charge.write_units
    }


def consumed(samples: list[Sample]) -> list[Sample]:
    return [sample for sample in samples if sample.kind == CONSUMER]


def batches(rig: Rig, changes_per_second: float) -> float:
    return rig.mapping.batches_per_second(changes_per_second) if rig.mapping else 0.0


def test_one_movie_takes_10000_rating_changes_a_second_with_no_key_over_1000_wcu(
    rig: Rig,
) -> None:
    movie_id, owner_id = new_owned_movie(rig)
    samples = rating_changes(rig, movie_id, owner_id, rig.raters(HOT_RATERS))
    rate = GOALS.one_movie_changes

    loads = key_loads(
        [*change_parts(samples, rate, GOALS), consumer_part(samples, batches(rig, rate))]
    )

    assert too_busy(loads) == {}
    shards = {" / ".join(CounterShardItem.key(movie_id, n)) for n in range(COUNTER_SHARDS)}
    assert shards <= written(samples, ITEM)  # the changes' units spread over every shard
    # The consumer writes the movie's own collection only: its item (the copy) and its list
    # entries (GSI3), whatever their number.
    by_consumer = written(consumed(samples), ITEM)
    assert " / ".join(MovieItem.key(movie_id)) in by_consumer
    assert {key.split(" / ")[0] for key in by_consumer} == {MovieItem.partition(movie_id)}
    assert any(f" / {ListEntryItem.PREFIX}" in key for key in by_consumer)
    changes = [sample for sample in samples if sample.kind != CONSUMER]
    raters = {RatingItem.rater_partition(sample.ids["user"]) for sample in changes}
    assert written(changes, INDEX_KEY, GSI2) == raters  # each change, its rater's list


GSI2 = ByOwner.Meta.index_name


def many_movies(rig: Rig) -> tuple[list[Sample], int]:
    """Changes on a few movies of one owner's, by new raters and one regular: (samples, regular).

    One owner: the owner's own keys count as shared too. The regular rates
    every movie, so the recording holds a key one user wrote for several
    movies (the regular's list of ratings) beside keys different users wrote.
    """
    owner, regular = rig.raters(2)
    samples = []
    for _ in range(MOVIES):
        movie_id, owner_id = new_owned_movie(rig, owner)
        raters = [regular, *rig.raters(RATERS_PER_MOVIE)]
        samples += rating_changes(rig, movie_id, owner_id, raters)
    return samples, regular.id


def movies_of(samples: list[Sample]) -> set[int]:
    return {sample.movie for sample in samples}


def test_a_rating_change_writes_no_key_that_different_movies_share(rig: Rig) -> None:
    everything, regular = many_movies(rig)
    samples = [sample for sample in everything if sample.kind != CONSUMER]

    assert sorted(shared_keys(samples)) == []
    # The regular's list was written for every movie, and is hers: charged at her rate.
    regulars = [sample for sample in samples if sample.ids["user"] == regular]
    assert movies_of(regulars) == movies_of(samples)
    assert written(regulars, INDEX_KEY, GSI2) == {RatingItem.rater_partition(regular)}
    [rater_key] = [
        load
        for load in key_loads([Part(samples, GOALS.app_changes)])
        if load.shape.startswith(GSI2)
    ]
    assert (rater_key.shape, rater_key.whose) == (f"{GSI2} RATER#<user>", USER_KEY)
    assert rater_key.wcu(GOALS.user_changes_per_second) == GOALS.user_changes_per_second


def test_100000_changes_a_second_over_10000_movies_put_no_shared_key_over_1000_wcu(
    rig: Rig,
) -> None:
    samples, _ = many_movies(rig)
    rate = GOALS.app_changes
    consumer_batches = sum(batches(rig, rate * share) for share in GOALS.active_shares())

    loads = key_loads(
        [*change_parts(samples, rate, GOALS), consumer_part(samples, consumer_batches)],
        keep=lambda whose: whose == SHARED_KEY,
    )

    assert too_busy(loads) == {}
    gsi1 = ByAllMovies.Meta.index_name
    lists = {MovieItem.all_movies_partition(movie) for movie in movies_of(samples)}
    assert {sample.movie for sample in consumed(samples)} == movies_of(samples)
    assert written(consumed(samples), INDEX_KEY, gsi1) == lists  # each movie's own GSI1 shard
    assert not written([s for s in samples if s.kind != CONSUMER], INDEX_KEY, gsi1)
