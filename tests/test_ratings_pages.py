"""A movie's ratings in pages: by user id, by cursor (``Link``, ``X-Next-Cursor``) or skip."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.storage.table import MovieItem
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.ratings import MovieId, create_movie, listed, rated
from tests.helpers.snapshots import table_items


def test_cursor_pages_see_every_rating_once_in_user_id_order(
    api: Api, movie_id: MovieId, raters: list[User]
) -> None:
    for user in reversed(raters):
        rated(api, user, movie_id, 5)
    rated(api, raters[1], movie_id, 6)
    by_user = sorted(user.id for user in raters)
    seen: list[int] = []
    path = f"/movies/{movie_id}/ratings?limit=2"
    pages = 0
    while path:
        response = api.get(path)
        assert response.status_code == 200
        seen += [r["user_id"] for r in body(response)]
        pages += 1
        path = next_page_path(response)
    assert seen == by_user
    assert pages == 3


def next_page_path(response: Any) -> str:
    """The ``rel="next"`` target of the ``Link`` header, checked against ``X-Next-Cursor``."""
    link = response.headers.get("Link")
    cursor = response.headers.get("X-Next-Cursor")
    if link is None:
        assert cursor is None
        return ""
    match = re.fullmatch(r'<(/movies/\d+/ratings\?limit=\d+&cursor=([^>]+))>; rel="next"', link)
    assert match is not None, link
    assert match.group(2) == cursor
    return match.group(1)


def test_skip_pages_match_the_full_list(api: Api, movie_id: MovieId, raters: list[User]) -> None:
    for user in raters:
        rated(api, user, movie_id, 5)
    everything = listed(api, movie_id)
    assert listed(api, movie_id, "skip=1&limit=2") == everything[1:3]
    assert listed(api, movie_id, "skip=4&limit=2") == everything[4:]
    assert listed(api, movie_id, "skip=5") == []
    last = api.get(f"/movies/{movie_id}/ratings?skip=3&limit=2")
    assert "X-Next-Cursor" not in last.headers
    middle = api.get(f"/movies/{movie_id}/ratings?skip=1&limit=2")
    assert body(api.get(next_page_path(middle))) == everything[3:5]


def test_a_movie_without_ratings_lists_nothing(api: Api, movie_id: MovieId) -> None:
    response = api.get(f"/movies/{movie_id}/ratings")
    assert response.status_code == 200
    assert body(response) == []
    assert "Link" not in response.headers


@pytest.mark.parametrize(
    ("query", "loc", "error_type"),
    [
        ("limit=0", ["query", "limit"], "greater_than_equal"),
        ("limit=101", ["query", "limit"], "less_than_equal"),
        ("skip=-1", ["query", "skip"], "greater_than_equal"),
        ("limit=ten", ["query", "limit"], "int_parsing"),
    ],
)
def test_bad_paging_parameters_are_422(
    api: Api, movie_id: MovieId, query: str, loc: list[str], error_type: str
) -> None:
    response = api.get(f"/movies/{movie_id}/ratings?{query}")
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in body(response)["detail"]] == [(loc, error_type)]


def test_a_page_after_a_cursor_of_a_movie_deleted_since_is_404(
    api: Api, movie_id: MovieId, alice: User, raters: list[User], dynamodb_calls: CallCounter
) -> None:
    for user in raters[:3]:
        rated(api, user, movie_id, 5)
    cursor = api.get(f"/movies/{movie_id}/ratings?limit=1").headers["X-Next-Cursor"]
    next_page = f"/movies/{movie_id}/ratings?limit=1&cursor={cursor}"
    assert len(body(api.get(next_page))) == 1
    assert api.delete(f"/movies/{movie_id}", token=alice.token).status_code == 204

    dynamodb_calls.reset()
    response = api.get(next_page)

    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found"}
    assert dynamodb_calls.calls == {"Query": 1, "GetItem": 1}  # sent at once
    # The ratings are still there (the stream has not run): only the check tells.
    partition = MovieItem.partition(movie_id)
    assert sum(1 for pk, sk in table_items() if pk == partition and "#U#" in sk) == 3
    assert api.get(f"/movies/{movie_id}/ratings").status_code == 404


def test_a_tampered_cursor_is_400(api: Api, movie_id: MovieId, raters: list[User]) -> None:
    for user in raters[:3]:
        rated(api, user, movie_id, 5)
    cursor = api.get(f"/movies/{movie_id}/ratings?limit=1").headers["X-Next-Cursor"]
    payload, signature = cursor.split(".")
    forged = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    for bad in (forged, "not-a-cursor", f"{payload}.{signature[::-1]}"):
        response = api.get(f"/movies/{movie_id}/ratings?cursor={bad}")
        assert response.status_code == 400
        assert body(response) == {"detail": "Invalid cursor"}


def test_a_cursor_from_another_movie_is_400(
    api: Api, movie_id: MovieId, alice: User, raters: list[User]
) -> None:
    other = create_movie(api, alice)
    for user in raters[:2]:
        rated(api, user, other, 5)
    cursor = api.get(f"/movies/{other}/ratings?limit=1").headers["X-Next-Cursor"]
    response = api.get(f"/movies/{movie_id}/ratings?cursor={cursor}")
    assert response.status_code == 400
    assert body(response) == {"detail": "Cursor belongs to a different list"}
