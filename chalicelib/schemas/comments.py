"""Comments: threads of replies at any depth."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from chalicelib.schemas import RequestModel, ResponseModel, Timestamp

CommentText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=2000),
    # For the docs: at least two characters once stripped.
    Field(json_schema_extra={"pattern": r"\S[\s\S]*\S"}),
]


class CommentCreate(RequestModel):
    """A new comment or reply; author, movie and parent come from the token and path."""

    comment_text: CommentText


class CommentUpdate(RequestModel):
    """An edit: only the text changes."""

    comment_text: CommentText


class CommentPublic(ResponseModel):
    id: int
    movie_id: int
    user_id: int | None
    parent_comment_id: int | None
    comment_text: str
    created_at: Timestamp
    updated_at: Timestamp
    deleted: bool = False
    replies: list[CommentPublic] = Field(default_factory=list)
