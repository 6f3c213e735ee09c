"""Movies: the seed's paths, the REST aliases, ownership and pagination."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from chalicelib.storage.table import COUNTER_SHARDS, CounterShardItem, MovieItem, TableItem
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.table import app_hook

BAD_DATE = "date_from_datetime_parsing"
MOVIE = {"title": "King of boys", "description": "Drama", "release_date": "2018-04-24"}


def create(api: Api, user: User, **fields: Any) -> dict[str, Any]:
    response = api.post("/movies", {**MOVIE, **fields}, token=user.token)
    assert response.status_code == 201, response.body
    return body(response)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- create


def test_create_movie_seed_path(api: Api, alice: User) -> None:
    response = api.post("/new_movies", MOVIE, token=alice.token)
    data = body(response)
    assert response.status_code == 200
    assert {k: data[k] for k in MOVIE} == MOVIE
    assert data["user_id"] == alice.id
    assert data["average_rating"] is None
    assert data["rating_count"] == 0
    assert 0 < data["id"] < 2**53
    assert data["created_at"] == data["updated_at"]


def test_create_movie_rest_path_is_201_with_location(api: Api, alice: User) -> None:
    response = api.post("/movies", MOVIE, token=alice.token)
    assert response.status_code == 201
    assert response.headers["Location"] == f"/movies/{body(response)['id']}"


def test_create_movie_needs_only_a_title(api: Api, alice: User) -> None:
    response = api.post("/new_movies", {"title": "  Solo  "}, token=alice.token)
    data = body(response)
    assert response.status_code == 200
    assert (data["title"], data["description"], data["release_date"]) == ("Solo", None, None)


def test_create_movie_ignores_fields_the_client_must_not_set(
    api: Api, alice: User, bob: User
) -> None:
    payload = {**MOVIE, "id": 7, "user_id": bob.id, "rating_count": 99, "average_rating": 10}
    data = body(api.post("/new_movies", payload, token=alice.token))
    assert data["id"] != 7
    assert (data["user_id"], data["rating_count"], data["average_rating"]) == (alice.id, 0, None)


@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        ({}, ["body", "title"], "missing"),
        ({"title": "   "}, ["body", "title"], "string_too_short"),
        ({"title": "x" * 201}, ["body", "title"], "string_too_long"),
        ({"title": 5}, ["body", "title"], "string_type"),
        ({"title": "ok", "description": "x" * 5001}, ["body", "description"], "string_too_long"),
        (
            {"title": "ok", "release_date": "24/04/2018"},
            ["body", "release_date"],
            "date_from_datetime_parsing",
        ),
        (
            {"title": "ok", "release_date": "2018-02-30"},
            ["body", "release_date"],
            "date_from_datetime_parsing",
        ),
    ],
)
def test_create_movie_validation(
    api: Api, alice: User, payload: dict[str, Any], loc: list[str], error_type: str
) -> None:
    response = api.post("/new_movies", payload, token=alice.token)
    assert response.status_code == 422
    errors = body(response)["detail"]
    assert [(e["loc"], e["type"]) for e in errors] == [(loc, error_type)]


def test_create_movie_requires_a_token(api: Api) -> None:
    response = api.post("/new_movies", MOVIE)
    assert response.status_code == 401
    assert body(response) == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


# ---------------------------------------------------------------- update


@pytest.mark.parametrize(
    ("payload", "expected_status"),
    [
        ({"title": "Updated Title", "description": "Updated", "release_date": "2024-08-01"}, 200),
        ({"title": "Updated Title"}, 200),
        ({"title": ""}, 422),
    ],
)
def test_update_movie_seed_cases(
    api: Api, alice: User, payload: dict[str, Any], expected_status: int
) -> None:
    movie = create(api, alice)
    response = api.put(f"/movie_update/{movie['id']}", payload, token=alice.token)
    assert response.status_code == expected_status
    if expected_status == 200:
        data = body(response)
        assert {k: data[k] for k in payload} == payload
    else:
        assert body(response)["detail"][0]["loc"] == ["body", "title"]


def test_update_unknown_movie_is_404(api: Api, alice: User) -> None:
    response = api.put("/movie_update/9999", {"title": "Updated Title"}, token=alice.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found"}


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_partial_update_changes_only_what_was_sent(api: Api, alice: User, method: str) -> None:
    movie = create(api, alice)
    response = api.request(
        method, f"/movies/{movie['id']}", {"description": None}, token=alice.token
    )
    data = body(response)
    assert response.status_code == 200
    assert data["title"] == movie["title"]
    assert data["release_date"] == movie["release_date"]
    assert data["description"] is None
    assert data["updated_at"] > movie["updated_at"]


def test_title_cannot_be_cleared(api: Api, alice: User) -> None:
    movie = create(api, alice)
    response = api.patch(f"/movies/{movie['id']}", {"title": None}, token=alice.token)
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == ["body", "title"]


def test_only_the_owner_may_update_and_nothing_changes_otherwise(
    api: Api, alice: User, bob: User
) -> None:
    movie = create(api, alice)
    for path in (f"/movie_update/{movie['id']}", f"/movies/{movie['id']}"):
        response = api.put(path, {"title": "Hijacked"}, token=bob.token)
        assert response.status_code == 403
        assert body(response) == {"detail": "Not authorized to modify this movie"}
    assert body(api.get(f"/movies/{movie['id']}"))["title"] == MOVIE["title"]


@pytest.mark.parametrize("raw_id", ["abc", "0", "-1", "9007199254740993", "1.5"])
def test_bad_movie_ids_are_422_on_the_path(api: Api, alice: User, raw_id: str) -> None:
    response = api.put(f"/movies/{raw_id}", {"title": "x"}, token=alice.token)
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == ["path", "movie_id"]


# ---------------------------------------------------------------- delete


def test_delete_movie_seed_path_returns_the_deleted_movie(api: Api, alice: User) -> None:
    movie = create(api, alice)
    response = api.delete(f"/movie_delete/{movie['id']}", token=alice.token)
    assert response.status_code == 200
    assert body(response) == {
        "message": "success",
        "data": {
            "id": movie["id"],
            "title": movie["title"],
            "description": movie["description"],
            "release_date": movie["release_date"],
            "user_id": alice.id,
        },
    }
    missing = api.get(f"/movie/{movie['id']}")
    assert missing.status_code == 404
    assert body(missing) == {"detail": "Movie not found!"}


def test_delete_movie_rest_path_is_204(api: Api, alice: User) -> None:
    movie = create(api, alice)
    response = api.delete(f"/movies/{movie['id']}", token=alice.token)
    assert response.status_code == 204
    assert response.body == b""
    again = api.delete(f"/movies/{movie['id']}", token=alice.token)
    assert again.status_code == 404
    assert body(again) == {"detail": "Movie not found"}


def test_only_the_owner_may_delete(api: Api, alice: User, bob: User) -> None:
    movie = create(api, alice)
    for path in (f"/movie_delete/{movie['id']}", f"/movies/{movie['id']}"):
        response = api.delete(path, token=bob.token)
        assert response.status_code == 403
        assert body(response) == {"detail": "Not authorized to modify this movie"}
    assert api.get(f"/movies/{movie['id']}").status_code == 200


# ---------------------------------------------------------------- read


def test_get_movie_by_id_on_both_paths(api: Api, alice: User) -> None:
    movie = create(api, alice)
    for path in (f"/movie/{movie['id']}", f"/movies/{movie['id']}", f"/movie/{movie['id']}/"):
        response = api.get(path)
        assert response.status_code == 200
        data = body(response)
        assert {k: data[k] for k in movie} == movie
        assert data["comments"] == []
        assert data["ratings"] == []


def test_get_unknown_movie_keeps_the_seed_message(api: Api) -> None:
    for path in ("/movie/9999", "/movies/9999"):
        response = api.get(path)
        assert response.status_code == 404
        assert body(response) == {"detail": "Movie not found!"}


# ---------------------------------------------------------------- lists


def test_list_movies_seed_offsets(api: Api, alice: User) -> None:
    made = [create(api, alice, title=f"Movie {n}") for n in range(3)]
    newest_first = [m["id"] for m in reversed(made)]
    for offset, expected in ((0, newest_first), (1, newest_first[1:]), (1000, [])):
        response = api.get(f"/movies?offset={offset}&limit=10")
        data = body(response)
        assert response.status_code == 200
        assert data["message"] == "success"
        assert [m["id"] for m in data["data"]] == expected
        assert data["next_cursor"] is None


def test_list_movies_with_a_trailing_slash(api: Api, alice: User) -> None:
    create(api, alice)
    response = api.get("/movies/")
    assert response.status_code == 200
    assert len(body(response)["data"]) == 1


def scan_movies() -> list[MovieItem]:
    return [item for item in TableItem.scan(consistent_read=True) if isinstance(item, MovieItem)]


def test_the_all_movies_list_is_merged_from_its_shards_newest_first_on_every_page(
    api: Api, alice: User, dynamodb_calls: CallCounter
) -> None:
    made = [create(api, alice, title=f"Movie {n}")["id"] for n in range(5)]
    while len(made) < 9 or len(set(Counter(m.gsi1pk for m in scan_movies()))) < 2:
        made.append(create(api, alice, title=f"Movie {len(made)}")["id"])  # ids are random
    newest_first = list(reversed(made))
    for limit in (1, 2, 4, 9, 10):
        seen: list[int] = []
        path = f"/movies?limit={limit}"
        while path:
            dynamodb_calls.reset()
            data = body(api.get(path))
            shown = len(data["data"])
            assert (
                dynamodb_calls.calls == Counter({"Query": 2})
                or shown == 0
                or (
                    dynamodb_calls.calls == Counter({"Query": 1})  # the other shard had ended
                )
            )
            assert dynamodb_calls.items_read <= 2 * shown + 2, (limit, shown)
            seen += [m["id"] for m in data["data"]]
            cursor = data["next_cursor"]
            path = f"/movies?limit={limit}&cursor={cursor}" if cursor else ""
        assert seen == newest_first, limit
    for offset in range(len(made) + 1):
        data = body(api.get(f"/movies?offset={offset}&limit=3"))
        assert [m["id"] for m in data["data"]] == newest_first[offset : offset + 3]
        if offset + 3 < len(made):
            rest = body(api.get(f"/movies?limit=10&cursor={data['next_cursor']}"))["data"]
            assert [m["id"] for m in rest] == newest_first[offset + 3 :]
        else:
            assert data["next_cursor"] is None


def test_a_movie_is_created_and_deleted_with_its_counter_shards_in_one_call(
    api: Api, alice: User, dynamodb_calls: CallCounter
) -> None:
    dynamodb_calls.reset()
    movie = create(api, alice)
    assert dynamodb_calls.calls == Counter({"TransactWriteItems": 1})
    partition = MovieItem.partition(movie["id"])
    stored = list(TableItem.query(partition, consistent_read=True))
    shards = [item for item in stored if isinstance(item, CounterShardItem)]
    assert [shard.sk for shard in shards] == [f"RATING#C#{n:02d}" for n in range(COUNTER_SHARDS)]
    assert {(s.rating_count, s.rating_sum, s.changes) for s in shards} == {(0, 0, 0)}
    dynamodb_calls.reset()
    assert api.delete(f"/movies/{movie['id']}", token=alice.token).status_code == 204
    assert dynamodb_calls.calls == Counter({"TransactWriteItems": 1})
    assert list(TableItem.query(partition, consistent_read=True)) == []


def test_the_seed_delete_answers_the_movie_as_it_was_when_deleted(api: Api, alice: User) -> None:
    """An update between the delete's read and its write starts the delete again."""
    movie = create(api, alice)
    renamed: list[Any] = []

    def rename_first(**_: Any) -> None:
        if not renamed:
            patch = api.patch(f"/movies/{movie['id']}", {"title": "Renamed"}, token=alice.token)
            renamed.append(patch)

    with app_hook("before-call.dynamodb.TransactWriteItems", rename_first):
        response = api.delete(f"/movie_delete/{movie['id']}", token=alice.token)
    assert renamed[0].status_code == 200
    assert response.status_code == 200, response.body
    assert body(response)["data"]["title"] == "Renamed"
    assert list(TableItem.query(MovieItem.partition(movie["id"]), consistent_read=True)) == []


def test_cursor_pages_see_every_movie_once_newest_first(api: Api, alice: User) -> None:
    made = [create(api, alice, title=f"Movie {n}")["id"] for n in range(7)]
    seen: list[int] = []
    path = "/movies?limit=3"
    pages = 0
    while True:
        data = body(api.get(path))
        seen += [m["id"] for m in data["data"]]
        pages += 1
        if data["next_cursor"] is None:
            break
        path = f"/movies?limit=3&cursor={data['next_cursor']}"
    assert seen == list(reversed(made))
    assert pages == 3


def test_my_movies_lists_only_mine(api: Api, alice: User, bob: User) -> None:
    mine = create(api, alice)
    create(api, bob)
    response = api.get("/movies/user", token=alice.token)
    assert response.status_code == 200
    assert [m["id"] for m in body(response)["data"]] == [mine["id"]]


def test_my_movies_needs_a_token(api: Api) -> None:
    response = api.get("/movies/user")
    assert response.status_code == 401
    assert body(response) == {"detail": "Not authenticated"}


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("limit=0", ["query", "limit"]),
        ("limit=101", ["query", "limit"]),
        ("limit=ten", ["query", "limit"]),
        ("offset=-1", ["query", "offset"]),
        ("offset=10001", ["query", "offset"]),
    ],
)
def test_list_bounds_are_422(api: Api, query: str, loc: list[str]) -> None:
    response = api.get(f"/movies?{query}")
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == loc


def test_tampered_or_foreign_cursors_are_400(api: Api, alice: User) -> None:
    for n in range(3):
        create(api, alice, title=f"Movie {n}")
    cursor = body(api.get("/movies?limit=1"))["next_cursor"]
    payload, signature = cursor.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    for bad, detail in (
        (tampered, "Invalid cursor"),
        ("not-a-cursor", "Invalid cursor"),
        ("a.b", "Invalid cursor"),
    ):
        response = api.get(f"/movies?cursor={bad}")
        assert response.status_code == 400
        assert body(response) == {"detail": detail}
    foreign = api.get(f"/movies/user?cursor={cursor}", token=alice.token)
    assert foreign.status_code == 400
    assert body(foreign) == {"detail": "Cursor belongs to a different list"}
