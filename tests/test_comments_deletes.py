"""Deleting comments: a tombstone where replies remain, moderation by the movie's owner."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers.api import Api, User, body
from tests.helpers.comments import comment_on, ids, new_movie, reply_to, threads
from tests.helpers.movies import assert_no_orphans_and_exact_counts


@pytest.fixture
def carol(make_user: Callable[[str], User]) -> User:
    return make_user("carol")


# ---------------------------------------------------------------- delete


def test_deleting_a_comment_with_replies_leaves_a_tombstone_in_place(
    api: Api, alice: User, bob: User
) -> None:
    movie_id = new_movie(api, alice)
    before = comment_on(api, bob, movie_id, "Before")["id"]
    parent = comment_on(api, bob, movie_id, "Parent")
    reply = reply_to(api, alice, parent["id"], "Reply")
    after = comment_on(api, bob, movie_id, "After")["id"]
    response = api.delete(f"/comments/{parent['id']}", token=bob.token)
    assert response.status_code == 200
    assert body(response) == {"message": "success"}
    listed = threads(api, movie_id)
    assert ids(listed) == [before, parent["id"], after]
    tombstone = listed[1]
    assert tombstone["deleted"] is True
    assert (tombstone["comment_text"], tombstone["user_id"]) == ("[deleted]", None)
    assert tombstone["created_at"] == parent["created_at"]
    assert tombstone["replies"] == [reply]


def test_a_tombstone_cannot_be_edited_or_deleted_again(api: Api, alice: User, bob: User) -> None:
    parent = comment_on(api, bob, new_movie(api, alice))["id"]
    reply_to(api, alice, parent)
    assert api.delete(f"/comments/{parent}", token=bob.token).status_code == 200
    for response in (
        api.put(f"/comments/{parent}", {"comment_text": "Back"}, token=bob.token),
        api.delete(f"/comments/{parent}", token=bob.token),
        api.delete(f"/comments/{parent}", token=alice.token),
    ):
        assert response.status_code == 404
        assert body(response) == {"detail": "Comment not found"}


def test_deleting_a_comment_without_replies_removes_it_and_frees_its_parent(
    api: Api, alice: User, bob: User
) -> None:
    movie_id = new_movie(api, alice)
    parent = comment_on(api, bob, movie_id)["id"]
    reply = reply_to(api, alice, parent)["id"]
    response = api.delete(f"/comments/{reply}", token=alice.token)
    assert response.status_code == 200
    assert body(response) == {"message": "success"}
    [thread] = threads(api, movie_id)
    assert (thread["id"], thread["deleted"], thread["replies"]) == (parent, False, [])
    assert api.delete(f"/comments/{parent}", token=bob.token).status_code == 200
    assert threads(api, movie_id) == []
    assert_no_orphans_and_exact_counts(movie_id)
    gone = api.put(f"/comments/{reply}", {"comment_text": "Hello"}, token=alice.token)
    assert gone.status_code == 404
    assert body(gone) == {"detail": "Comment not found"}


def test_removing_the_last_reply_of_a_tombstone_keeps_the_tombstone(
    api: Api, alice: User, bob: User
) -> None:
    movie_id = new_movie(api, alice)
    parent = comment_on(api, bob, movie_id)["id"]
    reply = reply_to(api, alice, parent)["id"]
    assert api.delete(f"/comments/{parent}", token=bob.token).status_code == 200
    assert api.delete(f"/comments/{reply}", token=alice.token).status_code == 200
    [thread] = threads(api, movie_id)
    assert (thread["id"], thread["deleted"], thread["replies"]) == (parent, True, [])
    assert_no_orphans_and_exact_counts(movie_id)


def test_the_movie_owner_can_moderate_comments(api: Api, alice: User, bob: User) -> None:
    movie_id = new_movie(api, alice)
    leaf = comment_on(api, bob, movie_id, "Spam")["id"]
    parent = comment_on(api, bob, movie_id, "More spam")["id"]
    reply_to(api, bob, parent)
    for comment_id in (leaf, parent):
        response = api.delete(f"/comments/{comment_id}", token=alice.token)
        assert response.status_code == 200
        assert body(response) == {"message": "success"}
    [thread] = threads(api, movie_id)
    assert (thread["id"], thread["deleted"], len(thread["replies"])) == (parent, True, 1)


def test_a_stranger_cannot_delete_and_nothing_changes(
    api: Api, alice: User, bob: User, carol: User
) -> None:
    movie_id = new_movie(api, alice)
    leaf = comment_on(api, bob, movie_id)["id"]
    parent = comment_on(api, bob, movie_id)["id"]
    reply_to(api, alice, parent)
    before = threads(api, movie_id)
    for comment_id in (leaf, parent):
        response = api.delete(f"/comments/{comment_id}", token=carol.token)
        assert response.status_code == 403
        assert body(response) == {"detail": "Not authorized to delete this comment"}
    assert threads(api, movie_id) == before
    assert_no_orphans_and_exact_counts(movie_id)


def test_unknown_comments_are_404(api: Api, alice: User) -> None:
    for response in (
        api.put("/comments/9999", {"comment_text": "Hello"}, token=alice.token),
        api.delete("/comments/9999", token=alice.token),
    ):
        assert response.status_code == 404
        assert body(response) == {"detail": "Comment not found"}


@pytest.mark.parametrize(
    ("method", "path", "loc"),
    [
        ("POST", "/comments/abc/replies", ["path", "parent_id"]),
        ("PUT", "/comments/0", ["path", "comment_id"]),
        ("DELETE", "/comments/9007199254740993", ["path", "comment_id"]),
        ("POST", "/movies/-1/comments", ["path", "movie_id"]),
    ],
)
def test_bad_ids_are_422_on_the_path(
    api: Api, alice: User, method: str, path: str, loc: list[str]
) -> None:
    response = api.request(method, path, {"comment_text": "Hello"}, token=alice.token)
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == loc


def test_delete_requires_a_token(api: Api, alice: User) -> None:
    comment = comment_on(api, alice, new_movie(api, alice))["id"]
    response = api.delete(f"/comments/{comment}")
    assert response.status_code == 401
    assert body(response) == {"detail": "Not authenticated"}
