"""Every input is bounded, and the bounds hold at the edge (OWASP API4: resource consumption).

Already tested elsewhere, and not repeated here: a body over the limit on
``/signup`` (test_http), JSON nested past 32 levels (test_http), ``limit``
0 and 101 and ``offset``/``skip`` below 0 (each list's tests), ``offset``
10,001 on ``/movies``, titles of 201 and descriptions of 5,001 characters
(test_movies), comments of 2,001 (test_comments), replies 33 levels deep
(test_comments_replies), usernames of 2 and 51 characters and passwords of
73 bytes (test_users), a 5,000-character token (test_auth). Here: every
route that takes a body, the other fields at and one past their bounds, the
other lists' caps, cursors, header sizes, and how much one response may
carry.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from app import app
from chalicelib.http.operations import operation_of
from chalicelib.schemas.pages import MAX_LIMIT, MAX_OFFSET
from chalicelib.settings import get_settings
from chalicelib.storage import comments, movies, ratings
from chalicelib.storage.movies import DETAIL_RATINGS, DETAIL_THREADS
from tests.helpers.api import PASSWORD, Api, User, body, user_payload
from tests.helpers.snapshots import table_items

LONGEST_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"  # 254


def body_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, path)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if (operation := operation_of(entry.view_function)) is not None and operation.body
    )


@pytest.mark.parametrize(("method", "route"), body_routes(), ids=" ".join)
def test_every_body_over_the_size_limit_is_413_and_writes_nothing(
    api: Api, alice: User, method: str, route: str
) -> None:
    limit = get_settings().max_body_bytes
    path = route.replace("{movie_id}", "1").replace("{comment_id}", "1").replace("{parent_id}", "1")
    before = table_items()
    for content_type, filler in (("application/json", b'{"title": "%s"}'), ("text/plain", b"%s")):
        padding = b"x" * (limit + 1 - len(filler % b""))
        response = api.request(
            method,
            path,
            raw=filler % padding,
            token=alice.token,
            headers={"Content-Type": content_type},
        )
        assert response.status_code in (413, 415), response.body
        if content_type == "application/json":
            assert (response.status_code, body(response)) == (
                413,
                {"detail": "Request body too large"},
            )
    at_limit = b'{"title": "%s"}' % (b"x" * (limit - len(b'{"title": ""}')))
    response = api.request(
        method, path, raw=at_limit, token=alice.token, headers={"Content-Type": "application/json"}
    )
    assert response.status_code != 413
    assert table_items() == before


def test_a_login_form_over_the_size_limit_is_413(api: Api) -> None:
    form = b"username=alice&password=" + b"x" * get_settings().max_body_bytes
    response = api.post(
        "/login", raw=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (response.status_code, body(response)) == (413, {"detail": "Request body too large"})


# ---------------------------------------------------------------- fields at and past their bounds


@pytest.mark.parametrize(
    ("field", "longest"),
    [
        ("username", "u" * 50),
        ("first_name", "F" * 50),
        ("last_name", "L" * 50),
        ("email", LONGEST_EMAIL),
        ("phone_number", "+1 234 567 8901".ljust(40)),
        ("password", "p" * 72),
    ],
)
def test_each_signup_field_takes_its_longest_value_and_refuses_one_more(
    api: Api, field: str, longest: str
) -> None:
    accepted = api.post("/signup", user_payload("edge", **{field: longest}))
    assert accepted.status_code == 200, accepted.body
    one_more = longest + "x" if field != "email" else "a" + longest
    overrides = {"email": "edge2@example.com", field: one_more}
    refused = api.post("/signup", user_payload("edge2", **overrides))
    assert refused.status_code == 422
    assert [error["loc"] for error in body(refused)["detail"]] == [["body", field]]


@pytest.mark.parametrize(
    ("path", "field", "longest", "valid"),
    [
        ("/login", "username", 254, {"password": PASSWORD}),
        ("/login", "password", 200, {"username": "alice"}),
        ("/users/me/password", "current_password", 200, {"new_password": "a new secret"}),
        ("/users/me", "first_name", 50, {}),
    ],
)
def test_other_fields_are_bounded_too(
    api: Api, alice: User, path: str, field: str, longest: int, valid: dict[str, str]
) -> None:
    method = "POST" if path == "/login" else "PUT"
    at_limit = api.request(method, path, {**valid, field: "a" * longest}, token=alice.token)
    assert at_limit.status_code != 422, at_limit.body
    past = api.request(method, path, {**valid, field: "a" * (longest + 1)}, token=alice.token)
    assert past.status_code == 422
    [error] = body(past)["detail"]
    assert (error["loc"], error["type"]) == (["body", field], "string_too_long")


def test_a_title_and_a_description_at_their_bounds_are_accepted(api: Api, alice: User) -> None:
    movie = {"title": "T" * 200, "description": "D" * 5000}
    response = api.post("/movies", movie, token=alice.token)
    assert response.status_code == 201
    assert {key: body(response)[key] for key in movie} == movie


# ---------------------------------------------------------------- lists


LISTS = ["/movies", "/movies/user", "/movies/{movie}/ratings", "/movies/{movie}/comments"]


@pytest.fixture
def movie(api: Api, alice: User) -> int:
    return int(body(api.post("/movies", {"title": "Bounded"}, token=alice.token))["id"])


@pytest.mark.parametrize("path", LISTS)
def test_every_list_caps_its_page_its_offset_and_its_cursor(
    api: Api, alice: User, movie: int, path: str
) -> None:
    path = path.format(movie=movie)
    skip = "offset" if path.startswith("/movies") and path.count("/") < 3 else "skip"

    def get(query: str) -> Any:
        return api.get(f"{path}?{query}", token=alice.token)

    assert get(f"limit={MAX_LIMIT}&{skip}={MAX_OFFSET}").status_code == 200
    for query, loc, kind in (
        (f"limit={MAX_LIMIT + 1}", "limit", "less_than_equal"),
        (f"{skip}={MAX_OFFSET + 1}", skip, "less_than_equal"),
        ("cursor=" + "c" * 2049, "cursor", "string_too_long"),
    ):
        response = get(query)
        assert response.status_code == 422, (query, response.body)
        assert [(e["loc"], e["type"]) for e in body(response)["detail"]] == [(["query", loc], kind)]
    garbage = get("cursor=" + "c" * 2048)
    assert (garbage.status_code, body(garbage)) == (400, {"detail": "Invalid cursor"})


def test_a_page_never_holds_more_than_the_largest_limit(api: Api, alice: User) -> None:
    for n in range(MAX_LIMIT + 5):
        movies.create_movie(alice.id, {"title": f"Movie {n}"})
    page = body(api.get(f"/movies?limit={MAX_LIMIT}"))
    assert len(page["data"]) == MAX_LIMIT
    assert page["next_cursor"]
    assert (
        len(body(api.get(f"/movies?cursor={page['next_cursor']}&limit={MAX_LIMIT}"))["data"]) == 5
    )


def test_the_movie_detail_embeds_bounded_lists_and_cursors_for_the_rest(
    api: Api, movie: int
) -> None:
    for user_id in range(1, max(DETAIL_THREADS, DETAIL_RATINGS) + 3):
        ratings.rate_movie(movie, user_id, 5)
        comments.add_comment(movie, user_id, "Hello")
    detail = body(api.get(f"/movies/{movie}"))
    assert (len(detail["comments"]), len(detail["ratings"])) == (DETAIL_THREADS, DETAIL_RATINGS)
    assert detail["next_comments_cursor"] and detail["next_ratings_cursor"]


# ---------------------------------------------------------------- headers


def test_huge_headers_are_refused_quickly_and_never_echoed(api: Api, alice: User) -> None:
    huge = "A" * 1_000_000
    started = time.perf_counter()
    token = api.get("/users/me", headers={"Authorization": f"Bearer {huge}"})
    assert time.perf_counter() - started < 2
    assert (token.status_code, body(token)) == (401, {"detail": "Could not validate credentials"})
    request_id = api.get("/health", headers={"X-Request-Id": huge[:10_000]})
    assert request_id.status_code == 200
    assert len(request_id.headers["X-Request-Id"]) <= 128
    content_type = api.post(
        "/movies", {"title": "x"}, token=alice.token, headers={"Content-Type": huge[:10_000]}
    )
    assert content_type.status_code == 415
    assert len(content_type.body) < 1_000
    assert len(json.dumps(dict(content_type.headers))) < 2_000


def test_a_query_string_with_thousands_of_parameters_is_harmless(api: Api) -> None:
    query = "&".join(f"p{n}={'v' * 10}" for n in range(5_000))
    started = time.perf_counter()
    response = api.get(f"/movies?{query}")
    assert response.status_code == 200
    assert time.perf_counter() - started < 2
