"""Movies: the seed's shapes, plus the rating counters and a cursor."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

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


class MovieCreate(RequestModel):
    title: Title
    description: Description | None = None
    release_date: dt.date | None = None


class MovieUpdate(RequestModel):
    """Only the fields sent change; ``null`` clears an optional field."""

    title: Annotated[Title | None, NOT_NULL] = None
    description: Description | None = None
    release_date: dt.date | None = None

    def changes(self) -> dict[str, Any]:
        return sent_fields(self, not_null=["title"])


class MoviePublic(ResponseModel):
    id: int
    title: str
    description: str | None
    release_date: dt.date | None
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
