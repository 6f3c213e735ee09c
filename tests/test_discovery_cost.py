"""What a page of a sorted or filtered list or of a search costs: counted, never timed.

Each list is split over two shards, so a page is one Query per shard,
sent at once (one round trip), each reading at most ``limit + 1`` entries:
at most ``2 * limit + 2`` items read, whatever the page's depth, and never
a Scan. A later page skips a shard it has read to its end.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, CallCounter, User, body
from tests.helpers.discovery import label, new_movie, rate, url
from tests.helpers.snapshots import built_once
from tests.helpers.table import app_hook

LIMIT = 2
LISTS: list[tuple[str, dict[str, Any]]] = [
    ("/movies", {}),
    ("/movies", {"sort": "top_rated"}),
    ("/movies", {"sort": "most_rated"}),
    ("/movies", {"sort": "release_date"}),
    ("/movies", {"genre": "Drama"}),
    ("/movies", {"sort": "top_rated", "genre": "Drama"}),
    ("/movies", {"year": 2001}),
    ("/movies", {"sort": "release_date", "year": 2001}),
    ("/movies/search", {"q": "star"}),
    ("/movies/search", {"q": "st"}),
    ("/movies/search", {"q": "star war"}),  # read by "star", checked for "war": short pages
]
MOVIES = 11


@pytest.fixture
def shelf(api: Api, make_user: Callable[[str], User], stream: StreamRunner) -> None:
    """Eleven rated Drama movies of 2001, "Star <n>", every third also "Wars"."""

    def build() -> None:
        owner = make_user("owner")
        for n in range(MOVIES):
            title = f"Star {n} Wars" if n % 3 == 0 else f"Star {n}"
            movie = new_movie(
                api, owner, title, genres=["Drama"], release_date=f"2001-01-{n + 1:02d}"
            )
            rate(api, owner, movie["id"], 1 + n % 10)
        stream.drain()

    built_once("discovery shelf", build)


def read(api: Api, path: str, params: dict[str, Any]) -> dict[str, Any]:
    response = api.get(url(path, params))
    assert response.status_code == 200, response.body
    return body(response)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("path", "params"), LISTS, ids=[label(p) for _, p in LISTS])
def test_every_page_is_a_query_per_shard_reading_at_most_twice_the_page_plus_two(
    api: Api, shelf: None, dynamodb_calls: CallCounter, path: str, params: dict[str, Any]
) -> None:
    cursor, pages, shown = None, 0, 0
    while True:
        dynamodb_calls.reset()
        answer = read(
            api, path, {**params, "limit": LIMIT, **({"cursor": cursor} if cursor else {})}
        )
        queries = dynamodb_calls.calls["Query"]
        assert dynamodb_calls.calls == Counter({"Query": queries}), dynamodb_calls.calls  # no Scan
        assert queries == 2 if pages == 0 else 1 <= queries <= 2
        assert dynamodb_calls.items_read <= 2 * LIMIT + 2
        pages, shown, cursor = pages + 1, shown + len(answer["data"]), answer["next_cursor"]
        if cursor is None:
            break
    assert shown and pages >= shown / LIMIT  # the shelf filled several pages


@pytest.mark.parametrize(("path", "params"), LISTS, ids=[label(p) for _, p in LISTS])
def test_a_pages_two_queries_are_in_flight_at_once(
    api: Api, shelf: None, path: str, params: dict[str, Any]
) -> None:
    both_sent = threading.Barrier(2, timeout=5)  # broken unless two Queries wait here together
    partitions: list[str] = []

    def meet(params: dict[str, Any], **_: Any) -> None:
        values = params["ExpressionAttributeValues"]
        keyed = re.findall(r":\w+", params["KeyConditionExpression"])
        partitions.extend(values[name]["S"] for name in keyed)
        both_sent.wait()

    with app_hook("before-parameter-build.dynamodb.Query", meet):
        answer = read(api, path, {**params, "limit": LIMIT})
    assert answer["data"]
    assert len(set(partitions)) == 2  # one Query per shard of the list
