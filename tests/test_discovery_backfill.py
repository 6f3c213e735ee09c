"""Movies written before discovery existed are listed and found once ``make backfill`` ran.

A table an older version wrote has movies with no list entries (they came
with this version's stream consumer). The backfill's movies step syncs
every movie: the ones without entries get them, the ones in step are read
and left alone, and a rerun changes nothing.
"""

from __future__ import annotations

from typing import Any

from chalicelib.storage.table import ListEntryItem, MovieItem, TableItem
from devtools.backfill import MOVIES, run_step
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, CallCounter, User, body
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
