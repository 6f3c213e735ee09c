"""Discovery at its edges: racing syncs, deleted movies, huge titles, long queries, moving ranks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.storage import imports, listings
from chalicelib.storage.engine import batch_write
from chalicelib.storage.imports import ImportedMovie, ImportedRating
from chalicelib.storage.movies import new_movie_items
from chalicelib.storage.table import LIST_SHARDS, ListEntryItem, MovieItem, TableItem, spread
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.discovery import all_items, ids, new_movie, rate


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
    real = batch_write
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
    # NFKD splits each syllable into 2-3 letters: the cursor must still fit in 2,048.
    assert second.status_code == 200, (len(cursor), second.body)
    assert {movie["id"] for movie in body(second)["data"]} <= made


def test_a_migrated_movie_needs_no_sync_writes_afterwards(dynamodb_calls: CallCounter) -> None:
    """The migration writes the entries the consumer would: its sync then finds all in step."""
    at = dt.datetime(2020, 5, 17, 12, 30, 45, 123456, tzinfo=dt.UTC)
    movie = ImportedMovie(7, 3, "Amélie: la Fabuleuse", None, dt.date(2001, 4, 25), at, at)
    kept = [ImportedRating(n, 7, 100 + n, n % 10 + 1, at, at) for n in range(1, 4)]
    items = imports.movie_items(movie, kept)
    batch_write(items)
    dynamodb_calls.reset()
    assert listings.sync(7) == 0
    assert dynamodb_calls.calls.get("BatchWriteItem", 0) == 0


def write_units(entry: ListEntryItem) -> int:
    """What a put of ``entry`` costs the table (1 WCU per KB); GSI3 costs as much again."""
    size = len(json.dumps(entry.serialize(), ensure_ascii=False).encode())
    return -(-size // 1024)


# 40 words of four squared-katakana signs (each NFKD-expands to 3-5 letters): 200 characters
# whose words each have 20 distinct prefixes.
SQUARED = "".join(chr(code) for code in range(0x3300, 0x3358))
KATAKANA_TITLE = " ".join(
    [SQUARED[i : i + 4] for i in range(0, 88, 4)]
    + [SQUARED[i + 1 : i + 5] for i in range(0, 84, 4)]
)[:200]


@pytest.mark.parametrize(
    "title",
    [
        " ".join(f"{letter * 19}{n}" for n, letter in enumerate("abcdefghi"))[:200],
        KATAKANA_TITLE,
    ],
    ids=["ascii", "katakana"],
)
def test_a_recount_of_a_long_titled_movie_rewrites_under_a_partitions_second_of_writes(
    title: str,
) -> None:
    """Every entry holds the counters, so each recount rewrites them all, in one partition.

    All of a movie's entries share its ``pk``, whose partition takes 1,000 WCU a second.
    Unbounded, a valid movie (200-character title, 5,000-character description of
    accented letters) had 199 entries costing 2,189 WCU (ASCII title) or 551 costing
    7,126 WCU (the katakana title) on every recount: search prefixes stop where the
    entries would pass 1,000.
    """
    assert len(title) <= 200
    fields = {
        "title": title,
        "description": "é" * 5000,
        "release_date": dt.date(2001, 4, 25),
        "genres": ["Action", "Drama", "War"],
    }
    movie, _ = new_movie_items(7, 3, fields)
    movie.rating_count, movie.rating_sum = 5, 40
    entries = listings.entries_for(movie)
    assert sum(write_units(entry) for entry in entries) <= 1000, len(entries)


def test_a_search_with_a_common_longest_word_finds_its_match_on_the_first_page(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    """ "the xq" reads the key of "the" (its longest word) and filters by "xq".

    Looked up under "the", with 25 newer "The ..." movies, the first pages were empty,
    with a next_cursor: a very common word is not the key when the query has another.
    """
    match = new_movie(api, alice, "The Xquisite")["id"]
    for n in range(25):
        new_movie(api, alice, f"The Movie {n}")
    stream.drain()
    first = api.get("/movies/search?q=the%20xq&limit=10")
    assert first.status_code == 200, first.body
    assert found(api, "the xq") == [match]
    assert ids(body(first)["data"]) == [match]


def test_a_movie_that_drops_in_rank_between_pages_is_shown_again(
    api: Api, alice: User, bob: User, make_user: Callable[[str], User], stream: StreamRunner
) -> None:
    """What a client paging a ranked list sees when a movie moves meanwhile (README, Decisions).

    The cursor is a position, not a snapshot: a movie that falls behind it is shown again
    on a later page, and one that rises past it is never shown. A position is a shard's:
    the first movie shares its list shard with the second, so that shard is not read to
    its end on the first page (a shard read to its end is not read again).
    """
    first = new_movie(api, alice, "A")["id"]
    shard = spread(first, LIST_SHARDS)
    candidates = (new_movie(api, alice, "B")["id"] for _ in range(40))  # unrated: unlisted
    second = next(movie for movie in candidates if spread(movie, LIST_SHARDS) == shard)
    third = new_movie(api, alice, "C")["id"]
    for movie_id, value in ((first, 10), (second, 9), (third, 8)):
        rate(api, bob, movie_id, value)
    stream.drain()
    page_one = body(api.get("/movies?sort=top_rated&limit=1"))
    assert ids(page_one["data"]) == [first]
    rate(api, make_user("carol"), first, 1)  # (11 + 55) / 12 = 5.5: now last
    stream.drain()
    rest = all_items(api, "/movies", {"sort": "top_rated", "cursor": page_one["next_cursor"]}, 1)
    assert ids(rest) == [second, third, first]  # the first movie, twice in one walk
