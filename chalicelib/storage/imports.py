"""Items for data that already exists elsewhere (``make migrate-seed``).

The items are built by the same functions the API writes through
(``UserItem.new``, ``UsernameItem.new`` and ``EmailItem.new``,
``movies.new_movie_items`` (the movie and its counter shards),
``RatingItem.new``, ``CommentItem.new`` and ``CommentRefItem.new``), so
an imported movie is stored exactly as one entered through the API, with
its derived data computed from the whole import instead of being counted
up one request at a time: the counter shards by ``ratings.count_existing``
(each rating on its user's shard), the movie item's copy of them by
``changes.set_copy`` (what the stream's recount writes), reply counts and
thread paths from the plan.

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
from typing import Any, ClassVar

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.storage import listings
from chalicelib.storage.changes import set_copy
from chalicelib.storage.movies import new_movie_items
from chalicelib.storage.ratings import count_existing
from chalicelib.storage.table import (
    CommentItem,
    CommentRefItem,
    EmailItem,
    IntegerAttribute,
    RatingItem,
    TableItem,
    UserItem,
    UsernameItem,
)


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


def user_items(user: ImportedUser) -> tuple[UserItem, UsernameItem, EmailItem]:
    """The profile and its two claims, as signup writes them."""
    fields = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone_number": user.phone_number,
    }
    profile = UserItem.new(
        user.id,
        fields,
        user.password_hash,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )
    names = (user.username, user.email)
    username = UsernameItem.new(user.username, user.id, user.password_hash, names)
    email = EmailItem.new(user.email, user.id, user.password_hash, names)
    return profile, username, email


def movie_items(movie: ImportedMovie, kept: Sequence[ImportedRating]) -> list[TableItem]:
    """The movie, its counter shards and its list entries, as the API would have left them.

    ``kept`` (every rating of the movie the import keeps) is added to the
    shards as each user's first rating would have been
    (``ratings.count_existing``), and the movie item carries the copy of
    their sums that the stream consumer's recount would write, with the
    same version: the lists show the counters at once, and the first
    recount after a real rating change overwrites it. Its list entries are
    the ones the stream consumer would write (``listings.entries_for``), so
    the migrated movies are in every ranked list and search at once, with or
    without a stream consumer running.
    """
    fields: dict[str, Any] = {
        "title": movie.title,
        "description": movie.description,
        "release_date": movie.release_date,
        "genres": [],  # the original project had none
    }
    item, shards = new_movie_items(movie.id, movie.user_id, fields)
    item.created_at, item.updated_at = movie.created_at, movie.updated_at
    counted = count_existing(shards, [rating_item(rating) for rating in kept])
    set_copy(item, counted)
    return [item, *shards, *listings.entries_for(item)]


def rating_item(rating: ImportedRating) -> RatingItem:
    item = RatingItem.new(rating.movie_id, rating.user_id, rating.rating, rating.id)
    item.created_at, item.updated_at = rating.created_at, rating.updated_at
    return item


def comment_items(comment: ImportedComment) -> list[TableItem]:
    """The comment at its place in the thread, with its replies counted, and its ref."""
    item = CommentItem.new(
        comment.movie_id,
        list(comment.ancestors),
        comment.id,
        comment.user_id,
        comment.comment_text,
    )
    item.created_at, item.updated_at = comment.created_at, comment.updated_at
    item.reply_count = comment.reply_count
    return [item, CommentRefItem.new(item)]
