"""Pages of Query results and the keys that resume them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pynamodb.indexes import GlobalSecondaryIndex

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


def index_page(
    entity: type[E],
    index: GlobalSecondaryIndex[TableItem],
    partition: str,
    index_keys: tuple[str, str],
    *,
    limit: int,
    start_key: Key | None,
) -> Page[E]:
    """``limit`` items of one index partition, highest sort key first, in one Query.

    It reads ``limit + 1`` items (the extra one says whether there is a next
    page), from the start or after ``start_key``; the page's key is the last
    shown item's table and index keys (``index_keys``), which is what
    DynamoDB resumes an index Query from. Eventually consistent, as every
    index read.
    """
    wanted = limit + 1
    results = index.query(
        partition,
        scan_index_forward=False,
        limit=wanted,
        page_size=wanted,
        last_evaluated_key=start_key,
    )
    items = [item for item in results if isinstance(item, entity)]
    page = items[:limit]
    has_more = len(items) > limit
    return Page(page, key_of(page[-1], "pk", "sk", *index_keys) if has_more else None)
