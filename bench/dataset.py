"""Bulk data for the scaling runs, written straight to the table in batches.

Going through the API would take minutes (a comment is a transaction, a
rating a read and a transaction); BatchWriteItem of the storage models
writes the same items in seconds. The items are built by the models in
``chalicelib.storage.table``, so they have the keys, index keys and
attributes the app's own writes give them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

from bench.scenarios import COMMENT_TEXT, MOVIE
from chalicelib.storage.engine import ID_EPOCH_MS, ID_RANDOM_BITS
from chalicelib.storage.table import (
    CommentItem,
    CommentRefItem,
    CounterShardItem,
    MovieItem,
    RatingItem,
    TableItem,
)

AN_HOUR_MS = 3_600_000


def past_ids(count: int, *, hours_ago: int) -> Iterator[tuple[int, datetime]]:
    """``count`` distinct ids, one per millisecond from ``hours_ago``, with their times.

    Ids the app makes are time-ordered (milliseconds since 2024, then random
    bits); these sit in the past, so they cannot clash with the app's.
    """
    start_ms = int(time.time() * 1000) - hours_ago * AN_HOUR_MS
    for offset in range(count):
        millis = start_ms + offset
        at = datetime.fromtimestamp(millis / 1000, UTC)
        yield (millis - ID_EPOCH_MS) << ID_RANDOM_BITS, at


def add_comments(movie_id: int, author_id: int, count: int) -> None:
    """``count`` top-level comments (each with its ref item), oldest first."""
    with TableItem.batch_write() as batch:
        for comment_id, at in past_ids(count, hours_ago=3):
            comment = CommentItem(
                *CommentItem.path_key(movie_id, [], comment_id),
                id=comment_id,
                movie_id=movie_id,
                user_id=author_id,
                parent_comment_id=None,
                comment_text=COMMENT_TEXT.strip(),
                created_at=at,
                updated_at=at,
                deleted=False,
                reply_count=0,
            )
            batch.save(comment)
            batch.save(
                CommentRefItem(
                    *CommentRefItem.key(comment_id),
                    movie_id=movie_id,
                    comment_sk=comment.sk,
                    user_id=author_id,
                    reply_count=0,
                    deleted=False,
                )
            )


def add_ratings(movie_id: int, count: int) -> None:
    """Ratings from ``count`` distinct users, and the movie's counters to match."""
    total = 0
    with TableItem.batch_write() as batch:
        for number, (user_id, at) in enumerate(past_ids(count, hours_ago=2)):
            value = 1 + number % 10
            total += value
            batch.save(
                RatingItem(
                    *RatingItem.key(movie_id, user_id),
                    id=user_id + 1,
                    movie_id=movie_id,
                    user_id=user_id,
                    rating=value,
                    created_at=at,
                    updated_at=at,
                )
            )
    shard = CounterShardItem(*CounterShardItem.key(movie_id, 0))
    shard.update([CounterShardItem.rating_count.add(count), CounterShardItem.rating_sum.add(total)])
    movie = MovieItem(*MovieItem.key(movie_id))
    movie.update([MovieItem.rating_count.add(count), MovieItem.rating_sum.add(total)])


def add_movies(owner_id: int, count: int) -> None:
    """``count`` movies of ``owner_id``'s, older than any the API made."""
    with TableItem.batch_write() as batch:
        for movie_id, at in past_ids(count, hours_ago=4):
            movie = MovieItem.new(movie_id, owner_id, **MOVIE)
            movie.created_at = movie.updated_at = at
            batch.save(movie)
            for shard in CounterShardItem.all_new(movie_id):
                batch.save(shard)
