"""Requests racing each other over HTTP, from threads, with invariants checked afterwards.

Already raced elsewhere, and not repeated: sixteen users rating one movie
and one user re-rating from eight threads (test_ratings_races), signups for
one name and renames into one name (test_users), replies racing their
parent's delete in storage calls and at the exact gap between read and
write (test_comments_races). Here, over HTTP (the test client gives each
thread its own ``current_request``): those replies again, rating against
unrating, ratings against the movie's delete, password changes against each
other and against renames, failed logins counted from many threads, signups
for one e-mail, partial updates of one movie, and one comment deleted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.storage import ratings
from chalicelib.storage.table import (
    EmailItem,
    LoginThrottleItem,
    MovieItem,
    RatingItem,
    TableItem,
    UserItem,
    UsernameItem,
)
from devtools.stream_runner import StreamRunner
from tests.helpers.api import PASSWORD, Api, User, body, user_payload
from tests.helpers.concurrency import all_at_once
from tests.helpers.movies import assert_no_orphans_and_exact_counts, remaining

pytestmark = pytest.mark.usefixtures("concurrent_requests")
# Each race once by default; the slow run repeats them for rarer interleavings.
ROUNDS = [0, *(pytest.param(n, marks=pytest.mark.slow) for n in range(1, 6))]


def new_movie(api: Api, owner: User, title: str = "Racy") -> int:
    response = api.post("/movies", {"title": title}, token=owner.token)
    assert response.status_code == 201, response.body
    return int(body(response)["id"])


def stored_ratings(movie_id: int) -> dict[int, int]:
    partition = MovieItem.partition(movie_id)
    items = TableItem.query(
        partition, TableItem.sk.startswith(RatingItem.PREFIX), consistent_read=True
    )
    return {item.user_id: item.rating for item in items}


def assert_counters_match_the_ratings(movie_id: int) -> None:
    counted = ratings.counters(movie_id)
    assert counted is not None
    stored = stored_ratings(movie_id)
    assert (counted.rating_count, counted.rating_sum) == (len(stored), sum(stored.values()))


@pytest.fixture
def crowd(make_user: Callable[[str], User]) -> list[User]:
    return [make_user(f"racer{n}") for n in range(4)]


@pytest.mark.parametrize("round_number", ROUNDS)
def test_replies_racing_their_parents_delete_over_http_are_never_orphaned(
    api: Api, alice: User, crowd: list[User], round_number: int
) -> None:
    movie = new_movie(api, alice)
    parent = body(
        api.post(f"/movies/{movie}/comments", {"comment_text": "Parent"}, token=alice.token)
    )
    replies = [
        lambda user=user: api.post(
            f"/comments/{parent['id']}/replies", {"comment_text": "Me too"}, token=user.token
        )
        for user in crowd
    ]
    delete = [lambda: api.delete(f"/comments/{parent['id']}", token=alice.token)]
    first = round_number % 2
    responses = all_at_once(delete + replies if first else replies + delete)
    assert {r.status_code for r in responses} <= {200, 404}
    assert responses[0 if first else -1].status_code == 200  # the delete
    assert_no_orphans_and_exact_counts(movie)


@pytest.mark.parametrize("round_number", ROUNDS)
def test_rating_and_unrating_at_once_keep_the_counters_exact(
    api: Api, alice: User, crowd: list[User], stream: StreamRunner, round_number: int
) -> None:
    movie = new_movie(api, alice)
    path = f"/movies/{movie}/ratings"
    requests: list[Callable[[], Any]] = []
    for n, user in enumerate(crowd):
        requests.append(lambda user=user, n=n: api.post(path, {"rating": n + 1}, token=user.token))
        requests.append(lambda user=user: api.delete(path, token=user.token))
        requests.append(lambda user=user, n=n: api.post(path, {"rating": 10 - n}, token=user.token))
    responses = all_at_once(requests)
    assert {r.status_code for r in responses} <= {200, 204, 404, 503}
    assert_counters_match_the_ratings(movie)
    average = body(api.get(f"{path}/average"))
    assert average["rating_count"] == len(stored_ratings(movie))
    stream.drain()  # and the list's copy catches up with them
    [listed] = [m for m in body(api.get("/movies"))["data"] if m["id"] == movie]
    assert (listed["average_rating"], listed["rating_count"]) == (
        average["average_rating"],
        average["rating_count"],
    )


@pytest.mark.parametrize("round_number", ROUNDS)
def test_ratings_racing_the_movies_delete_leave_nothing_once_the_stream_has_run(
    api: Api, alice: User, crowd: list[User], stream: StreamRunner, round_number: int
) -> None:
    movie = new_movie(api, alice)
    rate = [
        lambda user=user: api.post(f"/movies/{movie}/ratings", {"rating": 5}, token=user.token)
        for user in crowd
    ]
    comment = [
        lambda user=user: api.post(
            f"/movies/{movie}/comments", {"comment_text": "Hi"}, token=user.token
        )
        for user in crowd
    ]
    delete = [lambda: api.delete(f"/movies/{movie}", token=alice.token)]
    responses = all_at_once(rate + delete + comment)
    assert responses[len(rate)].status_code == 204
    assert {r.status_code for r in responses} <= {200, 204, 404}
    assert api.get(f"/movies/{movie}/ratings").status_code == 404
    stream.drain()
    assert remaining(movie) == []


def claims_match_their_user(user_id: int) -> None:
    """The user's hash is the one on both of their name claims, and no other claim is theirs."""
    user = UserItem.get(*UserItem.key(user_id), consistent_read=True)
    username = UsernameItem.get(*UsernameItem.key(user.username), consistent_read=True)
    email = EmailItem.get(*EmailItem.key(user.email), consistent_read=True)
    assert (username.user_id, email.user_id) == (user_id, user_id)
    assert username.password_hash == email.password_hash == user.password_hash
    owned = [
        item
        for item in TableItem.scan(consistent_read=True)
        if isinstance(item, UsernameItem | EmailItem) and item.user_id == user_id
    ]
    assert len(owned) == 2


@pytest.mark.parametrize("round_number", ROUNDS)
def test_password_changes_racing_each_other_and_renames_keep_every_claim_in_step(
    api: Api, alice: User, round_number: int
) -> None:
    new_passwords = [f"new password {n}" for n in range(3)]
    changes = [
        lambda new=new: api.put(
            "/users/me/password",
            {"current_password": PASSWORD, "new_password": new},
            token=alice.token,
        )
        for new in new_passwords
    ]
    renames = {"username": "alicia", "email": "alicia@example.com"}
    responses = all_at_once(
        changes
        + [
            lambda change=change: api.put("/users/me", dict([change]), token=alice.token)
            for change in renames.items()
        ]
    )
    statuses = [r.status_code for r in responses[: len(changes)]]
    assert statuses.count(200) <= 1
    assert set(statuses) <= {200, 400, 409}
    # A rename retries a lost race six times; under this much contention it may still lose.
    renamed = [r.status_code for r in responses[len(changes) :]]
    assert set(renamed) <= {200, 503}
    claims_match_their_user(alice.id)
    profile = body(api.get("/users/me", token=alice.token))
    for (field, value), status in zip(renames.items(), renamed, strict=True):
        assert (profile[field] == value) == (status == 200)
    winners = [new for new, status in zip(new_passwords, statuses, strict=True) if status == 200]
    current = winners[0] if winners else PASSWORD
    for login in (profile["username"], profile["email"]):
        assert api.post("/login", {"username": login, "password": current}).status_code == 200


def test_failed_logins_from_many_threads_are_all_counted(api: Api, alice: User) -> None:
    wrong = {"username": "alice", "password": "a wrong guess"}
    responses = all_at_once([lambda: api.post("/login", wrong) for _ in range(8)])
    assert {r.status_code for r in responses} <= {401, 429}
    throttle = LoginThrottleItem.get(*LoginThrottleItem.key("alice", "127.0.0.1"))
    assert throttle.failures == 8
    assert api.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 429


def test_signups_racing_for_one_email_have_exactly_one_winner(api: Api) -> None:
    responses = all_at_once(
        [
            lambda n=n: api.post("/signup", user_payload(f"twin{n}", email="Twin@Example.com"))
            for n in range(6)
        ]
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
    assert {body(r)["detail"] for r in responses if r.status_code == 409} == {
        "Email already registered"
    }
    assert len([i for i in TableItem.scan(consistent_read=True) if isinstance(i, UserItem)]) == 1


def test_partial_updates_of_one_movie_at_once_all_land(api: Api, alice: User) -> None:
    movie = new_movie(api, alice)
    changes = [
        {"title": "New title"},
        {"description": "New description"},
        {"release_date": "1999-12-31"},
    ]
    responses = all_at_once(
        [
            lambda change=change: api.patch(f"/movies/{movie}", change, token=alice.token)
            for change in changes
        ]
    )
    assert [r.status_code for r in responses] == [200] * 3
    stored = body(api.get(f"/movies/{movie}"))
    assert {key: stored[key] for change in changes for key in change} == {
        key: value for change in changes for key, value in change.items()
    }


@pytest.mark.parametrize("round_number", ROUNDS)
def test_one_comment_deleted_by_its_author_and_the_movies_owner_at_once(
    api: Api, alice: User, bob: User, round_number: int
) -> None:
    movie = new_movie(api, alice)
    comment = body(api.post(f"/movies/{movie}/comments", {"comment_text": "Spam"}, token=bob.token))
    edit = {"comment_text": "Edited"}
    responses = all_at_once(
        [
            lambda: api.delete(f"/comments/{comment['id']}", token=bob.token),
            lambda: api.delete(f"/comments/{comment['id']}", token=alice.token),
            lambda: api.put(f"/comments/{comment['id']}", edit, token=bob.token),
        ]
    )
    deletes = sorted(r.status_code for r in responses[:2])
    assert deletes == [200, 404]
    assert responses[2].status_code in (200, 404)
    assert body(api.get(f"/movies/{movie}/comments")) == []
    assert_no_orphans_and_exact_counts(movie)
