"""Review of issue 13 (discovery, search, my ratings): interleavings and inputs tried on it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.storage import listings
from chalicelib.storage.table import ListEntryItem, MovieItem, TableItem
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, User, body
from tests.helpers.discovery import all_items, ids, new_movie


def held(movie_id: int) -> dict[str, str]:
    return {
        entry.sk: entry.digest
        for entry in TableItem.query(
            MovieItem.partition(movie_id), TableItem.sk.startswith(ListEntryItem.PREFIX)
        )
        if isinstance(entry, ListEntryItem)
    }


def wanted(movie_id: int) -> dict[str, str]:
    try:
        movie = MovieItem.get(*MovieItem.key(movie_id), consistent_read=True)
    except MovieItem.DoesNotExist:
        return {}
    return {entry.sk: entry.digest for entry in listings.entries_for(movie)}


def found(api: Api, query: str) -> list[int]:
    return ids(all_items(api, "/movies/search", {"q": query}, 100))


def stale_write_after(monkeypatch: pytest.MonkeyPatch, meanwhile: Any) -> list[int]:
    """Make the next ``listings.sync``'s first write wait for ``meanwhile()`` to run."""
    real = listings.batch_write
    calls: list[int] = []

    def delayed(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            monkeypatch.setattr(listings, "batch_write", real)
            meanwhile()
        return real(*args, **kwargs)

    monkeypatch.setattr(listings, "batch_write", delayed)
    return calls


def test_a_stale_sync_writing_after_a_newer_one_leaves_the_newer_entries(
    api: Api, alice: User, stream: StreamRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    movie = new_movie(api, alice, "Queen of Girls", genres=["Drama"], release_date="2001-04-25")
    stream.drain()
    response = api.patch(f"/movies/{movie['id']}", {"description": "x"}, token=alice.token)
    assert response.status_code == 200, response.body

    def renamed_and_synced_by_a_newer_consumer() -> None:
        # After the stale consumer read the movie, before it writes.
        changed = api.patch(
            f"/movies/{movie['id']}",
            {"title": "Kingdom", "genres": ["War"], "release_date": None},
            token=alice.token,
        )
        assert changed.status_code == 200, changed.body
        listings.sync(movie["id"])

    calls = stale_write_after(monkeypatch, renamed_and_synced_by_a_newer_consumer)
    listings.sync(movie["id"])
    assert len(calls) == 1
    assert held(movie["id"]) == wanted(movie["id"])
    assert found(api, "queen") == []
    assert found(api, "kingdom") == [movie["id"]]


def test_a_sync_that_writes_after_its_movie_was_deleted_and_cleaned_up_leaves_nothing(
    api: Api, alice: User, stream: StreamRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    movie = new_movie(api, alice, "Queen of Girls", genres=["Drama"], release_date="2001-04-25")
    stream.drain()
    response = api.patch(f"/movies/{movie['id']}", {"title": "Kingdom"}, token=alice.token)
    assert response.status_code == 200, response.body

    def deleted_and_cleaned() -> None:
        gone = api.delete(f"/movies/{movie['id']}", token=alice.token)
        assert gone.status_code == 204, gone.body
        stream.drain()

    stale_write_after(monkeypatch, deleted_and_cleaned)
    listings.sync(movie["id"])
    assert held(movie["id"]) == {}
    assert found(api, "kingdom") == []
    assert found(api, "queen") == []


# A 90-character Korean query of distinct words: NFKD splits each syllable into two or three
# jamo, and the cursor's JSON escapes each as ``\\uXXXX``, so the list id in the cursor is
# about 1,100 characters before base64, and the whole cursor about 2,180: over the 2,048
# the API accepts back.
KOREAN = (
    "서울의 봄이 오면 우리는 다시 만나요 그때까지 안녕히 계세요 사랑해요 고맙습니다 친구들 "
    "함께 노래를 불러요 하늘이 푸르고 바다가 넓어요 영화관에서 팝콘을 먹었어요"
)


def test_a_next_cursor_of_a_long_korean_search_is_accepted_back(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    made = {new_movie(api, alice, f"{KOREAN} {n}")["id"] for n in range(6)}
    stream.drain()
    first = api.get(f"/movies/search?q={quote(KOREAN)}&limit=3")
    assert first.status_code == 200, first.body
    assert {movie["id"] for movie in body(first)["data"]} <= made
    cursor = body(first)["next_cursor"]
    assert cursor is not None
    second = api.get(f"/movies/search?q={quote(KOREAN)}&limit=3&cursor={cursor}")
    # Fails: the cursor is 2,179 characters, and a cursor over 2,048 is refused (422).
    assert second.status_code == 200, (len(cursor), second.body)
    assert {movie["id"] for movie in body(second)["data"]} <= made
