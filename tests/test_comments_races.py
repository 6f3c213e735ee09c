"""Replies and deletes racing: whichever lands first, nothing is lost or orphaned."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib import failures
from chalicelib.storage import comments, engine
from chalicelib.storage.table import CommentItem
from tests.helpers.api import Api, User, body
from tests.helpers.comments import comment_on, ids, new_movie, reply_to, threads
from tests.helpers.movies import assert_no_orphans_and_exact_counts


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
