"""The table's stream, as storage reads it: what a record means and what follows from it.

Four kinds of record matter, and the event source mapping's filter
(``FILTER_PATTERNS``) delivers only those:

* a counter shard's ``MODIFY``: a rating changed. The movie's copy of its
  counters (``rating_count``/``rating_sum`` on the movie item, which the
  list items of GSI1 and GSI2 show) is *recounted*: the shards are read
  again and their sums written. Its list entries follow (below).
* a movie's ``INSERT`` or ``MODIFY``: it was created, changed or recounted.
  Its list entries (GSI3: the ranked and filtered lists and search,
  ``listings``) are made what the item says now (``listings.sync``).
* a movie's ``REMOVE``: the movie was deleted. The rest of its item
  collection (comments, ratings, any shard left) and its comments' ref
  items are deleted, ``CLEANUP_ITEMS_PER_STEP`` at a time (``clean_up``).
* a cleanup marker's ``INSERT`` (``MovieCleanupItem``, ``CLEANUP#<step>``):
  a deleted movie still has children, and the step it names is next.

All are idempotent, as at-least-once delivery needs. A recount is not an
increment: it writes the shards' current sums on condition that they are
newer than what the movie holds (``counted_version``, the shards' total of
changes, only grows), so a redelivered, duplicated or out-of-order batch,
or two consumers at once, never leave an older count behind. A batch
recounts each movie once, however many of its records it holds, so with
the mapping's batching window a movie's copy (and the shared GSI1 key)
takes about one write per window, whatever its rating rate.

The cleanup is bounded per invocation, so a movie with millions of ratings
neither outruns the function's timeout nor holds up its stream shard: each
step deletes at most ``CLEANUP_ITEMS_PER_STEP`` items of the collection and
their comments' refs, then hands the rest on through the stream itself, by
replacing the marker with the next step's in one transaction (the new
marker's ``INSERT`` is the next step's record), or removing it when nothing
is left. A step acts only when the record names the current step: the
movie's ``REMOVE`` when there is no marker yet, a marker's ``INSERT`` while
it is still the marker. A redelivered, duplicated or out-of-order record
names a step that is done and does nothing. Two deliveries of the first
step handled at the same moment can each write a marker; the current one
is the latest step's, the other is stale and goes with the next step's
items, so one chain goes on and none stalls. A step that failed half-way
is retried by Lambda and finds fewer items to delete. Nothing can join the
collection meanwhile: every rating and comment write checks its counter
shard or the movie in its transaction, and both went with the movie.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.storage import listings, session_cleanup
from chalicelib.storage.engine import (
    ConditionFailed,
    Transaction,
    batch_delete,
    condition_failed,
    updated,
)
from chalicelib.storage.ratings import Counters, counters
from chalicelib.storage.table import (
    CommentItem,
    CommentRefItem,
    CounterShardItem,
    MovieCleanupItem,
    MovieItem,
    TableItem,
)

COUNTED = "counted"
LISTED = "listed"
DELETED = "deleted"
CLEANING = "cleaning"
CLEANED = "cleaned"  # ``apply``'s answers for a cleanup step: ...the collection is empty now
CLEANUP_CONTINUES = "cleanup continues"  # ...a next step's marker is written
CLEANUP_STALE = "cleanup step done already"  # ...the record named a step that is done
MARKER = "cleanup marker"
# How much of a deleted movie's collection one invocation deletes, per movie. A step
# reads this many items (keys only) and deletes them and, for comments, their refs: at
# most twice as many deletes, 40 BatchWriteItems of 25. Deletes of items under 1 KB
# cost 1 WCU each, so even if the whole collection sits on one partition (1,000 WCU/s)
# a step takes about a second of its write capacity, and a few seconds of calls when
# throttled and backed off: a batch can carry dozens of movies' steps and still finish
# far inside the stream function's 300 s timeout. One step per batching window (20 s)
# deletes about 50 items a second per movie: a movie with a million children is gone
# in under six hours, while its pages already answer 404.
CLEANUP_ITEMS_PER_STEP = 500
# Markers a step's Query reads beyond its items: the current one and any stale ones.
MARKERS_READ = 8
# What a step reads of each item: what it is, where, and (on the marker) the count so far.
KEYS_AND_PROGRESS = [
    TableItem.pk.attr_name,
    TableItem.sk.attr_name,
    TableItem.kind.attr_name,
    MovieCleanupItem.deleted.attr_name,
]

# Lambda's event filter patterns: the records ``decode`` gives a meaning to.
FILTER_PATTERNS: tuple[dict[str, Any], ...] = (
    {
        "eventName": ["MODIFY"],
        "dynamodb": {"Keys": {"sk": {"S": [{"prefix": CounterShardItem.PREFIX}]}}},
    },
    {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"sk": {"S": [MovieItem.SK]}}}},
    {"eventName": ["REMOVE"], "dynamodb": {"Keys": {"sk": {"S": [MovieItem.SK]}}}},
    {
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {"sk": {"S": [{"prefix": MovieCleanupItem.PREFIX}]}}},
    },
    *session_cleanup.FILTER_PATTERNS,  # sessions ended together: their items are deleted there
)


@dataclass(frozen=True)
class Change:
    """What one stream record says happened to one movie."""

    movie_id: int
    what: str  # COUNTED, LISTED, DELETED or CLEANING
    sequence_number: str
    step: int = 0  # the cleanup step a DELETED (0) or CLEANING record stands for


def decode(event_name: str, keys: Mapping[str, Any], sequence_number: str) -> Change | None:
    """The change a record stands for (``keys`` in DynamoDB's JSON); ``None``: none of ours."""
    pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
    movie_id = MovieItem.id_in(pk)
    if movie_id is None:
        return None
    if event_name == "MODIFY" and sk.startswith(CounterShardItem.PREFIX):
        return Change(movie_id, COUNTED, sequence_number)
    if event_name in ("INSERT", "MODIFY") and sk == MovieItem.SK:
        return Change(movie_id, LISTED, sequence_number)
    if event_name == "REMOVE" and sk == MovieItem.SK:
        return Change(movie_id, DELETED, sequence_number)
    step = MovieCleanupItem.step_in(sk)
    if event_name == "INSERT" and step is not None:
        return Change(movie_id, CLEANING, sequence_number, step)
    return None


def by_movie(changes: Iterable[Change]) -> dict[int, list[Change]]:
    """The batch's changes grouped by movie, in the order the movies first appear."""
    grouped: dict[int, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.movie_id, []).append(change)
    return grouped


def apply(movie_id: int, changes: list[Change]) -> str:
    """Do what one movie's changes in a batch call for, once; says what was done.

    A deleted movie's cleanup takes one step (a recount would find no shards
    anyway, and its list entries go with its collection); otherwise its copy
    is recounted if a rating changed, and its list entries synced. The
    recount's own write comes back as the movie's ``MODIFY``, whose sync
    then finds nothing to do: syncing here saves the list orders a second
    trip through the stream.
    """
    steps = {change.step for change in changes if change.what in (DELETED, CLEANING)}
    if steps:
        return clean_up(movie_id, steps)
    counted = any(change.what == COUNTED for change in changes)
    if counted:
        recount(movie_id)
    listings.sync(movie_id)
    return COUNTED if counted else LISTED


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
    copy = [getattr(MovieItem, name).set(value) for name, value in copied(counted).items()]
    return updated(MovieItem(*MovieItem.key(movie_id)), copy, MovieItem.pk.exists() & newer)


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


def clean_up(movie_id: int, steps: Collection[int]) -> str:
    """One bounded step of a deleted movie's cleanup, if ``steps`` hold the current one.

    One consistent, keys-only Query from the start of the collection finds
    the current marker (it sorts first; step 0: none yet) and the next
    ``CLEANUP_ITEMS_PER_STEP`` items. A stale step does nothing. Otherwise
    those items and their comments' refs are deleted (BatchWriteItem, 25 a
    call), and the marker moves on: to the next step if a whole step's worth
    was found, else it is removed. Says what it did.
    """
    marker, children = _next_items(movie_id)
    current = marker.step if marker is not None else 0
    if current not in steps:
        return CLEANUP_STALE
    deleted = batch_delete(_deletions(children))
    if len(children) < CLEANUP_ITEMS_PER_STEP:
        _finish(marker)
        return CLEANED
    _hand_on(movie_id, marker, deleted)
    return CLEANUP_CONTINUES


def _next_items(movie_id: int) -> tuple[MovieCleanupItem | None, list[TableItem]]:
    """The current marker, if any, and up to a step's worth of the items after it.

    The current marker is the latest step's. There is one marker, unless two
    deliveries of a first step ran at once and each started a chain; the
    earlier chain's marker is then stale, and is deleted with the next step's
    items (``_deletions``), so one chain goes on.
    """
    results = TableItem.query(
        MovieItem.partition(movie_id),
        consistent_read=True,
        limit=CLEANUP_ITEMS_PER_STEP + 1 + MARKERS_READ,
        page_size=CLEANUP_ITEMS_PER_STEP + 1 + MARKERS_READ,
        attributes_to_get=KEYS_AND_PROGRESS,
    )
    items = list(results)
    markers = [item for item in items if isinstance(item, MovieCleanupItem)]
    marker = max(markers, key=lambda found: found.step, default=None)
    children = [item for item in items if item is not marker]
    return marker, children[:CLEANUP_ITEMS_PER_STEP]


def _deletions(children: Iterable[TableItem]) -> Iterator[tuple[str, str]]:
    for item in children:
        yield item.pk, item.sk
        if isinstance(item, CommentItem):
            yield CommentRefItem.key(CommentItem.path_ids(item.sk)[-1])


def _hand_on(movie_id: int, marker: MovieCleanupItem | None, deleted: int) -> None:
    """Write the next step's marker (replacing the current one), whose record is the next step.

    A condition that fails means another delivery of this step got there
    first; its marker stands, and this one is not written.
    """
    done = deleted + (marker.deleted if marker is not None else 0)
    step = marker.step + 1 if marker is not None else 1
    following = MovieCleanupItem.new(movie_id, step, done)
    try:
        if marker is None:
            following.save(condition=MovieCleanupItem.pk.does_not_exist())
            return
        tx = Transaction()
        tx.delete(MARKER, marker, condition=MovieCleanupItem.pk.exists())
        tx.put(MARKER, following, condition=MovieCleanupItem.pk.does_not_exist())
        tx.commit()
    except PutError as exc:
        if not condition_failed(exc):
            raise
    except ConditionFailed:
        pass


def _finish(marker: MovieCleanupItem | None) -> None:
    """Remove the marker once nothing is left (no marker: the first step was the last)."""
    if marker is None:
        return
    try:
        marker.delete(condition=MovieCleanupItem.pk.exists())
    except DeleteError as exc:
        if not condition_failed(exc):
            raise
