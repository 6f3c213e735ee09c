"""Upgrading to discovery: old movies are listed after ``make backfill``; a new index answers 503.

A table an older version wrote has movies with no list entries (they came
with this version's stream consumer). The backfill's movies step syncs
every movie: the ones without entries get them, the ones in step are read
and left alone, and a rerun changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.storage.table import ListEntryItem, MovieItem, TableItem
from devtools.backfill import MOVIES, run_step
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.faults import error_answer, install
from tests.helpers.snapshots import table_items


def entries_of(movie_id: int) -> list[str]:
    found = TableItem.query(
        MovieItem.partition(movie_id), TableItem.sk.startswith(ListEntryItem.PREFIX)
    )
    return sorted(entry.sk for entry in found)


def as_written_before_discovery(movie_id: int) -> None:
    """What an older version left: the movie, without a single list entry."""
    for sk in entries_of(movie_id):
        ListEntryItem(MovieItem.partition(movie_id), sk).delete()


def titles(page: dict[str, Any]) -> list[str]:
    return [movie["title"] for movie in page["data"]]


def test_the_backfill_lists_old_movies_and_leaves_listed_ones_alone(
    api: Api, alice: User, bob: User, stream: StreamRunner, dynamodb_calls: CallCounter
) -> None:
    created = api.post("/movies", {"title": "Old Times", "genres": ["Drama"]}, token=alice.token)
    old = body(created)["id"]
    new = body(api.post("/movies", {"title": "New Times"}, token=alice.token))["id"]
    assert api.post(f"/movies/{old}/ratings", {"rating": 9}, token=bob.token).status_code == 200
    stream.drain()
    listed = entries_of(old)
    # Drama's newest; top and most rated, overall and of Drama; "o".."old", "t".."times".
    assert len(listed) == 1 + 4 + 3 + 5
    as_written_before_discovery(old)
    assert titles(body(api.get("/movies/search?q=times"))) == ["New Times"]
    assert titles(body(api.get("/movies?sort=top_rated"))) == []
    before = table_items()
    dynamodb_calls.reset()

    assert run_step(MOVIES, segments=2) == 1  # the old movie; the new one was in step

    assert dynamodb_calls.calls["BatchWriteItem"] == 1  # the old movie's 13 entries
    assert entries_of(old) == listed
    after = table_items()
    assert {key[0] for key in after if after.get(key) != before.get(key)} == {
        MovieItem.partition(old)
    }
    assert titles(body(api.get("/movies/search?q=times"))) == ["Old Times", "New Times"]
    assert titles(body(api.get("/movies?sort=top_rated&genre=drama"))) == ["Old Times"]
    assert run_step(MOVIES, segments=2) == 0
    assert table_items() == after
    assert new in {movie["id"] for movie in body(api.get("/movies?limit=100"))["data"]}


BACKFILLING = error_answer(
    "ValidationException", message="Cannot read from backfilling global secondary index: gsi3"
)


def test_while_a_new_index_is_still_being_built_its_lists_answer_503(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after the upgrade that adds GSI3, DynamoDB refuses to read it for a while."""
    faults = install(monkeypatch)
    faults.fail("Query", BACKFILLING, times=2)  # both shards' Queries, sent at once
    response = api.get("/movies?sort=top_rated")
    assert response.status_code == 503
    assert body(response) == {"detail": "Service temporarily unavailable; try again shortly"}
    # A cached page: the 503 may be served from the stage cache for its TTL, so it asks for that.
    assert response.headers["Retry-After"] == "10"
    assert api.get("/movies?sort=top_rated").status_code == 200  # built: answered again
