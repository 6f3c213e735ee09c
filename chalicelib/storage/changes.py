"""The table's stream, as storage reads it: what a record means and what follows from it.

Two kinds of record matter, and the event source mapping's filter
(``FILTER_PATTERNS``) delivers only those:

* a counter shard's ``MODIFY``: a rating changed. The movie's copy of its
  counters (``rating_count``/``rating_sum`` on the movie item, which the
  list items of GSI1 and GSI2 show) is *recounted*: the shards are read
  again and their sums written.
* a movie's ``REMOVE``: the movie was deleted. The rest of its item
  collection (comments, ratings, any shard left) and its comments' ref
  items are deleted.

Both are idempotent, as at-least-once delivery needs. A recount is not an
increment: it writes the shards' current sums on condition that they are
newer than what the movie holds (``counted_version``, the shards' total of
changes, only grows), so a redelivered, duplicated or out-of-order batch,
or two consumers at once, never leave an older count behind. A cleanup
finds less to delete the second time. A batch recounts each movie once,
however many of its records it holds, so with the mapping's batching
window a movie's copy (and the shared GSI1 key) takes about one write per
window, whatever its rating rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.storage import session_cleanup
from chalicelib.storage.engine import batch_delete, condition_failed
from chalicelib.storage.ratings import Counters, counters
from chalicelib.storage.table import (
    CommentItem,
    CommentRefItem,
    CounterShardItem,
    MovieItem,
    TableItem,
)

COUNTED = "counted"
DELETED = "deleted"

# Lambda's event filter patterns: the records ``decode`` gives a meaning to.
FILTER_PATTERNS: tuple[dict[str, Any], ...] = (
    {
        "eventName": ["MODIFY"],
        "dynamodb": {"Keys": {"sk": {"S": [{"prefix": CounterShardItem.PREFIX}]}}},
    },
    {"eventName": ["REMOVE"], "dynamodb": {"Keys": {"sk": {"S": [MovieItem.SK]}}}},
    *session_cleanup.FILTER_PATTERNS,  # sessions ended together: their items are deleted there
)


@dataclass(frozen=True)
class Change:
    """What one stream record says happened to one movie."""

    movie_id: int
    what: str  # COUNTED or DELETED
    sequence_number: str


def decode(event_name: str, keys: Mapping[str, Any], sequence_number: str) -> Change | None:
    """The change a record stands for (``keys`` in DynamoDB's JSON); ``None``: none of ours."""
    pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
    movie_id = MovieItem.id_in(pk)
    if movie_id is None:
        return None
    if event_name == "MODIFY" and sk.startswith(CounterShardItem.PREFIX):
        return Change(movie_id, COUNTED, sequence_number)
    if event_name == "REMOVE" and sk == MovieItem.SK:
        return Change(movie_id, DELETED, sequence_number)
    return None


def by_movie(changes: Iterable[Change]) -> dict[int, list[Change]]:
    """The batch's changes grouped by movie, in the order the movies first appear."""
    grouped: dict[int, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.movie_id, []).append(change)
    return grouped


def apply(movie_id: int, changes: list[Change]) -> str:
    """Do what one movie's changes in a batch call for, once; says what was done.

    A deleted movie is cleaned up (a recount would find no shards anyway);
    otherwise its copy is recounted.
    """
    if any(change.what == DELETED for change in changes):
        delete_movie_children(movie_id)
        return DELETED
    recount(movie_id)
    return COUNTED


def recount(movie_id: int) -> bool:
    """Copy the shards' sums onto the movie item, unless it holds these or newer already.

    One consistent Query of the shards and one conditional UpdateItem;
    ``False`` when nothing was written (the movie is gone, or a recount as
    new or newer got there first).
    """
    counted = counters(movie_id)
    if counted is None:
        return False
    newer = MovieItem.counted_version.does_not_exist() | (
        MovieItem.counted_version < counted.version
    )
    movie = MovieItem(*MovieItem.key(movie_id))
    try:
        movie.update(
            [getattr(MovieItem, name).set(value) for name, value in copied(counted).items()],
            condition=MovieItem.pk.exists() & newer,
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def copied(counted: Counters) -> dict[str, int]:
    """What a recount of ``counted`` writes on the movie item, by ``MovieItem`` attribute."""
    return {
        "rating_count": counted.rating_count,
        "rating_sum": counted.rating_sum,
        "counted_version": counted.version,
    }


def set_copy(movie: MovieItem, counted: Counters) -> None:
    """Set on ``movie`` (about to be put whole) the copy a recount of ``counted`` would write."""
    for name, value in copied(counted).items():
        setattr(movie, name, value)


def delete_movie_children(movie_id: int) -> int:
    """Delete what is left of a deleted movie: ratings, comments, their refs, any shard.

    Runs after the movie item and its shards are gone, so nothing new can
    join the collection (every rating and comment write checks its shard or
    the movie in its transaction). Idempotent: a retried batch finds less
    to delete. Returns the number of items deleted.
    """
    return batch_delete(_children_keys(movie_id))


def _children_keys(movie_id: int) -> Iterator[tuple[str, str]]:
    for item in TableItem.query(MovieItem.partition(movie_id), consistent_read=True):
        yield item.pk, item.sk
        if isinstance(item, CommentItem):
            yield CommentRefItem.key(item.id)
