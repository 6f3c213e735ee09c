"""Query parameters shared by every paginated list."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib.schemas import RequestModel

MAX_LIMIT = 100
MAX_OFFSET = 10_000

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Cursor = Annotated[str | None, Field(default=None, min_length=1, max_length=2048)]


class OffsetPage(RequestModel):
    """``offset``/``limit`` for seed clients; ``cursor`` is the scalable way.

    ``offset`` costs reading the rows it skips, so it is capped; a cursor
    costs one page whatever its depth.
    """

    offset: Offset = 0
    limit: Limit = 10
    cursor: Cursor = None


class SkipPage(RequestModel):
    """The seed's ``skip``/``limit`` (same meaning as ``offset``), or a cursor."""

    skip: Offset = 0
    limit: Limit = 10
    cursor: Cursor = None


class CursorPage(RequestModel):
    """``limit`` and ``cursor`` only: a list that has no ``offset`` (nor ``skip``).

    Like any query parameter a route does not take, an ``offset`` or ``skip``
    sent is ignored: the first page is answered.
    """

    limit: Limit = 10
    cursor: Cursor = None
