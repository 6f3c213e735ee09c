"""Rating a movie: one rating per user, re-rating, unrating, the average and its 4xx answers.

Paging is in ``test_ratings_pages.py``, retries and racing writers in
``test_ratings_races.py``, the counters' invariant under any sequence of
requests in ``test_ratings_state_machine.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.storage.table import MovieItem
from tests.helpers.api import Api, User, body
from tests.helpers.ratings import MovieId, average, counters, listed, rate, rated

# ---------------------------------------------------------------- rate


def test_three_users_rating_5_7_and_8_give_an_average_of_6_67_and_a_list_of_three(
    api: Api, movie_id: MovieId, raters: list[User]
) -> None:
    for user, value in zip(raters, (5, 7, 8), strict=False):
        rated(api, user, movie_id, value)
    assert average(api, movie_id) == {"average_rating": 6.67, "rating_count": 3}
    assert sorted(rating["rating"] for rating in listed(api, movie_id)) == [5, 7, 8]
    assert counters(movie_id) == (3, 20)


def test_rating_returns_the_rating(api: Api, movie_id: MovieId, bob: User) -> None:
    data = rated(api, bob, movie_id, 9)
    assert set(data) == {"id", "movie_id", "user_id", "rating", "created_at", "updated_at"}
    assert (data["movie_id"], data["user_id"], data["rating"]) == (movie_id, bob.id, 9)
    assert 0 < data["id"] < 2**53
    assert data["created_at"] == data["updated_at"]
    assert data["created_at"].endswith("Z")


def test_the_same_user_rating_twice_leaves_one_rating(
    api: Api, movie_id: MovieId, bob: User
) -> None:
    first = rated(api, bob, movie_id, 3)
    second = rated(api, bob, movie_id, 8)
    assert (second["id"], second["created_at"]) == (first["id"], first["created_at"])
    assert second["updated_at"] > first["updated_at"]
    assert second["rating"] == 8
    assert listed(api, movie_id) == [second]
    assert average(api, movie_id) == {"average_rating": 8.0, "rating_count": 1}
    assert counters(movie_id) == (1, 8)


def test_rating_again_with_the_same_value_changes_no_counter(
    api: Api, movie_id: MovieId, bob: User
) -> None:
    rated(api, bob, movie_id, 6)
    rated(api, bob, movie_id, 6)
    assert counters(movie_id) == (1, 6)


def test_ratings_are_listed_by_user_id_and_a_re_rating_keeps_its_place(
    api: Api, movie_id: MovieId, raters: list[User]
) -> None:
    for user in reversed(raters[:3]):
        rated(api, user, movie_id, 5)
    rated(api, raters[0], movie_id, 6)
    by_user = sorted(user.id for user in raters[:3])
    assert [r["user_id"] for r in listed(api, movie_id)] == by_user


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("5", "int_type"),
        (5.5, "int_type"),
        (5.0, "int_type"),
        (None, "int_type"),
        (True, "int_type"),
        ([5], "int_type"),
        (0, "greater_than_equal"),
        (11, "less_than_equal"),
        (-3, "greater_than_equal"),
        (10**30, "less_than_equal"),
    ],
)
def test_a_rating_that_is_not_an_integer_from_1_to_10_is_422(
    api: Api, movie_id: MovieId, bob: User, value: Any, error_type: str
) -> None:
    response = rate(api, bob, movie_id, value)
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert (error["loc"], error["type"], error["input"]) == (["body", "rating"], error_type, value)
    assert counters(movie_id) == (0, 0)


@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        (b"{}", ["body", "rating"], "missing"),
        (b"[7]", ["body"], "model_type"),
        (b"7", ["body"], "model_type"),
        (b'{"rating": 7', ["body", 0], "json_invalid"),
        (b"", ["body", 0], "json_invalid"),
    ],
)
def test_a_body_without_a_rating_is_422(
    api: Api, movie_id: MovieId, bob: User, payload: bytes, loc: list[Any], error_type: str
) -> None:
    response = api.post(
        f"/movies/{movie_id}/ratings",
        token=bob.token,
        headers={"Content-Type": "application/json"},
        raw=payload,
    )
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in body(response)["detail"]] == [(loc, error_type)]


def test_rating_ignores_fields_the_client_must_not_set(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    payload = {"rating": 4, "user_id": alice.id, "id": 7, "movie_id": 1}
    response = api.post(f"/movies/{movie_id}/ratings", payload, token=bob.token)
    data = body(response)
    assert response.status_code == 200
    assert (data["user_id"], data["movie_id"]) == (bob.id, movie_id)
    assert data["id"] != 7


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_changing_a_rating_requires_a_token(api: Api, movie_id: MovieId, method: str) -> None:
    response = api.request(method, f"/movies/{movie_id}/ratings", {"rating": 5})
    assert response.status_code == 401
    assert body(response) == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_changing_a_rating_refuses_a_forged_token(
    api: Api, movie_id: MovieId, bob: User, method: str
) -> None:
    response = api.request(
        method, f"/movies/{movie_id}/ratings", {"rating": 5}, token=bob.token + "x"
    )
    assert response.status_code == 401
    assert body(response) == {"detail": "Could not validate credentials"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert counters(movie_id) == (0, 0)


# ---------------------------------------------------------------- unknown movies and bad ids


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("POST", "/ratings", {"rating": 5}),
        ("GET", "/ratings", None),
        ("GET", "/ratings/average", None),
        ("DELETE", "/ratings", None),
    ],
)
def test_every_ratings_endpoint_of_an_unknown_movie_is_404(
    api: Api, bob: User, method: str, suffix: str, payload: Any
) -> None:
    response = api.request(method, f"/movies/9999{suffix}", payload, token=bob.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found"}


def test_rating_a_deleted_movie_is_404_and_writes_nothing(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    assert api.delete(f"/movies/{movie_id}", token=alice.token).status_code == 204
    response = rate(api, bob, movie_id, 5)
    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found"}
    assert MovieItem.count(MovieItem.partition(movie_id)) == 0


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("POST", "/ratings"),
        ("GET", "/ratings"),
        ("GET", "/ratings/average"),
        ("DELETE", "/ratings"),
    ],
)
def test_a_movie_id_that_is_not_a_positive_integer_is_422(
    api: Api, bob: User, method: str, suffix: str
) -> None:
    response = api.request(method, f"/movies/abc{suffix}", {"rating": 5}, token=bob.token)
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert (error["loc"], error["type"], error["input"]) == (
        ["path", "movie_id"],
        "int_parsing",
        "abc",
    )


def test_every_ratings_endpoint_works_with_a_trailing_slash(
    api: Api, movie_id: MovieId, bob: User
) -> None:
    base = f"/movies/{movie_id}/ratings/"
    assert api.post(base, {"rating": 4}, token=bob.token).status_code == 200
    assert [r["rating"] for r in body(api.get(base))] == [4]
    assert body(api.get(f"/movies/{movie_id}/ratings/average/"))["rating_count"] == 1
    assert api.delete(base, token=bob.token).status_code == 204


# ---------------------------------------------------------------- delete


def test_deleting_my_rating_removes_it_from_the_list_and_the_counters(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    rated(api, alice, movie_id, 2)
    rated(api, bob, movie_id, 9)
    response = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert response.status_code == 204
    assert response.body == b""
    assert [(r["user_id"], r["rating"]) for r in listed(api, movie_id)] == [(alice.id, 2)]
    assert average(api, movie_id) == {"average_rating": 2.0, "rating_count": 1}
    assert counters(movie_id) == (1, 2)


def test_deleting_without_a_rating_is_404_and_leaves_others_alone(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    rated(api, alice, movie_id, 7)
    response = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Rating not found"}
    assert counters(movie_id) == (1, 7)


def test_deleting_twice_is_404_the_second_time(api: Api, movie_id: MovieId, bob: User) -> None:
    rated(api, bob, movie_id, 7)
    assert api.delete(f"/movies/{movie_id}/ratings", token=bob.token).status_code == 204
    again = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert again.status_code == 404
    assert body(again) == {"detail": "Rating not found"}
    assert average(api, movie_id) == {"average_rating": None, "rating_count": 0}


def test_rating_again_after_deleting_is_a_new_rating(
    api: Api, movie_id: MovieId, bob: User
) -> None:
    first = rated(api, bob, movie_id, 7)
    api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    second = rated(api, bob, movie_id, 3)
    assert second["id"] != first["id"]
    assert counters(movie_id) == (1, 3)


# ---------------------------------------------------------------- average and movie detail


def test_an_unrated_movie_has_a_null_average(api: Api, movie_id: MovieId) -> None:
    assert average(api, movie_id) == {"average_rating": None, "rating_count": 0}


def test_the_movie_detail_shows_the_ratings_and_the_average(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    alices = rated(api, alice, movie_id, 4)
    bobs = rated(api, bob, movie_id, 9)
    for path in (f"/movies/{movie_id}", f"/movie/{movie_id}"):
        data = body(api.get(path))
        assert (data["average_rating"], data["rating_count"]) == (6.5, 2)
        assert data["ratings"] == [alices, bobs]  # by user id: alice signed up first
        assert data["next_ratings_cursor"] is None


def test_the_average_rounds_halves_up() -> None:
    from chalicelib.storage.table import MovieItem

    movie = MovieItem.new(1, 1, title="t")
    for count, total, expected in ((8, 53, 6.63), (3, 20, 6.67), (8, 51, 6.38), (1, 10, 10.0)):
        movie.rating_count, movie.rating_sum = count, total
        assert movie.average_rating() == expected
