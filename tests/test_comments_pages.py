"""A movie's threads in cursor pages: each thread once and whole, at a bounded read cost."""

from __future__ import annotations

from typing import Any

from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.comments import comment_on, ids, new_movie, reply_to, threads

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
