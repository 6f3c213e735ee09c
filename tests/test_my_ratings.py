"""``GET /users/me/ratings``: the caller's ratings, newest first, in cursor pages.

Newest first by when the caller first rated each movie: a re-rate keeps its
place, unrating and rating again puts it first. One Query of the caller's
GSI2 partition per page, whatever the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.settings import get_settings
from chalicelib.storage.table import RatingItem
from devtools.backfill import RATINGS, STEPS, backfill, main
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.ratings import MovieId, create_movie, rated
from tests.helpers.snapshots import table_items
from tests.helpers.table import dynamodb_client

MINE = "/users/me/ratings"
DIFFERENT_LIST = {"detail": "Cursor belongs to a different list"}


def mine(api: Api, user: User, query: str = "limit=100") -> list[dict[str, Any]]:
    response = api.get(f"{MINE}?{query}", token=user.token)
    assert response.status_code == 200, response.body
    return body(response)  # type: ignore[no-any-return]


def movies_in(page: list[dict[str, Any]]) -> list[int]:
    return [rating["movie_id"] for rating in page]


def next_page_path(response: Any) -> str:
    """The ``rel="next"`` target of ``Link`` (``""``: none), checked against ``X-Next-Cursor``."""
    link = response.headers.get("Link")
    cursor = response.headers.get("X-Next-Cursor")
    if link is None:
        assert cursor is None
        return ""
    match = re.fullmatch(r'<(/users/me/ratings\?limit=\d+&cursor=([^>]+))>; rel="next"', link)
    assert match is not None, link
    assert match.group(2) == cursor
    return match.group(1)


@pytest.fixture
def movies(api: Api, alice: User) -> list[MovieId]:
    return [create_movie(api, alice) for _ in range(5)]


def test_the_callers_ratings_come_newest_first_across_movies(
    api: Api, bob: User, movies: list[MovieId]
) -> None:
    answers = [
        rated(api, bob, movie, value) for movie, value in zip(movies, (3, 9, 5), strict=False)
    ]

    listed = mine(api, bob)

    assert listed == answers[::-1]  # the whole Rating, as rating answered it
    assert movies_in(listed) == movies[2::-1]
    assert all(r["user_id"] == bob.id for r in listed)
    assert [r["created_at"] for r in listed] == sorted(
        (r["created_at"] for r in listed), reverse=True
    )


def test_only_the_callers_ratings_are_listed(
    api: Api, alice: User, bob: User, movies: list[MovieId], raters: list[User]
) -> None:
    rated(api, bob, movies[0], 7)
    for rater in raters:
        rated(api, rater, movies[0], 2)
        rated(api, rater, movies[1], 4)
    rated(api, bob, movies[2], 8)

    assert [(r["movie_id"], r["rating"]) for r in mine(api, bob)] == [
        (movies[2], 8),
        (movies[0], 7),
    ]
    assert [(r["movie_id"], r["user_id"]) for r in mine(api, raters[3])] == [
        (movies[1], raters[3].id),
        (movies[0], raters[3].id),
    ]
    assert mine(api, alice) == []  # owning the movies is not rating them


@pytest.mark.parametrize(("count", "limit", "pages"), [(5, 2, 3), (4, 2, 2), (5, 5, 1), (1, 10, 1)])
def test_cursor_pages_see_every_rating_once_and_link_only_to_a_next_page(
    api: Api, bob: User, movies: list[MovieId], count: int, limit: int, pages: int
) -> None:
    for movie in movies[:count]:
        rated(api, bob, movie, 6)
    seen: list[int] = []
    shown: list[int] = []
    path = f"{MINE}?limit={limit}"
    while path:
        response = api.get(path, token=bob.token)
        assert response.status_code == 200, response.body
        page = movies_in(body(response))
        seen += page
        shown.append(len(page))
        path = next_page_path(response)
        assert bool(path) == (len(seen) < count)  # a cursor exactly when more follow

    assert seen == movies[count - 1 :: -1]
    assert shown == [limit] * (pages - 1) + [count - limit * (pages - 1)]


def test_a_user_without_ratings_gets_an_empty_list_and_no_link(api: Api, bob: User) -> None:
    response = api.get(MINE, token=bob.token)

    assert (response.status_code, body(response)) == (200, [])
    assert "Link" not in response.headers
    assert "X-Next-Cursor" not in response.headers


def test_rerating_keeps_the_place_and_shows_the_new_value(
    api: Api, bob: User, movies: list[MovieId]
) -> None:
    first = [rated(api, bob, movie, 5) for movie in movies[:3]]

    again = rated(api, bob, movies[0], 10)

    listed = mine(api, bob)
    assert movies_in(listed) == movies[2::-1]
    assert listed[-1] == again
    assert (again["id"], again["created_at"], again["rating"]) == (
        first[0]["id"],
        first[0]["created_at"],
        10,
    )


def test_unrating_removes_it_and_rating_again_puts_it_first(
    api: Api, bob: User, movies: list[MovieId]
) -> None:
    for movie in movies[:3]:
        rated(api, bob, movie, 5)

    assert api.delete(f"/movies/{movies[0]}/ratings", token=bob.token).status_code == 204
    assert movies_in(mine(api, bob)) == [movies[2], movies[1]]

    rated(api, bob, movies[0], 4)
    assert movies_in(mine(api, bob)) == [movies[0], movies[2], movies[1]]


def test_a_deleted_movies_rating_leaves_the_list_once_the_stream_has_cleaned_up(
    api: Api, alice: User, bob: User, movies: list[MovieId], stream: StreamRunner
) -> None:
    for movie in movies[:2]:
        rated(api, bob, movie, 5)
    assert api.delete(f"/movies/{movies[0]}", token=alice.token).status_code == 204

    assert movies_in(mine(api, bob)) == [movies[1], movies[0]]  # the cleanup has not run
    stream.drain()

    assert movies_in(mine(api, bob)) == [movies[1]]


def test_without_a_token_it_is_401(api: Api) -> None:
    response = api.get(MINE)

    assert response.status_code == 401
    assert body(response) == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("query", "error_type"),
    [
        ("limit=0", "greater_than_equal"),
        ("limit=101", "less_than_equal"),
        ("limit=x", "int_parsing"),
    ],
)
def test_a_bad_limit_is_422(api: Api, bob: User, query: str, error_type: str) -> None:
    response = api.get(f"{MINE}?{query}", token=bob.token)

    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert (error["loc"], error["type"]) == (["query", "limit"], error_type)


def test_offset_and_skip_are_not_parameters_of_this_list(
    api: Api, bob: User, movies: list[MovieId]
) -> None:
    for movie in movies[:3]:
        rated(api, bob, movie, 5)

    assert mine(api, bob, "limit=2&offset=1") == mine(api, bob, "limit=2")
    assert mine(api, bob, "limit=2&skip=2") == mine(api, bob, "limit=2")


def first_cursor(api: Api, path: str, token: str | None = None) -> str:
    response = api.get(f"{path}?limit=1", token=token)
    assert response.status_code == 200, response.body
    return str(response.headers["X-Next-Cursor"])


def test_a_cursor_of_another_list_is_400_both_ways(
    api: Api, bob: User, make_user: Callable[[str], User], movies: list[MovieId]
) -> None:
    carol = make_user("carol")
    for user in (bob, carol):
        for movie in movies[:2]:
            rated(api, user, movie, 5)
    carols = first_cursor(api, MINE, carol.token)
    movie_ratings = first_cursor(api, f"/movies/{movies[0]}/ratings")
    all_movies = body(api.get("/movies?limit=1"))["next_cursor"]

    for foreign in (carols, movie_ratings, all_movies):
        response = api.get(f"{MINE}?cursor={foreign}", token=bob.token)
        assert (response.status_code, body(response)) == (400, DIFFERENT_LIST)
    bobs = first_cursor(api, MINE, bob.token)
    response = api.get(f"/movies/{movies[0]}/ratings?cursor={bobs}")
    assert (response.status_code, body(response)) == (400, DIFFERENT_LIST)


def test_a_tampered_cursor_is_400(api: Api, bob: User, movies: list[MovieId]) -> None:
    for movie in movies[:2]:
        rated(api, bob, movie, 5)
    payload, signature = first_cursor(api, MINE, bob.token).split(".")
    forged = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"

    for bad in (forged, "not-a-cursor", f"{payload}.{signature[::-1]}"):
        response = api.get(f"{MINE}?cursor={bad}", token=bob.token)
        assert (response.status_code, body(response)) == (400, {"detail": "Invalid cursor"})


def test_each_page_is_one_query(
    api: Api, bob: User, movies: list[MovieId], dynamodb_calls: CallCounter
) -> None:
    for movie in movies[:3]:
        rated(api, bob, movie, 5)
    dynamodb_calls.reset()

    first = api.get(f"{MINE}?limit=2", token=bob.token)
    assert dict(dynamodb_calls.calls) == {"Query": 1}
    assert dynamodb_calls.items_read == 3  # the page and one more, to know a next one follows

    dynamodb_calls.reset()
    last = api.get(next_page_path(first), token=bob.token)
    assert dict(dynamodb_calls.calls) == {"Query": 1}
    assert dynamodb_calls.items_read == 1
    assert movies_in(body(first) + body(last)) == movies[2::-1]


def as_written_before_the_lists(movie_id: MovieId, user: User) -> None:
    """Take the rating's GSI2 keys away, as a version before raters' lists wrote it."""
    pk, sk = RatingItem.key(movie_id, user.id)
    dynamodb_client().update_item(
        TableName=get_settings().table_name,
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        UpdateExpression="REMOVE gsi2pk, gsi2sk",
    )


def test_the_backfill_puts_old_ratings_in_their_raters_list_once(
    api: Api,
    bob: User,
    movies: list[MovieId],
    dynamodb_calls: CallCounter,
    capsys: pytest.CaptureFixture[str],
    stream: StreamRunner,
) -> None:
    answers = [
        rated(api, bob, movie, value) for movie, value in zip(movies, (2, 4, 6), strict=False)
    ]
    stream.drain()  # the movies' list entries: the movies' backfill step finds them in step
    for movie in movies[:2]:
        as_written_before_the_lists(movie, bob)
    assert movies_in(mine(api, bob)) == [movies[2]]
    before = table_items()
    dynamodb_calls.reset()

    assert backfill(segments=2)[RATINGS.name] == 2

    assert dynamodb_calls.calls["UpdateItem"] == 2  # the third rating is left alone
    assert mine(api, bob) == answers[::-1]
    after = table_items()
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {RatingItem.key(movie, bob.id) for movie in movies[:2]}
    dynamodb_calls.reset()
    capsys.readouterr()  # the requests' access logs
    assert main() == 0  # make backfill: a line per step, and nothing left to change
    assert capsys.readouterr().out.splitlines() == [f"{step.name}: 0" for step in STEPS]
    assert dynamodb_calls.calls["UpdateItem"] == 0
