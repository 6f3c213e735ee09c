"""Worlds: what a test finds in the table before it starts, made through the API.

``movie_with_a_thread`` is the one builder: a movie with a rating, a comment
on it and a reply to that comment. Each world adds its own cast: the
``world`` fixture here (registered for every test by ``tests/conftest.py``)
is the fault tests' (Alice and Bob, and a second session of Alice's); the
fuzzing and authorization tests define a ``world`` of their own, which
takes precedence in their modules. A world is built once per test process
(``snapshots.built_once``) and its items are put back into each later
test's fresh table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import pytest

from tests.helpers.api import PASSWORD, Api, User, body
from tests.helpers.snapshots import built_once

W = TypeVar("W")


def created(api: Api, user: User, path: str, payload: dict[str, Any]) -> int:
    """The id of what ``user`` created with ``POST path``."""
    response = api.post(path, payload, token=user.token)
    assert response.status_code in (200, 201), response.body
    return int(body(response)["id"])


def movie_with_a_thread(
    api: Api,
    owner: User,
    movie: dict[str, Any],
    *,
    rater: User,
    rating: int,
    text: str,
    replier: User,
) -> tuple[int, int, int]:
    """``owner``'s movie, ``rater``'s rating of it, ``owner``'s comment on it and
    ``replier``'s reply to that comment: the ids of the movie, comment and reply."""
    movie_id = created(api, owner, "/movies", movie)
    created(api, rater, f"/movies/{movie_id}/ratings", {"rating": rating})
    comment = created(api, owner, f"/movies/{movie_id}/comments", {"comment_text": text})
    reply = created(api, replier, f"/comments/{comment}/replies", {"comment_text": text})
    return movie_id, comment, reply


def built_once_for(api: Api, name: str, build: Callable[[], W]) -> W:
    """``built_once(name, build)``, talking through this test's ``api``."""
    return replace(built_once(name, build), api=api)  # type: ignore[type-var]


@dataclass
class World:
    """Alice's movie with Bob's rating, Alice's comment and Bob's reply to it."""

    api: Api
    alice: User
    bob: User
    movie: int
    comment: int
    reply: int
    refresh: str  # the refresh token of another session of Alice's
    session: int  # that session's id


@pytest.fixture
def world(api: Api, make_user: Callable[[str], User]) -> World:
    def build() -> World:
        alice, bob = make_user("alice"), make_user("bob")
        movie, comment, reply = movie_with_a_thread(
            api, alice, {"title": "Faulty Towers"}, rater=bob, rating=7, text="Basil!", replier=bob
        )
        tokens = body(api.post("/login", {"username": "alice", "password": PASSWORD}))
        session = int(tokens["refresh_token"].split(".")[1])
        return World(api, alice, bob, movie, comment, reply, tokens["refresh_token"], session)

    return built_once_for(api, "faults", build)


def rate(world: World, value: int) -> Any:
    return world.api.post(
        f"/movies/{world.movie}/ratings", {"rating": value}, token=world.alice.token
    )
