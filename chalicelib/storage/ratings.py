"""Ratings: one per user per movie, and exact counters that no rating change shares.

A rating lives at ``(MOVIE#<movie>, RATING#U#<user>)``, so "one per user per
movie" is the key itself. A movie's counters are ``COUNTER_SHARDS`` items
(``CounterShardItem``) beside its ratings. Every change is a consistent
GetItem of the caller's rating followed by one transaction that writes the
rating and adds to *one* shard, the caller's (by a hash of the user id):
two round trips. The movie item is not written, nor any index, so a change
writes two items of its movie's collection and nothing any other movie
shares; 10,000 changes a second on one movie come to about 625 a second on
each shard (2 write units each, in a transaction), under the 1,000 an item
takes.

The counter delta is computed from what the GetItem read, so the
transaction pins that read with a condition on the rating
(``attribute_not_exists`` for a first rating, ``rating = <old>`` otherwise).
If another request changed the rating in between, that condition fails, the
change raises ``RaceLost`` and ``engine.optimistic`` runs it again from the
read. The shard's condition (it exists) is the check that the movie exists:
shards are written in the movie's create transaction and removed in its
delete transaction, so a rating of an unknown or just deleted movie is a
``MovieNotFound``. DynamoDB's own conflicts and throttling are retried
inside ``Transaction.commit``.

The exact counters are the sums over the shards, read in one strongly
consistent Query (``counters``). The copy on the movie item, which list
items show, is the stream consumer's (``chalicelib.storage.changes``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.expressions.update import Action

from chalicelib import errors
from chalicelib.storage.engine import (
    ConditionFailed,
    RaceLost,
    Transaction,
    item_or_none,
    new_id,
    optimistic,
)
from chalicelib.storage.pages import Key, key_of
from chalicelib.storage.table import (
    COUNTER_SHARDS,
    CounterShardItem,
    MovieItem,
    RatingItem,
    TableItem,
    mean_rating,
    utcnow,
)

RATING = "rating"
COUNTER = "counter"
# What summing the shards needs (the same read units, a third of the bytes).
COUNTED_ATTRIBUTES = [
    TableItem.kind.attr_name,
    CounterShardItem.rating_count.attr_name,
    CounterShardItem.rating_sum.attr_name,
    CounterShardItem.changes.attr_name,
]


@dataclass(frozen=True)
class Counters:
    """A movie's rating counters, summed over its shards, and the version they are."""

    rating_count: int
    rating_sum: int
    version: int

    @classmethod
    def of(cls, shards: Iterable[CounterShardItem]) -> Counters:
        count = total = version = 0
        for shard in shards:
            count += shard.rating_count or 0
            total += shard.rating_sum or 0
            version += shard.changes or 0
        return cls(count, total, version)

    def average_rating(self) -> float | None:
        return mean_rating(self.rating_count, self.rating_sum)


@dataclass(frozen=True)
class RatingPage:
    """A page of a movie's ratings.

    ``found`` says whether the Query passed over a counter shard, which
    exists exactly when the movie does (first pages always pass over one);
    ``counters`` are the exact counters when the page was asked to read
    every shard.
    """

    found: bool
    items: list[RatingItem]
    last_key: Key | None
    counters: Counters | None = None


def rate_movie(movie_id: int, user_id: int, value: int) -> RatingItem:
    """Create the caller's rating or replace its value; returns the stored rating.

    A replaced rating keeps its ``id`` and ``created_at``; ``updated_at``
    moves to now.
    """
    return optimistic(lambda: _rate_once(movie_id, user_id, value))


def delete_rating(movie_id: int, user_id: int) -> None:
    """Remove the caller's rating and take it out of the movie's counters."""
    optimistic(lambda: _delete_once(movie_id, user_id))


def counters(movie_id: int) -> Counters | None:
    """The movie's exact counters: one strongly consistent Query of its shards.

    ``None`` when there are none, that is when the movie does not exist.
    """
    results = TableItem.query(
        MovieItem.partition(movie_id),
        TableItem.sk.startswith(CounterShardItem.PREFIX),
        consistent_read=True,
        page_size=COUNTER_SHARDS + 1,
        attributes_to_get=COUNTED_ATTRIBUTES,
    )
    shards = [item for item in results if isinstance(item, CounterShardItem)]
    return Counters.of(shards) if shards else None


def rating_page(
    movie_id: int,
    *,
    limit: int,
    start_key: Key | None,
    skip: int = 0,
    with_counters: bool = False,
) -> RatingPage:
    """A movie's ratings in user-id order, in one strongly consistent Query.

    A first page starts at the last counter shard, which sorts right before
    the ratings, so the same Query says whether the movie exists; with
    ``with_counters`` it starts at the first shard and sums them all (the
    movie detail). A ``start_key`` resumes after the previous page's last
    rating. ``skip`` (for seed clients) reads the ratings it skips and is
    ignored with a ``start_key``.
    """
    skip = 0 if start_key else skip
    heads = 0 if start_key else COUNTER_SHARDS if with_counters else 1
    first = CounterShardItem.key(movie_id, 0 if with_counters else COUNTER_SHARDS - 1)[1]
    wanted = heads + skip + limit + 1
    results = TableItem.query(
        MovieItem.partition(movie_id),
        TableItem.sk.between(first, RatingItem.LAST_SK),
        consistent_read=True,
        limit=wanted,
        page_size=wanted,
        last_evaluated_key=start_key,
    )
    shards: list[CounterShardItem] = []
    ratings: list[RatingItem] = []
    for item in results:
        if isinstance(item, CounterShardItem):
            shards.append(item)
        elif isinstance(item, RatingItem):
            ratings.append(item)
    page = ratings[skip : skip + limit]
    has_more = len(ratings) > skip + limit
    last_key = key_of(page[-1], "pk", "sk") if has_more and page else None
    counted = Counters.of(shards) if with_counters and shards else None
    return RatingPage(bool(shards), page, last_key, counted)


def _rate_once(movie_id: int, user_id: int, value: int) -> RatingItem:
    current: RatingItem | None = item_or_none(RatingItem, RatingItem.key(movie_id, user_id))
    if current is None:
        return _first_rating(movie_id, user_id, value)
    return _re_rate(current, value)


def _first_rating(movie_id: int, user_id: int, value: int) -> RatingItem:
    rating = RatingItem.new(movie_id, user_id, value, new_id())
    tx = Transaction()
    tx.put(RATING, rating, condition=RatingItem.pk.does_not_exist())
    _count(tx, movie_id, user_id, ratings=1, total=value)
    _commit(tx)
    return rating


def _re_rate(current: RatingItem, value: int) -> RatingItem:
    old = current.rating
    now = utcnow()
    tx = Transaction()
    tx.update(
        RATING,
        current,
        [RatingItem.rating.set(value), RatingItem.updated_at.set(now)],
        condition=RatingItem.rating == old,
    )
    _count(tx, current.movie_id, current.user_id, ratings=0, total=value - old)
    _commit(tx)
    current.rating, current.updated_at = value, now
    return current


def _delete_once(movie_id: int, user_id: int) -> None:
    current: RatingItem | None = item_or_none(RatingItem, RatingItem.key(movie_id, user_id))
    if current is None:
        raise _nothing_to_delete(movie_id)
    old = current.rating
    tx = Transaction()
    tx.delete(RATING, current, condition=RatingItem.rating == old)
    _count(tx, movie_id, user_id, ratings=-1, total=-old)
    _commit(tx)


def _nothing_to_delete(movie_id: int) -> errors.NotFound:
    """Why the caller has no rating: one more GetItem, on this error path only."""
    if item_or_none(MovieItem, MovieItem.key(movie_id)) is None:
        return errors.MovieNotFound()
    return errors.RatingNotFound()


def _count(tx: Transaction, movie_id: int, user_id: int, *, ratings: int, total: int) -> None:
    """Add to the caller's counter shard in ``tx``, on condition that it (the movie) exists."""
    actions: list[Action] = [
        CounterShardItem.rating_sum.add(total),
        CounterShardItem.changes.add(1),
    ]
    if ratings:
        actions.append(CounterShardItem.rating_count.add(ratings))
    shard = CounterShardItem(*CounterShardItem.key_for(movie_id, user_id))
    tx.update(COUNTER, shard, actions, condition=CounterShardItem.pk.exists())


def _commit(tx: Transaction) -> None:
    """Commit; a missing shard is a 404 (no such movie), a failed rating condition a lost race."""
    try:
        tx.commit()
    except ConditionFailed as exc:
        if COUNTER in exc.labels:
            raise errors.MovieNotFound() from exc
        raise RaceLost() from exc
