"""Comments: threads with replies at any depth, tombstones, moderation and paging."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib import failures
from chalicelib.storage import comments, engine
from chalicelib.storage.table import (
    MAX_COMMENT_DEPTH,
    CommentItem,
)
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.movies import assert_no_orphans_and_exact_counts

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


def all_ids(nodes: list[dict[str, Any]]) -> set[int]:
    """Every comment id in a list of trees."""
    return {node["id"] for node in nodes} | {
        reply for node in nodes for reply in all_ids(node["replies"])
    }


@pytest.fixture
def carol(make_user: Callable[[str], User]) -> User:
    return make_user("carol")


@contextmanager
def between_read_and_write(operation: str, competitor: Callable[[], object]) -> Iterator[None]:
    """Run ``competitor`` once, right after the next ``operation`` call returns.

    Every comment write by id reads the comment's ref (a GetItem) and then
    writes; hooking that read puts another request exactly in the gap.
    """
    fired = False

    def hook(**_: Any) -> None:
        nonlocal fired
        if not fired:
            fired = True
            competitor()

    events = engine.connection().client.meta.events
    event = f"after-call.dynamodb.{operation}"
    events.register(event, hook)
    try:
        yield
    finally:
        events.unregister(event, hook)
    assert fired


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


# ---------------------------------------------------------------- paging


def shown(threads: list[dict[str, Any]]) -> int:
    """How many comments a list of threads shows, replies at every depth included."""
    return sum(1 + shown(thread["replies"]) for thread in threads)


def page_through(
    api: Api, movie_id: int, limit: int, counter: CallCounter | None = None, max_calls: int = 1
) -> list[list[dict[str, Any]]]:
    """Every page of threads, following ``Link`` headers; checks each page's headers.

    With ``counter``, also each page's cost: at most ``max_calls`` Queries,
    reading at most twice the comments it shows plus two, and on a page
    after a cursor the one GetItem of the movie (is it still there?).
    """
    pages: list[list[dict[str, Any]]] = []
    path: str | None = f"/movies/{movie_id}/comments?limit={limit}"
    while path is not None:
        if counter is not None:
            counter.reset()
        response = api.get(path)
        assert response.status_code == 200, response.body
        if counter is not None:
            assert counter.calls["Query"] <= max_calls, (len(pages), counter.calls)
            assert counter.total == counter.calls["Query"] + (1 if pages else 0), counter.calls
            assert counter.items_read <= 2 * shown(body(response)) + 2, len(pages)
        pages.append(body(response))
        cursor = response.headers.get("X-Next-Cursor")
        link = response.headers.get("Link")
        if cursor is None:
            assert link is None
            path = None
        else:
            path = f"/movies/{movie_id}/comments?limit={limit}&cursor={cursor}"
            assert link == f'<{path}>; rel="next"'
    return pages


def test_cursor_pages_see_every_thread_once_oldest_first(
    api: Api, alice: User, bob: User, dynamodb_calls: CallCounter
) -> None:
    movie_id = new_movie(api, alice)
    made = []
    for n in range(13):
        made.append(comment_on(api, bob, movie_id, f"Thread {n}")["id"])
        if n % 4 == 0:
            reply_to(api, alice, reply_to(api, alice, made[-1])["id"])
    pages = page_through(api, movie_id, 3, dynamodb_calls)
    assert [len(page) for page in pages] == [3, 3, 3, 3, 1]
    assert [thread["id"] for page in pages for thread in page] == made
    assert [len(thread["replies"]) for page in pages for thread in page] == [
        1 if n % 4 == 0 else 0 for n in range(13)
    ]


def test_a_big_thread_comes_back_whole_across_the_read_size(
    api: Api, alice: User, bob: User, dynamodb_calls: CallCounter
) -> None:
    """50 replies outgrow a page's first read; the reads go on, never more than twice the page."""
    movie_id = new_movie(api, alice)
    small = comment_on(api, bob, movie_id, "Small")["id"]
    big = comment_on(api, bob, movie_id, "Big")["id"]
    replies = [reply_to(api, alice, big, f"Reply {n}")["id"] for n in range(50)]
    last = comment_on(api, bob, movie_id, "Last")["id"]
    for limit in (1, 2, 10):
        pages = page_through(api, movie_id, limit)
        listed = [thread for page in pages for thread in page]
        assert ids(listed) == [small, big, last]
        assert ids(listed[1]["replies"]) == replies
    for limit in (1, 2, 10):
        # Each read doubles what was read: 51 comments from a first read of 4 take 5 reads.
        pages = page_through(api, movie_id, limit, dynamodb_calls, max_calls=5)
        assert [thread["id"] for page in pages for thread in page] == [small, big, last]


def test_a_page_of_flat_threads_reads_at_most_twice_what_it_shows_plus_two(
    api: Api, alice: User, bob: User, dynamodb_calls: CallCounter
) -> None:
    movie_id = new_movie(api, alice)
    for n in range(25):
        comment_on(api, bob, movie_id, f"Thread {n}")
    pages = page_through(api, movie_id, 10, dynamodb_calls)
    assert [len(page) for page in pages] == [10, 10, 5]


def test_a_page_after_a_cursor_of_a_movie_deleted_since_is_404(
    api: Api, alice: User, bob: User, dynamodb_calls: CallCounter
) -> None:
    movie_id = new_movie(api, alice)
    for n in range(3):
        comment_on(api, bob, movie_id, f"Thread {n}")
    cursor = api.get(f"/movies/{movie_id}/comments?limit=1").headers["X-Next-Cursor"]
    assert api.delete(f"/movies/{movie_id}", token=alice.token).status_code == 204

    dynamodb_calls.reset()
    response = api.get(f"/movies/{movie_id}/comments?limit=1&cursor={cursor}")

    assert response.status_code == 404  # the comments are still there: the stream has not run
    assert body(response) == {"detail": "Movie not found"}
    assert dynamodb_calls.calls == {"Query": 1, "GetItem": 1}  # sent at once


def test_tampered_or_foreign_cursors_are_400(api: Api, alice: User) -> None:
    movie_id = new_movie(api, alice)
    other_movie = new_movie(api, alice)
    for _ in range(2):
        comment_on(api, alice, movie_id)
    cursor = api.get(f"/movies/{movie_id}/comments?limit=1").headers["X-Next-Cursor"]
    payload, signature = cursor.split(".")
    flipped = "A" if payload[-2] != "A" else "B"
    tampered = f"{payload[:-2]}{flipped}{payload[-1]}.{signature}"
    for bad, detail in (
        (tampered, "Invalid cursor"),
        ("not-a-cursor", "Invalid cursor"),
        (cursor, "Cursor belongs to a different list"),
    ):
        target = other_movie if bad == cursor else movie_id
        response = api.get(f"/movies/{target}/comments?cursor={bad}")
        assert response.status_code == 400
        assert body(response) == {"detail": detail}


def test_movie_detail_embeds_threads_with_nested_replies(api: Api, alice: User, bob: User) -> None:
    movie_id = new_movie(api, alice)
    root = comment_on(api, bob, movie_id)["id"]
    child = reply_to(api, alice, root)["id"]
    grandchild = reply_to(api, bob, child)["id"]
    detail = body(api.get(f"/movies/{movie_id}"))
    assert detail["comments"] == threads(api, movie_id)
    [thread] = detail["comments"]
    assert thread["id"] == root
    assert ids(thread["replies"]) == [child]
    assert ids(thread["replies"][0]["replies"]) == [grandchild]


# ---------------------------------------------------------------- races


def test_a_reply_landing_before_the_delete_writes_turns_it_into_a_tombstone(
    api: Api, alice: User, bob: User
) -> None:
    movie_id = new_movie(api, alice)
    parent = comment_on(api, alice, movie_id)["id"]
    late: list[CommentItem] = []
    with between_read_and_write(
        "GetItem", lambda: late.append(comments.add_reply(parent, bob.id, "Late reply"))
    ):
        response = api.delete(f"/comments/{parent}", token=alice.token)
    assert response.status_code == 200
    [thread] = threads(api, movie_id)
    assert (thread["id"], thread["deleted"]) == (parent, True)
    assert ids(thread["replies"]) == [late[0].id]
    assert_no_orphans_and_exact_counts(movie_id)


def test_a_delete_landing_before_the_reply_writes_refuses_the_reply(
    api: Api, alice: User, bob: User
) -> None:
    movie_id = new_movie(api, alice)
    parent = comment_on(api, alice, movie_id)["id"]
    with between_read_and_write("GetItem", lambda: comments.delete_comment(parent, alice.id)):
        response = api.post(f"/comments/{parent}/replies", {"comment_text": "Hi"}, token=bob.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Comment not found"}
    assert threads(api, movie_id) == []
    assert_no_orphans_and_exact_counts(movie_id)


@pytest.mark.parametrize("round_number", range(3))
def test_replies_racing_a_delete_are_never_lost_or_orphaned(
    api: Api, alice: User, bob: User, round_number: int
) -> None:
    """Threads reply to a comment while its author deletes it (storage calls:
    the test client shares one ``current_request`` between threads)."""
    movie_id = new_movie(api, alice)
    parent = comment_on(api, alice, movie_id)["id"]
    kept = reply_to(api, bob, parent)["id"] if round_number == 2 else None
    repliers = 5
    barrier = threading.Barrier(repliers + 1)
    landed: list[int] = []
    refused: list[int] = []

    def reply(n: int) -> None:
        barrier.wait()
        try:
            landed.append(comments.add_reply(parent, bob.id, f"Reply {n}").id)
        except failures.CommentNotFound:
            refused.append(n)

    def delete() -> None:
        barrier.wait()
        comments.delete_comment(parent, alice.id)

    workers = [threading.Thread(target=reply, args=(n,)) for n in range(repliers)]
    workers.append(threading.Thread(target=delete))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(landed) + len(refused) == repliers
    listed = threads(api, movie_id)
    survivors = set(landed) | ({kept} if kept else set())
    if survivors:
        [thread] = listed
        assert (thread["id"], thread["deleted"]) == (parent, True)
        assert set(ids(thread["replies"])) == survivors
    else:
        assert listed == []
    assert_no_orphans_and_exact_counts(movie_id)
