"""Rating a movie through the API, what it answers, and the exact counters behind it.

The fixtures (``movie_id``: a movie of Alice's; ``raters``: five more
users) are registered for every test by ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.storage import ratings
from tests.helpers.api import Api, User, body

MovieId = int


def create_movie(api: Api, owner: User) -> MovieId:
    response = api.post("/movies", {"title": "King of boys"}, token=owner.token)
    assert response.status_code == 201, response.body
    return int(body(response)["id"])


def rate(api: Api, user: User, movie_id: MovieId, value: Any) -> Any:
    return api.post(f"/movies/{movie_id}/ratings", {"rating": value}, token=user.token)


def rated(api: Api, user: User, movie_id: MovieId, value: int) -> dict[str, Any]:
    response = rate(api, user, movie_id, value)
    assert response.status_code == 200, response.body
    return body(response)  # type: ignore[no-any-return]


def average(api: Api, movie_id: MovieId) -> dict[str, Any]:
    response = api.get(f"/movies/{movie_id}/ratings/average")
    assert response.status_code == 200, response.body
    return body(response)  # type: ignore[no-any-return]


def listed(api: Api, movie_id: MovieId, query: str = "limit=100") -> list[dict[str, Any]]:
    response = api.get(f"/movies/{movie_id}/ratings?{query}")
    assert response.status_code == 200, response.body
    return body(response)  # type: ignore[no-any-return]


def counters(movie_id: MovieId) -> tuple[int, int]:
    """The movie's exact ``(rating_count, rating_sum)``: its counter shards, summed."""
    counted = ratings.counters(movie_id)
    assert counted is not None
    return counted.rating_count, counted.rating_sum


@pytest.fixture
def movie_id(api: Api, alice: User) -> MovieId:
    return create_movie(api, alice)


@pytest.fixture
def raters(make_user: Callable[[str], User]) -> list[User]:
    return [make_user(f"rater{n}") for n in range(5)]
