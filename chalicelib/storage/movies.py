"""Movies: create, owner-only update and delete, the newest-first lists, the detail.

A movie is its item plus ``COUNTER_SHARDS`` counter shards
(``CounterShardItem``), written together in its create transaction and
removed together in its delete transaction: the shards are what a rating
change writes and checks, so they exist exactly as long as the movie. The
rest of its collection (comments, ratings) is removed by the stream
consumer afterwards (``chalicelib.storage.changes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from chalicelib import failures
from chalicelib.storage.comments import CommentNode, thread_page
from chalicelib.storage.engine import (
    ConditionFailed,
    RaceLost,
    Transaction,
    both,
    item_or_none,
    new_id,
    retry_on_race,
    updated,
    with_fresh_ids,
)
from chalicelib.storage.pages import (
    CollectionPage,
    Key,
    Page,
    highest_first,
    index_page,
    key_of,
    merged_page,
)
from chalicelib.storage.ratings import Counters, RatingPage, rating_page
from chalicelib.storage.table import (
    CounterShardItem,
    MovieItem,
    utcnow,
)

DETAIL_THREADS = 10
DETAIL_RATINGS = 10
NEW_ID = "new id"
MOVIE = "movie"
SHARD = "counter shard"


@dataclass(frozen=True)
class MovieDetail:
    movie: MovieItem
    counters: Counters
    threads: CollectionPage[CommentNode]
    ratings: RatingPage


def create_movie(user_id: int, fields: dict[str, Any]) -> MovieItem:
    """One transaction: the movie (on a free id; a clash retries) and its counter shards.

    A resend of a transaction whose answer was lost carries the same
    ``ClientRequestToken``, which DynamoDB answers without applying twice.
    """

    def attempt() -> MovieItem:
        movie, shards = new_movie_items(new_id(), user_id, fields)
        tx = Transaction()
        tx.put(NEW_ID, movie, condition=MovieItem.pk.does_not_exist())
        for shard in shards:
            tx.put(SHARD, shard)
        tx.commit()
        return movie

    return with_fresh_ids(attempt, clash_label=NEW_ID)


def new_movie_items(
    movie_id: int, user_id: int, fields: dict[str, Any]
) -> tuple[MovieItem, list[CounterShardItem]]:
    """A new movie's item and its counter shards, all at zero (create, and the migration)."""
    return MovieItem.new(movie_id, user_id, **_stored(fields)), CounterShardItem.all_new(movie_id)


def get_movie(movie_id: int) -> MovieItem | None:
    movie: MovieItem | None = item_or_none(MovieItem, MovieItem.key(movie_id))
    return movie


def movie_detail(movie_id: int) -> MovieDetail | None:
    """The movie, its exact counters, its first comment threads and first ratings.

    Two Queries of the movie's collection, sent at the same time, so the
    request waits for one round trip: one from the movie item through its
    comments (``MOVIE``, ``MOVIE#C#...``), one from the first counter shard
    through the shards into the ratings (``RATING#C#...``, ``RATING#U#...``).
    No single contiguous key range holds the movie and a bounded page of
    both lists. The shards' Query is strongly consistent: the counters are
    exact at once. The movie's and its threads' is eventually consistent
    (half the read units; usually current within a second): exactness is
    not at stake there, except that a movie created a moment ago must not
    be a 404, so when the shards say the movie exists and that read missed
    it, it is read again, consistently (one more round trip, only then).
    """
    threads, ratings = both(
        partial(thread_page, movie_id, limit=DETAIL_THREADS, consistent=False),
        partial(rating_page, movie_id, limit=DETAIL_RATINGS, start_key=None, with_counters=True),
    )
    if ratings.counters is None:
        return None
    if threads.movie is None:
        threads = thread_page(movie_id, limit=DETAIL_THREADS)
    if threads.movie is None:
        return None
    return MovieDetail(threads.movie, ratings.counters, threads, ratings)


def update_movie(movie_id: int, user_id: int, changes: dict[str, Any]) -> MovieItem:
    """One UpdateItem: the owner check is its condition, not a read before it."""
    movie = MovieItem(*MovieItem.key(movie_id))
    stored = _stored(changes)
    actions = [
        getattr(MovieItem, name).remove() if value is None else getattr(MovieItem, name).set(value)
        for name, value in stored.items()
    ]
    actions.append(MovieItem.updated_at.set(utcnow()))
    if not updated(movie, actions, _owned_by(user_id)):
        raise _not_found_or_forbidden(movie_id)
    return movie


def delete_movie(movie_id: int, user_id: int) -> None:
    """One transaction: the movie, conditional on the owner, and its counter shards.

    Removing the shards with the movie is what makes a rating that lands
    after the delete impossible (its transaction needs its shard). The
    comments and ratings go afterwards, through the table's stream, a
    bounded step per invocation (``changes.clean_up``), so the request's
    cost does not depend on how many there are.
    """
    tx = Transaction()
    tx.delete(MOVIE, MovieItem(*MovieItem.key(movie_id)), condition=_owned_by(user_id))
    _delete_shards(tx, movie_id)
    try:
        tx.commit()
    except ConditionFailed as exc:
        raise _not_found_or_forbidden(movie_id) from exc


def take_movie(movie_id: int, user_id: int) -> MovieItem:
    """Delete the movie as ``delete_movie`` does, and return what was deleted (seed path).

    A transaction cannot return the old item, so this reads it first and
    conditions the delete on it being unchanged; an update in between
    starts it again from the read.
    """
    return retry_on_race(lambda: _take_once(movie_id, user_id))


def _take_once(movie_id: int, user_id: int) -> MovieItem:
    movie = get_movie(movie_id)
    if movie is None:
        raise failures.MovieNotFound()
    if movie.user_id != user_id:
        raise failures.NotOwner("movie", "modify")
    tx = Transaction()
    unchanged = _owned_by(user_id) & (MovieItem.updated_at == movie.updated_at)
    tx.delete(MOVIE, MovieItem(*MovieItem.key(movie_id)), condition=unchanged)
    _delete_shards(tx, movie_id)
    try:
        tx.commit()
    except ConditionFailed as exc:
        raise RaceLost() from exc
    return movie


def _delete_shards(tx: Transaction, movie_id: int) -> None:
    for shard in CounterShardItem.all_new(movie_id):
        tx.delete(SHARD, shard)


def list_movies(*, limit: int, offset: int, start_key: Key | None) -> Page[MovieItem]:
    """All movies, newest first: GSI1's shards, queried at once and merged by id.

    At most twice what a page shows plus two (``pages.merged_page``);
    ``offset``, for seed clients, reads what it skips.
    """
    return merged_page(
        [partial(_newest, partition) for partition in MovieItem.all_movies_partitions()],
        rank=lambda movie: movie.gsi1sk or "",
        resume=lambda movie: key_of(movie, "pk", "sk", "gsi1pk", "gsi1sk"),
        limit=limit,
        skip=offset,
        start_key=start_key,
    )


def _newest(partition: str, start_key: Key | None, count: int) -> list[MovieItem]:
    return highest_first(MovieItem, MovieItem.by_all_movies, partition, start_key, count)


def list_owner_movies(
    user_id: int, *, limit: int, offset: int, start_key: Key | None
) -> Page[MovieItem]:
    """One user's movies, newest first (GSI2), in one Query."""
    return index_page(
        MovieItem,
        MovieItem.by_owner,
        MovieItem.owner_partition(user_id),
        ("gsi2pk", "gsi2sk"),
        limit=limit,
        start_key=start_key,
        skip=offset,
    )


def _owned_by(user_id: int) -> Any:
    return MovieItem.pk.exists() & (MovieItem.user_id == user_id)


def _not_found_or_forbidden(movie_id: int) -> failures.Failure:
    """Why an owner-conditioned write failed: one read, on the error path only."""
    if get_movie(movie_id) is None:
        return failures.MovieNotFound()
    return failures.NotOwner("movie", "modify")


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    """Dates are stored as ISO strings."""
    return {
        name: value.isoformat() if name == "release_date" and value is not None else value
        for name, value in fields.items()
    }
