"""Query parameters shared by every paginated list."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from chalicelib.schemas import RequestModel

MAX_LIMIT = 100
MAX_OFFSET = 10_000
DECIMAL = re.compile(r"-?[0-9]+")


def decimal_digits(value: object) -> object:
    """A query string's integer as decimal digits (and a sign), nothing else.

    Python's ``int`` (and so pydantic's) also takes ``1_000``, ``10.0`` and
    surrounding spaces. Refusing them means the number the app reads is
    the one anything in front of it reads: the web ACL's deep-page rule
    counts ``offset``s of three digits or more, which ``1_0_0_0_0`` would
    have passed unseen as 10,000.
    """
    if isinstance(value, str) and not DECIMAL.fullmatch(value):
        raise PydanticCustomError(
            "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
        )
    return value


# After the bounds: a validator before them would keep them out of the JSON schema
# (pydantic would write ``ge``/``le`` instead of ``minimum``/``maximum``).
DIGITS_ONLY = BeforeValidator(decimal_digits)
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT), DIGITS_ONLY]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET), DIGITS_ONLY]
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
