"""Commenting and replying through the API, the threads it lists, and a comment's fields."""

from __future__ import annotations

from typing import Any

from tests.helpers.api import Api, User, body

COMMENT_FIELDS = {
    "id",
    "movie_id",
    "user_id",
    "parent_comment_id",
    "comment_text",
    "created_at",
    "updated_at",
    "deleted",
    "replies",
}


def new_movie(api: Api, owner: User) -> int:
    response = api.post("/movies", {"title": "King of boys"}, token=owner.token)
    assert response.status_code == 201, response.body
    return int(body(response)["id"])


def comment_on(api: Api, user: User, movie_id: int, text: str = "Great movie") -> dict[str, Any]:
    response = api.post(f"/movies/{movie_id}/comments", {"comment_text": text}, token=user.token)
    assert response.status_code == 200, response.body
    return body(response)  # type: ignore[no-any-return]


def reply_to(api: Api, user: User, parent_id: int, text: str = "I agree") -> dict[str, Any]:
    response = api.post(f"/comments/{parent_id}/replies", {"comment_text": text}, token=user.token)
    assert response.status_code == 200, response.body
    return body(response)  # type: ignore[no-any-return]


def threads(api: Api, movie_id: int, query: str = "") -> list[dict[str, Any]]:
    response = api.get(f"/movies/{movie_id}/comments{query}")
    assert response.status_code == 200, response.body
    return body(response)  # type: ignore[no-any-return]


def ids(nodes: list[dict[str, Any]]) -> list[int]:
    return [node["id"] for node in nodes]
