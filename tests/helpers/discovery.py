"""Discovery through the API: movies with genres and dates, and lists read page by page.

Shared by the discovery specification (``test_genres``, ``test_discovery``,
``test_search``) and its property test, which read every list and search
the way a client does: following ``next_cursor`` to the end.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from tests.helpers.api import Api, User, body

Params = dict[str, Any]
# The contract's genre set, written out here rather than imported: the tests say what they expect.
GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "History",
    "Horror",
    "Music",
    "Mystery",
    "Romance",
    "Science Fiction",
    "TV Movie",
    "Thriller",
    "War",
    "Western",
]
SORTS = ["newest", "top_rated", "most_rated", "release_date"]
MAX_PAGES = 200  # more pages than any list in these tests has: a cursor that loops is caught


def url(path: str, params: Params) -> str:
    """``path`` with ``params`` as its query string (spaces as ``%20``, not ``+``)."""
    return f"{path}?{urlencode(params, quote_via=quote)}" if params else path


def new_movie(api: Api, owner: User, title: str, **fields: Any) -> dict[str, Any]:
    """``owner``'s movie, made through ``POST /movies``: what it answered."""
    response = api.post("/movies", {"title": title, **fields}, token=owner.token)
    assert response.status_code == 201, response.body
    return body(response)  # type: ignore[no-any-return]


def rate(api: Api, user: User, movie_id: int, value: int) -> None:
    response = api.post(f"/movies/{movie_id}/ratings", {"rating": value}, token=user.token)
    assert response.status_code == 200, response.body


def unrate(api: Api, user: User, movie_id: int) -> None:
    response = api.delete(f"/movies/{movie_id}/ratings", token=user.token)
    assert response.status_code == 204, response.body


def page(api: Api, path: str, params: Params) -> dict[str, Any]:
    """One page of a list or search (200 asserted): the envelope."""
    response = api.get(url(path, params))
    assert response.status_code == 200, response.body
    answer: dict[str, Any] = body(response)
    assert answer["message"] == "success"
    return answer


def every_page(api: Api, path: str, params: Params, limit: int) -> list[list[dict[str, Any]]]:
    """Every page of a list or search, ``limit`` at a time, following ``next_cursor`` to the end.

    No page is longer than ``limit``, and only the last one has no cursor.
    """
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        paging = {"limit": limit, "cursor": cursor} if cursor else {"limit": limit}
        answer = page(api, path, {**params, **paging})
        assert len(answer["data"]) <= limit
        pages.append(answer["data"])
        cursor = answer["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError(f"{path} {params}: still a next_cursor after {MAX_PAGES} pages")


def all_items(api: Api, path: str, params: Params, limit: int) -> list[dict[str, Any]]:
    """Every item of a list or search, in order, read ``limit`` at a time."""
    return [item for items in every_page(api, path, params, limit) for item in items]


def label(params: Params) -> str:
    """A list's name in test ids and messages: its parameters, or ``plain``."""
    return " ".join(f"{name}={value}" for name, value in params.items()) or "plain"


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]
