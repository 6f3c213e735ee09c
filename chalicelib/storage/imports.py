"""Items for data that already exists elsewhere (``make migrate-seed``).

The items are built by the same functions the API writes through
(``users.user_item``/``claim_item``, ``MovieItem.new``, ``ratings.rating_item``,
``comments.comment_item``/``ref_item``), so an imported movie is stored
exactly as one entered through the API, with its derived data (rating
counters, reply counts, the thread paths) computed from the whole import
instead of being counted up one request at a time.

They are complete items, so putting one twice leaves it as putting it once
did, which is what makes an import resumable. The bulk writes themselves
(BatchWriteItem, a Scan, DescribeTable) are the operator's tool's, in
``devtools.migrate.store``: no deployed function is allowed them.

The import's own state (``ImportStateItem``, ``IMPORT#<name>``/``STATE``)
records what the source looked like, when the import began (the time
given to rows that have none) and how far each phase has got.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.storage.comments import comment_item, ref_item
from chalicelib.storage.ratings import rating_item
from chalicelib.storage.table import (
    EmailItem,
    IntegerAttribute,
    MovieItem,
    TableItem,
    UserItem,
    UsernameItem,
)
from chalicelib.storage.users import claim_item, user_item


@dataclass(frozen=True)
class ImportedUser:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    phone_number: str
    password_hash: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class ImportedMovie:
    id: int
    user_id: int
    title: str
    description: str | None
    release_date: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class ImportedRating:
    id: int
    movie_id: int
    user_id: int
    rating: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class ImportedComment:
    """``ancestors`` is the path from the thread's root down to the parent."""

    id: int
    movie_id: int
    ancestors: tuple[int, ...]
    user_id: int | None
    comment_text: str
    created_at: dt.datetime
    updated_at: dt.datetime
    reply_count: int


class ImportStateItem(TableItem, discriminator="import_state"):
    """How far an import has got: ``pk = IMPORT#<name>``, ``sk = STATE``."""

    fingerprint = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    rows = IntegerAttribute(default=0)
    users_done = IntegerAttribute(default=0)
    movies_done = IntegerAttribute(default=0)
    ratings_done = IntegerAttribute(default=0)
    comments_done = IntegerAttribute(default=0)

    SK: ClassVar[str] = "STATE"
    PHASES: ClassVar[tuple[str, ...]] = ("users", "movies", "ratings", "comments")

    @classmethod
    def key(cls, name: str) -> tuple[str, str]:
        return f"IMPORT#{name}", cls.SK

    def done_in(self, phase: str) -> int:
        """How many of ``phase``'s items, in the import's order, are written for sure."""
        return int(getattr(self, progress_attribute(phase)) or 0)


def progress_attribute(phase: str) -> str:
    if phase not in ImportStateItem.PHASES:
        raise ValueError(f"unknown import phase {phase!r}")
    return f"{phase}_done"


# ---------------------------------------------------------------- items


def user_items(user: ImportedUser) -> tuple[UserItem, TableItem, TableItem]:
    """The profile and its two claims, as signup writes them."""
    fields = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone_number": user.phone_number,
    }
    profile = user_item(
        user.id,
        fields,
        user.password_hash,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )
    names = (user.username, user.email)
    username = claim_item(UsernameItem, user.username, user.id, user.password_hash, names)
    email = claim_item(EmailItem, user.email, user.id, user.password_hash, names)
    return profile, username, email


def movie_items(movie: ImportedMovie, ratings: Sequence[int]) -> list[TableItem]:
    """The movie with its rating counters for ``ratings`` (every value it keeps)."""
    item = MovieItem.new(
        movie.id,
        movie.user_id,
        title=movie.title,
        description=movie.description,
        release_date=movie.release_date.isoformat() if movie.release_date else None,
    )
    item.created_at, item.updated_at = movie.created_at, movie.updated_at
    item.rating_count, item.rating_sum = len(ratings), sum(ratings)
    return [item]


def rating_items(rating: ImportedRating) -> list[TableItem]:
    return [
        rating_item(
            rating.id,
            rating.movie_id,
            rating.user_id,
            rating.rating,
            created_at=rating.created_at,
            updated_at=rating.updated_at,
        )
    ]


def comment_items(comment: ImportedComment) -> list[TableItem]:
    """The comment at its place in the thread, and its ref."""
    item = comment_item(
        comment.movie_id,
        list(comment.ancestors),
        comment.id,
        comment.user_id,
        comment.comment_text,
        created_at=comment.created_at,
        updated_at=comment.updated_at,
        reply_count=comment.reply_count,
    )
    return [item, ref_item(item)]
