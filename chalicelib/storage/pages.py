"""Pages of Query results and the keys that resume them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chalicelib.storage.table import MovieItem, TableItem

T = TypeVar("T")

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
