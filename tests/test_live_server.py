"""The seed's tests and the race scenarios, as HTTP calls against ``make run``'s server.

The server is ``python -m devtools.devserver`` (what ``make run`` starts) in
a subprocess with its embedded moto, on a free port: real sockets, real
threads, the same gateway responses.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.api import PASSWORD, user_payload

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class LiveApi:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, payload: Any = None, token: str | None = None) -> Answer:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw, status, headers = response.read(), response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            raw, status, headers = error.read(), error.code, dict(error.headers)
        return Answer(status, headers, json.loads(raw) if raw else None)

    def user(self, name: str) -> tuple[int, str]:
        created = self.call("POST", "/signup", user_payload(name))
        assert created.status == 200, created.body
        login = self.call("POST", "/login", {"username": name, "password": PASSWORD})
        return created.body["id"], login.body["access_token"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live() -> Iterator[LiveApi]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update({"PORT": str(port), "TABLE_NAME": "movies-live", "STAGE": "local"})
    server = subprocess.Popen(
        [sys.executable, "-m", "devtools.devserver"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = LiveApi(f"http://127.0.0.1:{port}")
    try:
        for _ in range(300):
            try:
                if api.call("GET", "/health").status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the dev server did not start")
        yield api
    finally:
        # It stops in about 2 s (the stream runner's last poll, moto's server); a machine
        # busy with other work can take much longer, and a teardown must not fail a test.
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_seed_movie_flow_over_http(live: LiveApi) -> None:
    _, token = live.user("seedmovies")
    movie = live.call(
        "POST",
        "/new_movies",
        {"title": "King of boys", "description": "Drama", "release_date": "2018-04-24"},
        token,
    )
    assert movie.status == 200
    movie_id = movie.body["id"]
    updated = live.call("PUT", f"/movie_update/{movie_id}", {"title": "Updated Title"}, token)
    assert (updated.status, updated.body["title"]) == (200, "Updated Title")
    empty = live.call("PUT", f"/movie_update/{movie_id}", {"title": ""}, token)
    assert empty.status == 422
    assert empty.body["detail"][0]["loc"] == ["body", "title"]
    unknown = live.call("PUT", "/movie_update/9999", {"title": "Updated Title"}, token)
    assert (unknown.status, unknown.body) == (404, {"detail": "Movie not found"})
    older = live.call("POST", "/new_movies", {"title": "Older"}, token).body["id"]
    newest_first = [older, movie_id]
    for offset, expected in ((0, newest_first), (1, newest_first[1:]), (1000, [])):
        page = live.call("GET", f"/movies/user?offset={offset}&limit=10", token=token)
        assert page.status == 200
        assert page.body["message"] == "success"
        assert [m["id"] for m in page.body["data"]] == expected
    assert live.call("GET", "/movies/?offset=1000&limit=10").body["data"] == []
    assert live.call("GET", f"/movie/{movie_id}").body["title"] == "Updated Title"
    deleted = live.call("DELETE", f"/movie_delete/{movie_id}", token=token)
    assert (deleted.status, deleted.body["data"]["id"]) == (200, movie_id)
    gone = live.call("GET", f"/movie/{movie_id}")
    assert (gone.status, gone.body) == (404, {"detail": "Movie not found!"})


def test_seed_comment_flow_over_http(live: LiveApi) -> None:
    _, owner = live.user("seedowner")
    _, author = live.user("seedauthor")
    _, stranger = live.user("seedstranger")
    movie_id = live.call("POST", "/movies", {"title": "Talk"}, owner).body["id"]
    first = live.call("POST", f"/movies/{movie_id}/comments/", {"comment_text": "First!"}, author)
    assert first.status == 200
    for n in range(3):
        live.call("POST", f"/movies/{movie_id}/comments", {"comment_text": f"more {n}"}, author)
    page = live.call("GET", f"/movies/{movie_id}/comments/?skip=1&limit=2")
    assert [c["comment_text"] for c in page.body] == ["more 0", "more 1"]
    parent = first.body["id"]
    chain = [parent]
    for depth in range(5):
        reply = live.call(
            "POST", f"/comments/{chain[-1]}/replies/", {"comment_text": f"level {depth}"}, author
        )
        assert (reply.status, reply.body["parent_comment_id"]) == (200, chain[-1])
        chain.append(reply.body["id"])
    tree = live.call("GET", f"/movies/{movie_id}/comments?limit=1").body[0]
    for expected_id in chain[1:]:
        [tree] = tree["replies"]
        assert tree["id"] == expected_id
    refused = live.call("DELETE", f"/comments/{parent}/", token=stranger)
    assert (refused.status, refused.body) == (
        403,
        {"detail": "Not authorized to delete this comment"},
    )


def test_sixteen_users_rating_at_once_leave_exact_counters(live: LiveApi) -> None:
    _, owner = live.user("ratedowner")
    movie_id = live.call("POST", "/movies", {"title": "Popular"}, owner).body["id"]
    tokens = [live.user(f"rater{n}")[1] for n in range(16)]
    values = [n % 10 + 1 for n in range(16)]

    def rate(pair: tuple[str, int]) -> int:
        token, value = pair
        return live.call("POST", f"/movies/{movie_id}/ratings", {"rating": value}, token).status

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(rate, zip(tokens, values, strict=True)))
    assert statuses == [200] * 16
    average = live.call("GET", f"/movies/{movie_id}/ratings/average").body
    assert average == {
        "average_rating": round(sum(values) / 16, 2),
        "rating_count": 16,
    }
    assert len(live.call("GET", f"/movies/{movie_id}/ratings?limit=100").body) == 16


def test_seed_average_of_three_ratings(live: LiveApi) -> None:
    _, owner = live.user("avgowner")
    movie_id = live.call("POST", "/movies", {"title": "Avg"}, owner).body["id"]
    for n, value in enumerate((5, 7, 8)):
        _, token = live.user(f"avg{n}")
        live.call("POST", f"/movies/{movie_id}/ratings/", {"rating": value}, token)
    average = live.call("GET", f"/movies/{movie_id}/ratings/average").body
    assert average == {"average_rating": 6.67, "rating_count": 3}


# README, "The stream": under make run, list items catch up within a few seconds.
LOCAL_FRESHNESS_SECONDS = 5.0


def test_a_rating_reaches_the_movie_list_within_the_local_freshness_bound(
    live: LiveApi, record_property: Any
) -> None:
    """The average is exact at once; the list's copy follows through the stream runner."""
    _, owner = live.user("freshowner")
    _, rater = live.user("freshrater")
    movie_id = live.call("POST", "/movies", {"title": "Fresh"}, owner).body["id"]
    assert live.call("POST", f"/movies/{movie_id}/ratings", {"rating": 8}, rater).status == 200
    rated_at = time.monotonic()
    average = live.call("GET", f"/movies/{movie_id}/ratings/average").body
    assert average == {"average_rating": 8.0, "rating_count": 1}
    deadline = rated_at + LOCAL_FRESHNESS_SECONDS
    while True:
        listed = live.call("GET", "/movies?limit=100").body["data"]
        [movie] = [m for m in listed if m["id"] == movie_id]
        if movie["rating_count"] == 1:
            break
        assert time.monotonic() < deadline, "the list did not catch up in time"
        time.sleep(0.05)
    elapsed = time.monotonic() - rated_at
    record_property("list_freshness_seconds", round(elapsed, 2))
    assert movie["average_rating"] == 8.0


def test_a_new_movie_and_its_rating_reach_search_and_the_ranked_lists_in_the_bound(
    live: LiveApi, record_property: Any
) -> None:
    """Search and the ranked orders are built by the stream runner, within the same bound."""
    _, owner = live.user("findowner")
    _, rater = live.user("findrater")
    created = live.call(
        "POST", "/movies", {"title": "Zyzzyva Nights", "genres": ["horror"]}, owner
    ).body
    assert live.call("POST", f"/movies/{created['id']}/ratings", {"rating": 7}, rater).status == 200
    rated_at = time.monotonic()
    deadline = rated_at + LOCAL_FRESHNESS_SECONDS
    while True:
        found = live.call("GET", "/movies/search?q=zyzz").body["data"]
        ranked = live.call("GET", "/movies?sort=top_rated&genre=Horror&limit=100").body["data"]
        if [m["rating_count"] for m in found] == [1] and created["id"] in {m["id"] for m in ranked}:
            break
        assert time.monotonic() < deadline, "search and the ranked list did not catch up in time"
        time.sleep(0.05)
    record_property("discovery_freshness_seconds", round(time.monotonic() - rated_at, 2))
    assert found[0]["title"] == "Zyzzyva Nights"
    assert found[0]["genres"] == ["Horror"]
