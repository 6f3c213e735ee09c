"""Replies: under their parent at any depth up to the limit, oldest first, in one read."""

from __future__ import annotations

from typing import Any

from chalicelib.storage.table import MAX_COMMENT_DEPTH
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.comments import COMMENT_FIELDS, comment_on, ids, new_movie, reply_to, threads

# ---------------------------------------------------------------- replies


def test_reply_carries_its_parent_and_the_parents_movie(api: Api, alice: User, bob: User) -> None:
    movie_id = new_movie(api, alice)
    parent = comment_on(api, alice, movie_id)
    response = api.post(
        f"/comments/{parent['id']}/replies", {"comment_text": " Agreed "}, token=bob.token
    )
    data = body(response)
    assert response.status_code == 200
    assert set(data) == COMMENT_FIELDS
    assert (data["movie_id"], data["parent_comment_id"]) == (movie_id, parent["id"])
    assert (data["user_id"], data["comment_text"], data["replies"]) == (bob.id, "Agreed", [])


def test_nested_replies_come_back_under_their_parents_oldest_first(
    api: Api, alice: User, bob: User
) -> None:
    movie_id = new_movie(api, alice)
    root = comment_on(api, alice, movie_id)["id"]
    first = reply_to(api, bob, root, "first")["id"]
    second = reply_to(api, alice, root, "second")["id"]
    nested = reply_to(api, alice, first, "nested")["id"]
    other = comment_on(api, bob, movie_id)["id"]
    [thread, other_thread] = threads(api, movie_id)
    assert (thread["id"], other_thread["id"], other_thread["replies"]) == (root, other, [])
    assert ids(thread["replies"]) == [first, second]
    assert ids(thread["replies"][0]["replies"]) == [nested]
    assert thread["replies"][0]["replies"][0]["parent_comment_id"] == first
    assert thread["replies"][1]["replies"] == []


def test_a_five_level_reply_chain_is_one_tree_in_one_get(
    api: Api, alice: User, bob: User, dynamodb_calls: CallCounter
) -> None:
    movie_id = new_movie(api, alice)
    chain = [comment_on(api, alice, movie_id)["id"]]
    for level in range(1, 5):
        chain.append(reply_to(api, bob if level % 2 else alice, chain[-1], f"level {level}")["id"])
    dynamodb_calls.reset()
    node: dict[str, Any] = {"replies": threads(api, movie_id)}
    assert dynamodb_calls.total == 1
    for level, comment_id in enumerate(chain):
        [node] = node["replies"]
        assert node["id"] == comment_id
        assert node["parent_comment_id"] == (chain[level - 1] if level else None)
    assert node["replies"] == []


def test_reply_to_an_unknown_comment_is_404(api: Api, alice: User) -> None:
    response = api.post("/comments/9999/replies", {"comment_text": "Hello"}, token=alice.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Comment not found"}


def test_reply_to_a_deleted_comment_is_404(api: Api, alice: User, bob: User) -> None:
    movie_id = new_movie(api, alice)
    removed = comment_on(api, alice, movie_id)["id"]
    tombstone = comment_on(api, alice, movie_id)["id"]
    reply_to(api, bob, tombstone)
    for comment_id in (removed, tombstone):
        assert api.delete(f"/comments/{comment_id}", token=alice.token).status_code == 200
        response = api.post(
            f"/comments/{comment_id}/replies", {"comment_text": "Too late"}, token=bob.token
        )
        assert response.status_code == 404
        assert body(response) == {"detail": "Comment not found"}
    [thread] = threads(api, movie_id)
    assert (thread["id"], len(thread["replies"])) == (tombstone, 1)


def test_reply_validation_is_422(api: Api, alice: User) -> None:
    parent = comment_on(api, alice, new_movie(api, alice))["id"]
    response = api.post(f"/comments/{parent}/replies", {"comment_text": "x"}, token=alice.token)
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert (error["type"], error["loc"]) == ("string_too_short", ["body", "comment_text"])


def test_replies_nest_to_the_depth_limit_and_no_deeper(api: Api, alice: User) -> None:
    movie_id = new_movie(api, alice)
    chain = [comment_on(api, alice, movie_id)["id"]]
    for _ in range(MAX_COMMENT_DEPTH):
        chain.append(reply_to(api, alice, chain[-1])["id"])
    response = api.post(
        f"/comments/{chain[-1]}/replies", {"comment_text": "deeper"}, token=alice.token
    )
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert error["type"] == "reply_too_deep"
    assert error["loc"] == ["path", "parent_id"]
    assert error["msg"] == (
        f"Replies nest at most {MAX_COMMENT_DEPTH} levels deep; "
        "reply to a comment higher up the thread"
    )
    assert error["input"] == chain[-1]
    [node] = threads(api, movie_id)
    depth = 0
    while node["replies"]:
        [node] = node["replies"]
        depth += 1
    assert (depth, node["id"]) == (MAX_COMMENT_DEPTH, chain[-1])


def test_reply_requires_a_token(api: Api, alice: User) -> None:
    parent = comment_on(api, alice, new_movie(api, alice))["id"]
    response = api.post(f"/comments/{parent}/replies", {"comment_text": "Hello"})
    assert response.status_code == 401
    assert body(response) == {"detail": "Not authenticated"}
