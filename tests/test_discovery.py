"""``GET /movies`` sorted and filtered: the orders, their cursors, their freshness and cost.

The lists other than the plain newest-first one are kept by the stream
consumer, so each test delivers the stream (``stream.drain()``) before it
reads them, as a client would wait out the documented delay.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, User, body
from tests.helpers.discovery import GENRES, every_page, ids, label, new_movie, page, rate, url
from tests.helpers.snapshots import built_once

# name: (title, genres, release date, ratings), in the order they are made (oldest first)
CATALOGUE: dict[str, tuple[str, list[str], str | None, list[int]]] = {
    "queen": ("Queen of Girls", ["Drama"], "2001-04-25", [9, 9, 9]),  # damped 82/13 = 6.31
    "amelie": ("Amélie", ["Comedy", "Romance"], "2001-10-01", [10]),  # 65/11 = 5.91
    "spider": ("Spider-Man", ["Action"], "2002-05-03", []),
    "undated": ("Undated", ["Drama"], None, [5, 6]),  # 66/12 = 5.5, two ratings
    "later": ("Later", ["Comedy", "Drama"], "2001-04-25", [5, 6, 5, 6]),  # 77/14 = 5.5, four
    "old": ("Old Seven", [], "1999-12-31", [7]),  # 62/11 = 5.64
    "new": ("New Seven", [], None, [7]),  # 62/11 too, and newer
}
# What each list answers for the catalogue, best first.
EXPECTED: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["new", "old", "later", "undated", "spider", "amelie", "queen"]),
    ({"sort": "newest"}, ["new", "old", "later", "undated", "spider", "amelie", "queen"]),
    ({"sort": "top_rated"}, ["queen", "amelie", "new", "old", "later", "undated"]),
    ({"sort": "most_rated"}, ["later", "queen", "undated", "new", "old", "amelie"]),
    ({"sort": "release_date"}, ["spider", "amelie", "later", "queen", "old"]),
    ({"genre": "Drama"}, ["later", "undated", "queen"]),
    ({"sort": "top_rated", "genre": "Drama"}, ["queen", "later", "undated"]),
    ({"sort": "most_rated", "genre": "DRAMA"}, ["later", "queen", "undated"]),
    ({"sort": "release_date", "genre": "drama"}, ["later", "queen"]),
    ({"genre": "comedy"}, ["later", "amelie"]),
    ({"sort": "top_rated", "genre": "Comedy"}, ["amelie", "later"]),
    ({"sort": "most_rated", "genre": "Comedy"}, ["later", "amelie"]),
    ({"sort": "release_date", "genre": "Comedy"}, ["amelie", "later"]),
    ({"sort": "top_rated", "genre": "Action"}, []),
    ({"sort": "release_date", "genre": "Action"}, ["spider"]),
    ({"genre": "Western"}, []),
    ({"year": 2001}, ["later", "amelie", "queen"]),
    ({"sort": "top_rated", "year": 2001}, ["queen", "amelie", "later"]),
    ({"sort": "most_rated", "year": 2001}, ["later", "queen", "amelie"]),
    ({"sort": "release_date", "year": 2001}, ["amelie", "later", "queen"]),
    ({"sort": "top_rated", "year": 1999}, ["old"]),
    ({"sort": "most_rated", "year": 2002}, []),
    ({"sort": "release_date", "year": 2002}, ["spider"]),
    ({"year": 2100}, []),
]


@pytest.fixture
def catalogue(api: Api, make_user: Callable[[str], User], stream: StreamRunner) -> dict[str, int]:
    """The catalogue's movies, rated, with the stream delivered: name to id.

    Made through the API once per test process; later tests find its items
    put back into their fresh table (``built_once``), lists included.
    """

    def build() -> dict[str, int]:
        owner, raters = make_user("owner"), [make_user(f"rater{n}") for n in range(4)]
        made = {}
        for name, (title, genres, released, ratings) in CATALOGUE.items():
            movie = new_movie(api, owner, title, genres=genres, release_date=released)
            for rater, value in zip(raters, ratings, strict=False):
                rate(api, rater, movie["id"], value)
            made[name] = movie["id"]
        # Newest is by id, and ids are time-ordered: a create takes longer than a millisecond.
        assert list(made.values()) == sorted(made.values())
        stream.drain()
        return made

    return built_once("discovery catalogue", build)


def names(catalogue: dict[str, int], items: list[dict[str, Any]]) -> list[str]:
    by_id = {movie_id: name for name, movie_id in catalogue.items()}
    return [by_id[item["id"]] for item in items]


# ---------------------------------------------------------------- the orders


def test_each_list_answers_its_movies_in_its_order(api: Api, catalogue: dict[str, int]) -> None:
    answered = {}
    for params, _ in EXPECTED:
        answer = page(api, "/movies", {**params, "limit": 100})
        assert answer["next_cursor"] is None, params
        answered[label(params)] = names(catalogue, answer["data"])
    assert answered == {label(params): expected for params, expected in EXPECTED}


def test_list_items_show_the_movie_as_its_detail_does(api: Api, catalogue: dict[str, int]) -> None:
    [queen] = page(api, "/movies", {"sort": "top_rated", "limit": 1})["data"]
    detail = body(api.get(f"/movies/{catalogue['queen']}"))
    assert queen == {name: detail[name] for name in queen}
    assert set(queen) == {
        "id", "title", "description", "release_date", "genres", "user_id",
        "average_rating", "rating_count", "created_at", "updated_at",
    }  # fmt: skip
    assert (queen["genres"], queen["average_rating"], queen["rating_count"]) == (["Drama"], 9.0, 3)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_paging_a_list_to_its_end_gives_each_movie_once_in_order(
    api: Api, catalogue: dict[str, int], limit: int
) -> None:
    for params, expected in EXPECTED:
        pages = every_page(api, "/movies", params, limit)
        assert names(catalogue, [item for items in pages for item in items]) == expected, params
        assert all(len(items) == limit for items in pages[:-1]), params  # only the last is short
        assert pages[-1] or not expected, params  # and it holds something, unless all is empty


def test_the_plain_newest_list_keeps_its_cursor_and_offset(
    api: Api, catalogue: dict[str, int]
) -> None:
    newest = ids(page(api, "/movies", {"limit": 100})["data"])
    first = page(api, "/movies", {"limit": 2})
    second = page(api, "/movies", {"sort": "newest", "limit": 2, "cursor": first["next_cursor"]})
    assert ids(first["data"] + second["data"]) == newest[:4]
    again = page(api, "/movies", {"limit": 2, "cursor": second["next_cursor"]})
    assert ids(again["data"]) == newest[4:6]
    skipped = page(api, "/movies", {"sort": "newest", "offset": 3, "limit": 2})
    assert ids(skipped["data"]) == newest[3:5]


@pytest.mark.parametrize(
    ("issued", "used"),
    [
        ({}, {"sort": "top_rated"}),
        ({"sort": "top_rated"}, {}),
        ({"sort": "top_rated"}, {"sort": "most_rated"}),
        ({"genre": "Drama"}, {"genre": "Comedy"}),
        ({"genre": "Drama"}, {"sort": "top_rated", "genre": "Drama"}),
        ({"year": 2001}, {"year": 2002}),
        ({"year": 2001}, {}),
    ],
    ids=label,
)
def test_a_cursor_belongs_to_its_sort_and_filter(
    api: Api, catalogue: dict[str, int], issued: dict[str, Any], used: dict[str, Any]
) -> None:
    cursor = page(api, "/movies", {**issued, "limit": 1})["next_cursor"]
    assert cursor is not None
    response = api.get(url("/movies", {**used, "cursor": cursor}))
    assert response.status_code == 400
    assert body(response) == {"detail": "Cursor belongs to a different list"}


@pytest.mark.parametrize(
    ("params", "list_id"),
    [
        ({"sort": "top_rated"}, "movies:top_rated:genre=:year="),
        ({"genre": "drama"}, "movies:newest:genre=Drama:year="),
        ({"sort": "release_date", "year": 2001}, "movies:release_date:genre=:year=2001"),
    ],
    ids=["sorted", "by genre", "by year"],
)
def test_a_lists_cursors_carry_the_list_id_cursors_issued_before_carry(
    api: Api, catalogue: dict[str, int], params: dict[str, Any], list_id: str
) -> None:
    """Clients hold cursors across a deploy: a list id spelt anew would refuse them all (400)."""
    cursor = page(api, "/movies", {**params, "limit": 1})["next_cursor"]
    encoded = cursor.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert payload["l"] == list_id


def test_a_tampered_cursor_is_400(api: Api, catalogue: dict[str, int]) -> None:
    cursor = page(api, "/movies", {"sort": "top_rated", "limit": 1})["next_cursor"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    response = api.get(f"/movies?sort=top_rated&cursor={tampered}")
    assert response.status_code == 400
    assert body(response) == {"detail": "Invalid cursor"}


# ---------------------------------------------------------------- bad input

GENRE_MSG = "Input should be " + ", ".join(f"'{g}'" for g in GENRES[:-1]) + f" or '{GENRES[-1]}'"
SORT_MSG = "Input should be 'newest', 'top_rated', 'most_rated' or 'release_date'"
OFFSET_MSG = "offset pages only sort=newest without a filter; use next_cursor"


def error(kind: str, field: str, msg: str, value: str, **ctx: Any) -> dict[str, Any]:
    detail = {"type": kind, "loc": ["query", field], "msg": msg, "input": value}
    return {"detail": [detail | ({"ctx": ctx} if ctx else {})]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=best", error("literal_error", "sort", SORT_MSG, "best", expected=SORT_MSG[16:])),
        (
            "year=1700",
            error(
                "greater_than_equal",
                "year",
                "Input should be greater than or equal to 1870",
                "1700",
                ge=1870,
            ),
        ),
        (
            "year=2101",
            error(
                "less_than_equal",
                "year",
                "Input should be less than or equal to 2100",
                "2101",
                le=2100,
            ),
        ),
        (
            "year=abc",
            error(
                "int_parsing",
                "year",
                "Input should be a valid integer, unable to parse string as an integer",
                "abc",
            ),
        ),
        (
            "genre=Space%20Opera",
            error("literal_error", "genre", GENRE_MSG, "Space Opera", expected=GENRE_MSG[16:]),
        ),
        (
            "genre=drama&year=2001",
            error("filter_conflict", "year", "Filter by genre or by year, not both", "2001"),
        ),
        ("offset=5&sort=top_rated", error("offset_not_supported", "offset", OFFSET_MSG, "5")),
        ("offset=5&genre=Drama", error("offset_not_supported", "offset", OFFSET_MSG, "5")),
        ("offset=5&year=2001", error("offset_not_supported", "offset", OFFSET_MSG, "5")),
        (
            "sort=top_rated&limit=0",
            error(
                "greater_than_equal",
                "limit",
                "Input should be greater than or equal to 1",
                "0",
                ge=1,
            ),
        ),
        (
            "genre=Drama&limit=101",
            error(
                "less_than_equal",
                "limit",
                "Input should be less than or equal to 100",
                "101",
                le=100,
            ),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_bad_list_parameters_are_422_in_the_contracts_shape(
    api: Api, query: str, expected: dict[str, Any]
) -> None:
    response = api.get(f"/movies?{query}")
    assert response.status_code == 422
    assert body(response) == expected


def test_a_cursor_that_is_not_one_is_400(api: Api) -> None:
    response = api.get("/movies?sort=most_rated&cursor=not-a-cursor")
    assert response.status_code == 400
    assert body(response) == {"detail": "Invalid cursor"}
