"""Ratings: one per user per movie, and exact counters that no rating change shares.

A rating lives at ``(MOVIE#<movie>, RATING#U#<user>)``, so "one per user per
movie" is the key itself. A movie's counters are ``COUNTER_SHARDS`` items
(``CounterShardItem``) beside its ratings. Every change is a consistent
GetItem of the caller's rating followed by one transaction that writes the
rating and adds to *one* shard, the caller's (by a hash of the user id):
two round trips. The movie item is not written, so a change writes two
items of its movie's collection and one index entry: the rating's in GSI2
under its rater (``RATER#<user>``, the caller's "my ratings" list), which
only that user's own changes write. Nothing any other movie's changes
write is shared: 10,000 changes a second on one movie come to about 625 a
second on each shard (2 write units each, in a transaction), under the
1,000 an item takes, and each rater's key takes that one person's rate.
A change costs 4 write units in its transaction plus 1 for the index
entry.

The counter delta is computed from what the GetItem read, so the
transaction pins that read with a condition on the rating
(``attribute_not_exists`` for a first rating, ``rating = <old>`` otherwise).
If another request changed the rating in between, that condition fails, the
change raises ``RaceLost`` and ``engine.retry_on_race`` runs it again from the
read. The shard's condition (it exists) is the check that the movie exists:
shards are written in the movie's create transaction and removed in its
delete transaction, so a rating of an unknown or just deleted movie is a
``MovieNotFound``. DynamoDB's own conflicts and throttling are retried
inside ``Transaction.commit``.

The exact counters are the sums over the shards, read in one strongly
consistent Query (``counters``). The copy on the movie item, which list
items show, is the stream consumer's (``chalicelib.storage.changes``).

That read is 32 items for one number (and the detail's 32 beside its 20
shown), more items than "twice those shown, plus two"; counted in what
DynamoDB charges, it is one read unit: 32 shards of about 90 bytes are
under 3 KB, and 4 KB is the smallest consistent read there is. A layout
with fewer items per exact read cannot go below that unit, and any with
fewer than about 20 shards puts one movie's 10,000 changes a second over an
item's 1,000 WCU/s (at 2 WCU each in a transaction); reading a running
total instead would put every change's write on one item. So the fixed
32-item, one-unit read is the price of the write goal, and it does not grow
with the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from pynamodb.expressions.update import Action

from chalicelib import failures
from chalicelib.storage.engine import (
    ConditionFailed,
    RaceLost,
    Transaction,
    both,
    item_or_none,
    new_id,
    retry_on_race,
    updated,
)
from chalicelib.storage.pages import Key, Page, index_page, key_of
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

    ``found`` says whether the movie exists: a first page's Query passed
    over a counter shard (which exists exactly when the movie does), or a
    later page's GetItem found one. ``counters`` are the exact counters when
    the page was asked to read every shard.
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
    return retry_on_race(lambda: _rate_once(movie_id, user_id, value))


def delete_rating(movie_id: int, user_id: int) -> None:
    """Remove the caller's rating and take it out of the movie's counters."""
    retry_on_race(lambda: _delete_once(movie_id, user_id))


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
    """A movie's ratings in user-id order: one Query, and one GetItem with a cursor.

    A first page starts at the last counter shard, which sorts right before
    the ratings, so the same Query says whether the movie exists; with
    ``with_counters`` it starts at the first shard and sums them all (the
    movie detail: strongly consistent, so the counters are exact at once).
    A ``start_key`` resumes after the previous page's last rating, and a
    GetItem of the last shard, sent at the same time (one round trip), says
    whether the movie still exists: a page of a movie deleted since is a
    404 like its first page, not what the cleanup has not reached yet.
    ``skip`` (for seed clients) reads the ratings it skips and is ignored
    with a ``start_key``. Every read is strongly consistent: the API's
    stage cache, not the consistency, is what spares DynamoDB these pages'
    repeated reads.
    """
    if start_key is not None:
        (_, ratings, last_key), head = both(
            partial(_ratings, movie_id, RatingItem.PREFIX, limit, start_key),
            partial(_head_shard, movie_id),
        )
        return RatingPage(head, ratings, last_key)
    first = CounterShardItem.key(movie_id, 0 if with_counters else COUNTER_SHARDS - 1)[1]
    heads = COUNTER_SHARDS if with_counters else 1
    shards, ratings, last_key = _ratings(movie_id, first, heads + skip + limit, None)
    page = ratings[skip : skip + limit]
    last_key = _after(page) if len(ratings) > skip + limit else None
    counted = Counters.of(shards) if with_counters and shards else None
    return RatingPage(bool(shards), page, last_key, counted)


def user_ratings(user_id: int, *, limit: int, start_key: Key | None) -> Page[RatingItem]:
    """The user's ratings, newest first: one Query of their GSI2 partition (``RATER#<user>``).

    Ordered by rating id, which is time-ordered and kept by a re-rate: newest
    first by when the user first rated each movie. Eventually consistent,
    as every index read: a change shows in the list within about a second
    on DynamoDB (at once on moto). A deleted movie's ratings stay until the
    stream's cleanup of its collection deletes them.
    """
    partition = RatingItem.rater_partition(user_id)
    return index_page(
        RatingItem,
        TableItem.by_owner,
        partition,
        ("gsi2pk", "gsi2sk"),
        limit=limit,
        start_key=start_key,
    )


def list_under_rater(rating: RatingItem) -> bool:
    """Give a rating written before raters' lists existed its GSI2 keys (``make backfill``).

    One UpdateItem, on condition that the rating exists and has none yet;
    ``False`` when it changed nothing (it has them, or it is gone).
    """
    keys = [getattr(RatingItem, name).set(value) for name, value in rating.rater_keys().items()]
    exists_unlisted = RatingItem.pk.exists() & RatingItem.gsi2pk.does_not_exist()
    return updated(RatingItem(rating.pk, rating.sk), keys, exists_unlisted)


def _ratings(
    movie_id: int, first: str, count: int, start_key: Key | None
) -> tuple[list[CounterShardItem], list[RatingItem], Key | None]:
    """``count`` items from ``first`` (or after ``start_key``) through the ratings, and one more.

    The extra item says whether there is a next page; with a ``start_key``
    the page is all ratings, and the key to resume after it is given.
    """
    wanted = count + 1
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
    if start_key is None:
        return shards, ratings, None
    page = ratings[:count]
    return shards, page, _after(page) if len(ratings) > count else None


def _after(page: list[RatingItem]) -> Key | None:
    return key_of(page[-1], "pk", "sk") if page else None


def _head_shard(movie_id: int) -> bool:
    """Whether the movie's last counter shard exists (it does exactly as long as the movie)."""
    try:
        CounterShardItem.get(
            *CounterShardItem.head_key(movie_id),
            consistent_read=True,
            attributes_to_get=[TableItem.pk.attr_name],
        )
    except CounterShardItem.DoesNotExist:
        return False
    return True


def _rate_once(movie_id: int, user_id: int, value: int) -> RatingItem:
    current: RatingItem | None = item_or_none(RatingItem, RatingItem.key(movie_id, user_id))
    if current is None:
        return _first_rating(movie_id, user_id, value)
    return _re_rate(current, value)


def _first_rating(movie_id: int, user_id: int, value: int) -> RatingItem:
    rating = RatingItem.new(movie_id, user_id, value, new_id())
    tx = Transaction()
    tx.put(RATING, rating, condition=RatingItem.pk.does_not_exist())
    _add_to_shard(tx, movie_id, user_id, ratings=1, total=value)
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
    _add_to_shard(tx, current.movie_id, current.user_id, ratings=0, total=value - old)
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
    _add_to_shard(tx, movie_id, user_id, ratings=-1, total=-old)
    _commit(tx)


def _nothing_to_delete(movie_id: int) -> failures.NotFound:
    """Why the caller has no rating: one more GetItem, on this error path only."""
    if item_or_none(MovieItem, MovieItem.key(movie_id)) is None:
        return failures.MovieNotFound()
    return failures.RatingNotFound()


def count_existing(shards: Sequence[CounterShardItem], kept: Iterable[RatingItem]) -> Counters:
    """Add ratings that exist already (the migration's) to a new movie's ``shards``, in memory.

    Each goes where ``_add_to_shard`` puts its user's first rating: one rating, its
    value and one change on the user's shard, so a later re-rate or delete
    by that user takes from a shard that holds the rating (no shard goes
    below zero), and the version (the sum of ``changes``) is what that many
    first ratings would have left.
    """
    by_key = {(shard.pk, shard.sk): shard for shard in shards}
    for rating in kept:
        shard = by_key[CounterShardItem.key_for(rating.movie_id, rating.user_id)]
        shard.rating_count = (shard.rating_count or 0) + 1
        shard.rating_sum = (shard.rating_sum or 0) + rating.rating
        shard.changes = (shard.changes or 0) + 1
    return Counters.of(shards)


def _add_to_shard(
    tx: Transaction, movie_id: int, user_id: int, *, ratings: int, total: int
) -> None:
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
            raise failures.MovieNotFound() from exc
        raise RaceLost() from exc
