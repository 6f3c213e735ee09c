"""Discovery and search: the genre set, the sorted and filtered lists' query, search's query."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from chalicelib import discovery
from chalicelib.schemas import RequestModel, ResponseModel
from chalicelib.schemas.movies import Genre, GenreName
from chalicelib.schemas.pages import DIGITS_ONLY, Cursor, Limit, Offset

Sort = Literal["newest", "top_rated", "most_rated", "release_date"]
Year = Annotated[int, Field(ge=1870, le=2100), DIGITS_ONLY]
MAX_QUERY_CHARS = 100


class MovieListQuery(RequestModel):
    """``GET /movies``: a sort, a genre or a year, and a page.

    ``offset`` (for seed clients) pages only the plain newest-first list; a
    cursor pages every list, at the same cost whatever its depth.
    """

    sort: Sort = "newest"
    genre: Genre | None = None
    year: Year | None = None
    offset: Offset = 0
    limit: Limit = 10
    cursor: Cursor = None

    @field_validator("year")
    @classmethod
    def _genre_or_year(cls, year: int | None, info: ValidationInfo) -> int | None:
        if year is not None and info.data.get("genre") is not None:
            raise PydanticCustomError("filter_conflict", "Filter by genre or by year, not both")
        return year

    @field_validator("offset")
    @classmethod
    def _offset_on_plain_newest(cls, offset: int, info: ValidationInfo) -> int:
        filtered = info.data.get("genre") is not None or info.data.get("year") is not None
        if offset and (info.data.get("sort", "newest") != "newest" or filtered):
            raise PydanticCustomError(
                "offset_not_supported",
                "offset pages only sort=newest without a filter; use next_cursor",
            )
        return offset

    @property
    def plain(self) -> bool:
        """The seed's list: newest first, no filter."""
        return self.sort == "newest" and self.genre is None and self.year is None


class SearchQuery(RequestModel):
    """``GET /movies/search``: words that begin words of the title, and a page."""

    q: Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS)]
    limit: Limit = 10
    cursor: Cursor = None

    @field_validator("q")
    @classmethod
    def _has_a_word(cls, q: str) -> str:
        if not discovery.words(q):
            raise PydanticCustomError(
                "no_words", "Query should contain at least one word (letters or digits)"
            )
        return q

    @property
    def words(self) -> list[str]:
        """The query's words as search compares them, each once."""
        return list(dict.fromkeys(discovery.words(self.q)))


class GenrePublic(ResponseModel):
    name: GenreName
