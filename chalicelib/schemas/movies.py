"""Movies: the seed's shapes, plus the rating counters and a cursor."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from chalicelib import discovery
from chalicelib.schemas import (
    NOT_BLANK,
    NOT_NULL,
    RequestModel,
    ResponseModel,
    Timestamp,
    sent_fields,
)
from chalicelib.schemas.comments import CommentPublic
from chalicelib.schemas.ratings import RatingPublic

Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]
Description = Annotated[str, StringConstraints(max_length=5000)]
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_FORMAT = "Input should be a valid date in the format YYYY-MM-DD"


def _iso_date_only(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` goes on to pydantic's date parsing.

    On its own pydantic also takes numbers and numeric strings as Unix
    timestamps (``0`` is 1970-01-01) and datetimes at midnight.
    """
    if value is None or isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("date_type", _DATE_FORMAT)
    if not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_from_datetime_parsing", _DATE_FORMAT)
    return value


ReleaseDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]


def _canonical_genre(value: Any) -> Any:
    """A genre name in any case is the set's spelling; anything else goes on to be refused."""
    if isinstance(value, str):
        return discovery.canonical_genre(value) or value
    return value


def _at_most_three(names: list[str]) -> list[str]:
    ordered = discovery.in_set_order(names)
    if len(ordered) > discovery.MAX_GENRES:
        raise PydanticCustomError(
            "too_long",
            "List should have at most {max_length} genres, not {actual_length}",
            {"max_length": discovery.MAX_GENRES, "actual_length": len(ordered)},
        )
    return ordered


GenreName = Literal[discovery.GENRES]  # type: ignore[valid-type]
Genre = Annotated[GenreName, BeforeValidator(_canonical_genre)]
"""One name of the genre set, matched ignoring case, answered in the set's spelling."""
# Sent: at most 3 distinct names (duplicates collapse first, so the document's bound is
# the raw list's); stored and answered in the set's order. The raw bound keeps a hostile
# body from making pydantic walk a huge list.
Genres = Annotated[
    list[Genre],
    Field(
        max_length=20,
        description="At most 3 distinct names of the set, in any case; answered in the "
        "set's spelling and order, duplicates collapsed.",
    ),
    AfterValidator(_at_most_three),
]


class MovieCreate(RequestModel):
    title: Title
    description: Description | None = None
    release_date: ReleaseDate | None = None
    genres: Genres | None = None  # absent, ``null`` or ``[]``: none


class MovieUpdate(RequestModel):
    """Only the fields sent change; ``null`` clears an optional field."""

    title: Annotated[Title | None, NOT_NULL] = None
    description: Description | None = None
    release_date: ReleaseDate | None = None
    genres: Genres | None = None  # ``null`` clears them, like ``[]``

    def changes(self) -> dict[str, Any]:
        changes = sent_fields(self, not_null=["title"])
        if "genres" in changes and changes["genres"] is None:
            changes["genres"] = []
        return changes


class MoviePublic(ResponseModel):
    id: int
    title: str
    description: str | None
    release_date: dt.date | None
    genres: list[GenreName] = Field(default_factory=list)
    user_id: int
    average_rating: float | None
    rating_count: int
    created_at: Timestamp
    updated_at: Timestamp


class MovieDetail(MoviePublic):
    """A movie with its first page of comment threads and its newest ratings."""

    comments: list[CommentPublic] = Field(default_factory=list)
    ratings: list[RatingPublic] = Field(default_factory=list)
    next_comments_cursor: str | None = None
    next_ratings_cursor: str | None = None


class MovieList(ResponseModel):
    message: Literal["success"] = "success"
    data: list[MoviePublic]
    next_cursor: str | None


class DeletedMovie(ResponseModel):
    id: int
    title: str
    description: str | None
    release_date: dt.date | None
    user_id: int


class MovieDeleted(ResponseModel):
    message: Literal["success"] = "success"
    data: DeletedMovie
