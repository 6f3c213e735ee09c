"""A movie's genres: at most 3 of a fixed set of 19, any case in, the set's spelling out.

Names are matched ignoring case, answered in the set's spelling and
order, duplicates collapsed; anything else is a 422 in FastAPI's shape.
Seed clients, which never send ``genres``, keep working: a movie they make
has none, and an update that does not name them keeps them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.api import Api, User, body
from tests.helpers.discovery import GENRES, new_movie

NOT_A_GENRE_MSG = (
    "Input should be " + ", ".join(f"'{name}'" for name in GENRES[:-1]) + f" or '{GENRES[-1]}'"
)


def not_a_genre(index: int, value: Any) -> dict[str, Any]:
    return {
        "type": "literal_error",
        "loc": ["body", "genres", index],
        "msg": NOT_A_GENRE_MSG,
        "input": value,
        "ctx": {"expected": NOT_A_GENRE_MSG.removeprefix("Input should be ")},
    }


def create(api: Api, user: User, genres: Any) -> Any:
    return api.post("/movies", {"title": "Genred", "genres": genres}, token=user.token)


def test_genres_are_answered_in_the_sets_spelling_and_order_duplicates_collapsed(
    api: Api, alice: User
) -> None:
    movie = new_movie(api, alice, "Genred", genres=["drama", "COMEDY", "Drama", " tv movie "])
    assert movie["genres"] == ["Comedy", "Drama", "TV Movie"]
    assert body(api.get(f"/movies/{movie['id']}"))["genres"] == ["Comedy", "Drama", "TV Movie"]


def test_four_names_that_collapse_to_three_genres_are_accepted(api: Api, alice: User) -> None:
    movie = new_movie(api, alice, "Genred", genres=["War", "action", "Action", "western"])
    assert movie["genres"] == ["Action", "War", "Western"]


def test_more_than_three_distinct_genres_is_422(api: Api, alice: User) -> None:
    sent = ["western", "Drama", "war", "action"]
    response = create(api, alice, sent)
    assert response.status_code == 422
    assert body(response) == {
        "detail": [
            {
                "type": "too_long",
                "loc": ["body", "genres"],
                "msg": "List should have at most 3 genres, not 4",
                "input": sent,
                "ctx": {"max_length": 3, "actual_length": 4},
            }
        ]
    }


@pytest.mark.parametrize(
    ("genres", "errors"),
    [
        (["Space Opera"], [not_a_genre(0, "Space Opera")]),
        (["Drama", "Sci-Fi"], [not_a_genre(1, "Sci-Fi")]),
        ([1], [not_a_genre(0, 1)]),
        ([None], [not_a_genre(0, None)]),
        ([["Drama"]], [not_a_genre(0, ["Drama"])]),
    ],
    ids=["unknown", "unknown-second", "number", "null-item", "nested-list"],
)
def test_a_name_outside_the_set_is_422_at_its_index(
    api: Api, alice: User, genres: list[Any], errors: list[dict[str, Any]]
) -> None:
    response = create(api, alice, genres)
    assert response.status_code == 422
    assert body(response) == {"detail": errors}


@pytest.mark.parametrize("genres", ["Drama", {"Drama": True}, 3], ids=["string", "object", "int"])
def test_genres_that_are_not_a_list_are_422(api: Api, alice: User, genres: Any) -> None:
    response = create(api, alice, genres)
    assert response.status_code == 422
    assert body(response) == {
        "detail": [
            {
                "type": "list_type",
                "loc": ["body", "genres"],
                "msg": "Input should be a valid list",
                "input": genres,
            }
        ]
    }


def test_a_movie_made_without_genres_has_none(api: Api, alice: User) -> None:
    assert new_movie(api, alice, "Plain")["genres"] == []


@pytest.mark.parametrize("none", [None, []], ids=["null", "empty"])
def test_a_movie_made_with_null_or_empty_genres_has_none(
    api: Api, alice: User, none: list[str] | None
) -> None:
    response = create(api, alice, none)
    assert response.status_code == 201
    assert body(response)["genres"] == []


def test_a_seed_client_that_never_sends_genres_keeps_working(api: Api, alice: User) -> None:
    seed_body = {"title": "Seed", "description": "old client", "release_date": "1999-01-02"}
    created = api.post("/new_movies", seed_body, token=alice.token)
    assert created.status_code == 200, created.body
    assert body(created)["genres"] == []
    genred = new_movie(api, alice, "Genred", genres=["Horror"])
    updated = api.put(f"/movie_update/{genred['id']}", {"title": "Renamed"}, token=alice.token)
    assert updated.status_code == 200, updated.body
    assert (body(updated)["title"], body(updated)["genres"]) == ("Renamed", ["Horror"])


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_update_that_sends_genres_replaces_them(api: Api, alice: User, method: str) -> None:
    movie = new_movie(api, alice, "Genred", genres=["Horror", "Comedy"])
    response = getattr(api, method)(
        f"/movies/{movie['id']}", {"genres": ["western", "crime"]}, token=alice.token
    )
    assert response.status_code == 200, response.body
    assert body(response)["genres"] == ["Crime", "Western"]
    assert body(api.get(f"/movies/{movie['id']}"))["genres"] == ["Crime", "Western"]


@pytest.mark.parametrize("cleared", [None, []], ids=["null", "empty"])
def test_an_update_with_null_or_no_genres_clears_them(
    api: Api, alice: User, cleared: list[str] | None
) -> None:
    movie = new_movie(api, alice, "Genred", genres=["Horror"], description="kept")
    response = api.patch(f"/movies/{movie['id']}", {"genres": cleared}, token=alice.token)
    assert response.status_code == 200, response.body
    assert (body(response)["genres"], body(response)["description"]) == ([], "kept")


def test_an_update_with_bad_genres_is_422_and_changes_nothing(api: Api, alice: User) -> None:
    movie = new_movie(api, alice, "Genred", genres=["Horror"])
    response = api.patch(f"/movies/{movie['id']}", {"genres": ["Space Opera"]}, token=alice.token)
    assert response.status_code == 422
    assert body(response) == {"detail": [not_a_genre(0, "Space Opera")]}
    assert body(api.get(f"/movies/{movie['id']}"))["genres"] == ["Horror"]


def test_the_genre_list_is_the_nineteen_in_the_sets_order(api: Api) -> None:
    response = api.get("/genres")
    assert response.status_code == 200
    assert body(response) == [{"name": name} for name in GENRES]


def test_the_openapi_document_shows_the_set_as_an_enum(api: Api) -> None:
    document = body(api.get("/openapi.json"))
    schemas = document["components"]["schemas"]
    for schema in ("MoviePublic", "MovieCreate", "MovieUpdate"):
        genres = schemas[schema]["properties"]["genres"]
        arrays = [genres, *genres.get("anyOf", [])]  # MovieUpdate's may also be null
        [array] = [each for each in arrays if each.get("type") == "array"]
        assert array["items"]["enum"] == GENRES, schema
    parameters = document["paths"]["/movies"]["get"]["parameters"]
    [genre] = [parameter for parameter in parameters if parameter["name"] == "genre"]
    assert genre["schema"]["enum"] == GENRES
    assert schemas["GenrePublic"]["properties"]["name"]["enum"] == GENRES
