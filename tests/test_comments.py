"""Comments: adding one to a movie, listing a movie's threads, editing one's own text.

Replies are in ``test_comments_replies.py``, deleting and moderating in
``test_comments_deletes.py``, cursor pages in ``test_comments_pages.py``,
writes racing each other in ``test_comments_races.py``.
"""

from __future__ import annotations

import pytest

from tests.helpers.api import Api, User, body
from tests.helpers.comments import COMMENT_FIELDS, comment_on, ids, new_movie, reply_to, threads

# ---------------------------------------------------------------- add


def test_add_comment_returns_the_comment(api: Api, alice: User, bob: User) -> None:
    movie_id = new_movie(api, alice)
    response = api.post(
        f"/movies/{movie_id}/comments", {"comment_text": "  Great movie  "}, token=bob.token
    )
    data = body(response)
    assert response.status_code == 200
    assert set(data) == COMMENT_FIELDS
    assert 0 < data["id"] < 2**53
    assert data["movie_id"] == movie_id
    assert data["user_id"] == bob.id
    assert data["parent_comment_id"] is None
    assert data["comment_text"] == "Great movie"
    assert (data["deleted"], data["replies"]) == (False, [])
    assert data["created_at"] == data["updated_at"]
    assert data["created_at"].endswith("Z")


def test_add_comment_ignores_fields_the_client_must_not_set(
    api: Api, alice: User, bob: User
) -> None:
    movie_id = new_movie(api, alice)
    payload = {"comment_text": "Mine", "id": 7, "user_id": alice.id, "deleted": True}
    data = body(api.post(f"/movies/{movie_id}/comments", payload, token=bob.token))
    assert (data["id"] != 7, data["user_id"], data["deleted"]) == (True, bob.id, False)


def test_add_comment_to_an_unknown_movie_is_404(api: Api, alice: User) -> None:
    response = api.post("/movies/9999/comments", {"comment_text": "Hello"}, token=alice.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found"}


def test_add_comment_requires_a_token(api: Api, alice: User) -> None:
    movie_id = new_movie(api, alice)
    response = api.post(f"/movies/{movie_id}/comments", {"comment_text": "Hello"})
    assert response.status_code == 401
    assert body(response) == {"detail": "Not authenticated"}
    assert threads(api, movie_id) == []


def test_missing_comment_text_is_field_required(api: Api, alice: User) -> None:
    movie_id = new_movie(api, alice)
    response = api.post(f"/movies/{movie_id}/comments", {}, token=alice.token)
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert {k: error[k] for k in ("type", "loc", "msg")} == {
        "type": "missing",
        "loc": ["body", "comment_text"],
        "msg": "Field required",
    }


@pytest.mark.parametrize(
    ("text", "error_type"),
    [
        ("  a  ", "string_too_short"),
        ("   ", "string_too_short"),
        ("x" * 2001, "string_too_long"),
        (5, "string_type"),
    ],
)
def test_comment_text_out_of_bounds_is_422(
    api: Api, alice: User, text: object, error_type: str
) -> None:
    movie_id = new_movie(api, alice)
    response = api.post(f"/movies/{movie_id}/comments", {"comment_text": text}, token=alice.token)
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert (error["type"], error["loc"]) == (error_type, ["body", "comment_text"])
    assert threads(api, movie_id) == []


@pytest.mark.parametrize("text", [" ab ", "x" * 2000])
def test_comment_text_at_its_bounds_is_accepted(api: Api, alice: User, text: str) -> None:
    movie_id = new_movie(api, alice)
    assert comment_on(api, alice, movie_id, text)["comment_text"] == text.strip()


# ---------------------------------------------------------------- list


def test_list_threads_oldest_first_with_skip_and_limit(api: Api, alice: User, bob: User) -> None:
    movie_id = new_movie(api, alice)
    made = [comment_on(api, bob, movie_id, f"Comment {n}")["id"] for n in range(4)]
    assert ids(threads(api, movie_id)) == made
    assert ids(threads(api, movie_id, "?skip=1&limit=2")) == made[1:3]
    assert ids(threads(api, movie_id, "?skip=3")) == made[3:]
    assert threads(api, movie_id, "?skip=4") == []


def test_list_threads_with_a_trailing_slash(api: Api, alice: User) -> None:
    movie_id = new_movie(api, alice)
    comment_on(api, alice, movie_id)
    response = api.get(f"/movies/{movie_id}/comments/")
    assert response.status_code == 200
    assert len(body(response)) == 1


def test_list_threads_of_an_unknown_movie_is_404(api: Api) -> None:
    response = api.get("/movies/9999/comments")
    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found"}


def test_list_threads_of_a_movie_without_comments_is_empty(api: Api, alice: User) -> None:
    response = api.get(f"/movies/{new_movie(api, alice)}/comments")
    assert response.status_code == 200
    assert body(response) == []
    assert "X-Next-Cursor" not in response.headers
    assert "Link" not in response.headers


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("limit=0", ["query", "limit"]),
        ("limit=101", ["query", "limit"]),
        ("skip=-1", ["query", "skip"]),
        ("skip=ten", ["query", "skip"]),
    ],
)
def test_list_bounds_are_422(api: Api, alice: User, query: str, loc: list[str]) -> None:
    response = api.get(f"/movies/{new_movie(api, alice)}/comments?{query}")
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == loc


# ---------------------------------------------------------------- edit


def test_the_author_edits_the_text(api: Api, alice: User, bob: User) -> None:
    movie_id = new_movie(api, alice)
    original = comment_on(api, bob, movie_id, "Good")
    reply_to(api, alice, original["id"])
    response = api.put(f"/comments/{original['id']}", {"comment_text": " Better "}, token=bob.token)
    data = body(response)
    assert response.status_code == 200
    assert set(data) == COMMENT_FIELDS
    assert (data["id"], data["comment_text"], data["user_id"]) == (original["id"], "Better", bob.id)
    assert data["created_at"] == original["created_at"]
    assert data["updated_at"] > original["updated_at"]
    assert data["replies"] == []
    [thread] = threads(api, movie_id)
    assert (thread["comment_text"], len(thread["replies"])) == ("Better", 1)


def test_only_the_author_may_edit_and_nothing_changes_otherwise(
    api: Api, alice: User, bob: User
) -> None:
    movie_id = new_movie(api, alice)
    comment = comment_on(api, bob, movie_id, "Original")
    response = api.put(
        f"/comments/{comment['id']}", {"comment_text": "Hijacked"}, token=alice.token
    )
    assert response.status_code == 403
    assert body(response) == {"detail": "Not authorized to edit this comment"}
    assert threads(api, movie_id)[0]["comment_text"] == "Original"


def test_edit_validation_is_422(api: Api, alice: User) -> None:
    comment = comment_on(api, alice, new_movie(api, alice))["id"]
    response = api.put(f"/comments/{comment}", {"comment_text": "x" * 2001}, token=alice.token)
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert (error["type"], error["loc"]) == ("string_too_long", ["body", "comment_text"])
