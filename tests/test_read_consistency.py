"""Which reads are strongly consistent: those whose answer must be exact at once.

The counter shards (the detail's and the average's counters) and every read
a write or a 404 depends on are strongly consistent; the movie detail's
movie-and-threads Query is eventually consistent (half the read units), and
a lagging answer to it never turns a movie created a moment ago into a 404.
moto ignores consistency, so the lag is simulated: an eventually consistent
Query is answered with no items, as a replica that has not caught up would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.api import Api, User, body
from tests.helpers.table import app_hook


class Reads:
    """Records each Query's start and consistency; can make eventually consistent ones lag.

    A lagging Query is pointed at a partition that holds nothing, so it
    comes back empty, as a replica that has not caught up would answer.
    """

    def __init__(self) -> None:
        self.queries: list[tuple[str, bool]] = []
        self.lagging = False

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        consistent = bool(params.get("ConsistentRead"))
        values = params.get("ExpressionAttributeValues", {})
        texts = [value["S"] for value in values.values() if "S" in value]
        sort_keys = sorted(text for text in texts if not text.startswith("MOVIE#"))
        self.queries.append((sort_keys[0] if sort_keys else "", consistent))
        if self.lagging and not consistent:
            for value in values.values():
                if value.get("S", "").startswith("MOVIE#"):
                    value["S"] = "MOVIE#0"


@pytest.fixture
def reads() -> Iterator[Reads]:
    recorder = Reads()
    with app_hook("provide-client-params.dynamodb.Query", recorder):
        yield recorder


def test_the_detail_reads_its_counters_consistently_and_its_threads_eventually(
    api: Api, alice: User, reads: Reads
) -> None:
    movie = body(api.post("/movies", {"title": "Both"}, token=alice.token))
    reads.queries.clear()
    assert api.get(f"/movies/{movie['id']}").status_code == 200
    assert sorted(reads.queries) == [("MOVIE", False), ("RATING#C#00", True)]


def test_the_average_and_the_list_pages_read_consistently(
    api: Api, alice: User, reads: Reads
) -> None:
    movie_id = body(api.post("/movies", {"title": "Exact"}, token=alice.token))["id"]
    reads.queries.clear()
    for path in ("ratings/average", "ratings", "comments"):
        assert api.get(f"/movies/{movie_id}/{path}").status_code == 200
    assert [consistent for _, consistent in reads.queries] == [True, True, True]


def test_a_movie_just_created_is_never_a_404_while_a_replica_lags(
    api: Api, alice: User, reads: Reads
) -> None:
    movie = body(api.post("/movies", {"title": "Brand new"}, token=alice.token))
    api.post(f"/movies/{movie['id']}/comments", {"comment_text": "First!"}, token=alice.token)
    reads.lagging = True
    reads.queries.clear()

    response = api.get(f"/movies/{movie['id']}")

    assert response.status_code == 200, response.body
    detail = body(response)
    assert (detail["title"], [c["comment_text"] for c in detail["comments"]]) == (
        "Brand new",
        ["First!"],
    )
    # The lagging read, the shards' read, then the movie's again, consistently.
    assert sorted(reads.queries) == [("MOVIE", False), ("MOVIE", True), ("RATING#C#00", True)]


def test_an_unknown_movie_is_a_404_in_one_round_trip_even_while_a_replica_lags(
    api: Api, reads: Reads
) -> None:
    reads.lagging = True
    response = api.get("/movies/4242")
    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found!"}
    assert len(reads.queries) == 2  # the shards' consistent read says it: no re-read
