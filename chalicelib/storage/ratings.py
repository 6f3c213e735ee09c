"""Ratings: one per user per movie, with the movie's counters kept exact.

A rating lives at ``(MOVIE#<movie>, RATING#<user>)``, so "one per user per
movie" is the key itself. Every change is a consistent GetItem of the
caller's rating followed by one transaction that writes the rating and the
movie's ``rating_count``/``rating_sum`` together: two round trips.

The counter delta is computed from what the GetItem read, so the
transaction pins that read with a condition on the rating
(``attribute_not_exists`` for a first rating, ``rating = <old>`` otherwise).
If another request changed the rating in between, that condition fails, the
change raises ``RaceLost`` and ``engine.optimistic`` runs it again from the
read. The movie's condition (it exists) makes a rating of an unknown or just
deleted movie a ``MovieNotFound``; DynamoDB's own conflicts and throttling
are retried inside ``Transaction.commit``.
"""

from __future__ import annotations

from datetime import datetime

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
from chalicelib.storage.pages import CollectionPage, Key, key_of
from chalicelib.storage.table import MovieItem, RatingItem, TableItem, utcnow

RATING = "rating"
MOVIE = "movie"


def rate_movie(movie_id: int, user_id: int, value: int) -> RatingItem:
    """Create the caller's rating or replace its value; returns the stored rating.

    A replaced rating keeps its ``id`` and ``created_at``; ``updated_at``
    and its place in the newest-first list move to now.
    """
    return optimistic(lambda: _rate_once(movie_id, user_id, value))


def delete_rating(movie_id: int, user_id: int) -> None:
    """Remove the caller's rating and take it out of the movie's counters."""
    optimistic(lambda: _delete_once(movie_id, user_id))


def rating_page(
    movie_id: int, *, limit: int, start_key: Key | None, skip: int = 0
) -> CollectionPage[RatingItem]:
    """A movie's ratings, newest first, in one strongly consistent Query (LSI1).

    The movie item sorts after every rating in LSI1, so the first page of a
    descending Query starts with it: the page also says whether the movie
    exists. ``skip`` (for seed clients) reads the ratings it skips; a
    ``start_key`` resumes after the previous page and ignores ``skip``.
    """
    skip = 0 if start_key else skip
    partition = MovieItem.key(movie_id)[0]
    wanted = skip + limit + 1 + (0 if start_key else 1)
    results = TableItem.ratings_by_time.query(
        partition,
        TableItem.lsi1sk.startswith(RatingItem.PREFIX),
        scan_index_forward=False,
        consistent_read=True,
        limit=wanted,
        page_size=wanted,
        last_evaluated_key=start_key,
    )
    movie: MovieItem | None = None
    ratings: list[RatingItem] = []
    for item in results:
        if isinstance(item, MovieItem):
            movie = item
        elif isinstance(item, RatingItem):
            ratings.append(item)
    page = ratings[skip : skip + limit]
    has_more = len(ratings) > skip + limit
    last_key = key_of(page[-1], "pk", "sk", "lsi1sk") if has_more else None
    return CollectionPage(movie, page, last_key)


def _rate_once(movie_id: int, user_id: int, value: int) -> RatingItem:
    current: RatingItem | None = item_or_none(RatingItem, RatingItem.key(movie_id, user_id))
    if current is None:
        return _first_rating(movie_id, user_id, value)
    return _re_rate(current, value)


def rating_item(
    rating_id: int,
    movie_id: int,
    user_id: int,
    value: int,
    *,
    created_at: datetime,
    updated_at: datetime,
) -> RatingItem:
    """A rating as stored (a first rating, and the migration from the original deployment)."""
    return RatingItem(
        *RatingItem.key(movie_id, user_id),
        id=rating_id,
        movie_id=movie_id,
        user_id=user_id,
        rating=value,
        created_at=created_at,
        updated_at=updated_at,
        lsi1sk=RatingItem.order_key(user_id, updated_at),
    )


def _first_rating(movie_id: int, user_id: int, value: int) -> RatingItem:
    now = utcnow()
    rating = rating_item(new_id(), movie_id, user_id, value, created_at=now, updated_at=now)
    tx = Transaction()
    tx.put(RATING, rating, condition=RatingItem.pk.does_not_exist())
    _count(tx, movie_id, ratings=1, total=value)
    _commit(tx)
    return rating


def _re_rate(current: RatingItem, value: int) -> RatingItem:
    old = current.rating
    now = utcnow()
    order_key = RatingItem.order_key(current.user_id, now)
    tx = Transaction()
    tx.update(
        RATING,
        current,
        [
            RatingItem.rating.set(value),
            RatingItem.updated_at.set(now),
            RatingItem.lsi1sk.set(order_key),
        ],
        condition=RatingItem.rating == old,
    )
    _count(tx, current.movie_id, ratings=0, total=value - old)
    _commit(tx)
    current.rating, current.updated_at, current.lsi1sk = value, now, order_key
    return current


def _delete_once(movie_id: int, user_id: int) -> None:
    current: RatingItem | None = item_or_none(RatingItem, RatingItem.key(movie_id, user_id))
    if current is None:
        raise _nothing_to_delete(movie_id)
    old = current.rating
    tx = Transaction()
    tx.delete(RATING, current, condition=RatingItem.rating == old)
    _count(tx, movie_id, ratings=-1, total=-old)
    _commit(tx)


def _nothing_to_delete(movie_id: int) -> errors.NotFound:
    """Why the caller has no rating: one more GetItem, on this error path only."""
    if item_or_none(MovieItem, MovieItem.key(movie_id)) is None:
        return errors.MovieNotFound()
    return errors.RatingNotFound()


def _count(tx: Transaction, movie_id: int, *, ratings: int, total: int) -> None:
    """Add to the movie's counters in ``tx``, on condition that the movie exists."""
    actions: list[Action] = [MovieItem.rating_sum.add(total)]
    if ratings:
        actions.append(MovieItem.rating_count.add(ratings))
    movie = MovieItem(*MovieItem.key(movie_id))
    tx.update(MOVIE, movie, actions, condition=MovieItem.pk.exists())


def _commit(tx: Transaction) -> None:
    """Commit; a failed movie condition is a 404, a failed rating one a lost race."""
    try:
        tx.commit()
    except ConditionFailed as exc:
        if MOVIE in exc.labels:
            raise errors.MovieNotFound() from exc
        raise RaceLost() from exc
