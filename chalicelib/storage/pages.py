"""Pages of Query results and the keys that resume them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from pynamodb.indexes import GlobalSecondaryIndex

from chalicelib.storage.engine import at_once
from chalicelib.storage.table import MovieItem, TableItem

T = TypeVar("T")
E = TypeVar("E", bound=TableItem)

Key = dict[str, Any]
"""A DynamoDB ``LastEvaluatedKey`` / ``ExclusiveStartKey`` (attribute-value JSON)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the key to resume after it (``None``: the end)."""

    items: list[T]
    last_key: Key | None


@dataclass(frozen=True)
class CollectionPage(Generic[T]):
    """A page of a movie's item collection (its ratings or comment threads).

    ``movie`` is the movie item when the page's Query passed over it (the
    first page always does, so a first page of an unknown movie is a 404 in
    the same call); ``None`` on later pages or when the movie does not exist.
    """

    movie: MovieItem | None
    items: list[T]
    last_key: Key | None


def key_of(item: TableItem, *attributes: str) -> Key:
    """The start key that resumes a Query right after ``item``."""
    return {name: {"S": getattr(item, name)} for name in attributes}


END = "end"  # a shard of a sharded list read to its end


def merged_page(
    shards: Sequence[Callable[[Key | None, int], list[T]]],
    *,
    rank: Callable[[T], str],
    resume: Callable[[T], Key],
    limit: int,
    skip: int = 0,
    start_key: Key | None,
    keep: Callable[[T], bool] | None = None,
) -> Page[T]:
    """A page of a list split over shards: each shard queried at once, merged best first.

    ``shards[n](start, count)`` reads up to ``count`` items of shard ``n``
    from ``start``, best first; ``rank`` orders items across shards (highest
    first) and ``resume`` is the key that resumes a shard's Query after an
    item. Each shard's Query reads ``skip + limit + 1`` items, so with two
    shards a page reads at most twice what it shows plus two (``skip``, for
    seed clients, reads what it skips). ``keep``, when given, shows only the
    items it accepts, among those read: such a page may show fewer than
    ``limit`` and still have a next one, and never reads more than that
    bound to fill itself. The merge goes no further than a shard that may
    hold more than it read, since what it did not read may outrank what the
    others did. The page's key holds every shard's position: after
    the last item it looked at, where it was if it looked at none, or
    ``END`` once it has given everything.
    """
    positions: list[Any] = start_key["after"] if start_key else [None] * len(shards)
    skip = 0 if start_key else skip
    wanted = skip + limit + 1
    open_shards = [n for n, position in enumerate(positions) if position != END]
    results = at_once(*(partial(shards[n], positions[n], wanted) for n in open_shards))
    read = dict(zip(open_shards, results, strict=True))
    merged = sorted(
        ((item, n) for n, items in read.items() for item in items),
        key=lambda pair: rank(pair[0]),
        reverse=True,
    )
    shown: list[T] = []
    looked: dict[int, list[T]] = {n: [] for n in read}
    for item, n in merged:
        if len(shown) == skip + limit:
            break
        looked[n].append(item)
        if keep is None or keep(item):
            shown.append(item)
        if len(looked[n]) == wanted:
            # Shard n has more than it read, and those may outrank what the other shards
            # read: the merge stops here (only a page with ``keep`` gets this far).
            break
    after = list(positions)
    for n, items in read.items():
        if looked[n]:
            after[n] = resume(looked[n][-1])
        if len(items) < wanted and len(looked[n]) == len(items):
            after[n] = END
    next_key = None if all(position == END for position in after) else {"after": after}
    return Page(shown[skip:], next_key)


def highest_first(
    entity: type[E],
    index: GlobalSecondaryIndex[TableItem],
    partition: str,
    start_key: Key | None,
    count: int,
) -> list[E]:
    """Up to ``count`` items of one index partition, highest sort key first: one Query.

    From the start or after ``start_key``; eventually consistent, as every
    index read. Only ``entity``'s items are kept (an index partition holds
    one kind here, so none are dropped in practice).
    """
    results = index.query(
        partition,
        scan_index_forward=False,
        limit=count,
        page_size=count,
        last_evaluated_key=start_key,
    )
    return [item for item in results if isinstance(item, entity)]


def index_page(
    entity: type[E],
    index: GlobalSecondaryIndex[TableItem],
    partition: str,
    index_keys: tuple[str, str],
    *,
    limit: int,
    start_key: Key | None,
    skip: int = 0,
) -> Page[E]:
    """``limit`` items of one index partition after ``skip`` ones, highest sort key first.

    It reads ``skip + limit + 1`` items (the extra one says whether there is
    a next page), from the start or after ``start_key`` (which ignores
    ``skip``: seed clients' ``offset`` has to read the rows it skips); the
    page's key is the last shown item's table and index keys
    (``index_keys``), which is what DynamoDB resumes an index Query from.
    """
    skip = 0 if start_key else skip
    items = highest_first(entity, index, partition, start_key, skip + limit + 1)
    page = items[skip : skip + limit]
    has_more = len(items) > skip + limit
    return Page(page, key_of(page[-1], "pk", "sk", *index_keys) if has_more and page else None)
