"""Ratings under contention: each change counted once, whatever DynamoDB or another writer does.

A transaction DynamoDB cancels for a conflict or a throttled item is sent
again with the same ``ClientRequestToken``, so it lands once; one that stays
cancelled, or a call that stays throttled, is a 503 with ``Retry-After`` that
changed nothing. A rating changed between the read and the write is read
again, so racing first ratings and racing deletes count once; a commit whose
answer was lost is not counted twice. The threads at the end send real
requests at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.storage import engine, ratings
from tests.helpers.api import Api, User, body
from tests.helpers.concurrency import all_at_once
from tests.helpers.faults import (
    BOTOCORE_ATTEMPTS,
    TRANSIENT,
    assert_unavailable,
    cancelled,
    error_answer,
    install,
)
from tests.helpers.ratings import MovieId, average, counters, listed, rate, rated

# ---------------------------------------------------------------- retries (faults injected at boto)

TRANSACT = "TransactWriteItems"
# The cancellations the app retries (botocore does not): each attempt is one HTTP attempt.
RETRYABLE_CANCELLATIONS = {
    "conflict": cancelled("None", "TransactionConflict"),
    "throttled item": cancelled("ThrottlingError", "None"),
}
CANCELLATIONS_TO_GIVE_UP = engine.MAX_ATTEMPTS
# Throttling of the whole call is botocore's to retry; what reaches the app is final.
THROTTLES_TO_GIVE_UP = BOTOCORE_ATTEMPTS


@pytest.mark.parametrize(
    "cancellation", RETRYABLE_CANCELLATIONS.values(), ids=RETRYABLE_CANCELLATIONS.keys()
)
def test_a_rating_retried_after_conflicts_lands_once_with_one_token(
    api: Api, movie_id: MovieId, bob: User, monkeypatch: pytest.MonkeyPatch, cancellation: Any
) -> None:
    faults = install(monkeypatch)
    faults.fail(TRANSACT, cancellation, times=2)
    response = rate(api, bob, movie_id, 7)
    assert response.status_code == 200, response.body
    assert len(faults.tokens) == 3
    assert len(set(faults.tokens)) == 1
    assert len(faults.app_backoffs) == 2
    assert faults.botocore_retries == 0
    assert counters(movie_id) == (1, 7)
    assert [r["rating"] for r in listed(api, movie_id)] == [7]


def test_a_re_rating_and_a_delete_retried_after_conflicts_count_once(
    api: Api, movie_id: MovieId, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    rated(api, bob, movie_id, 3)
    faults = install(monkeypatch)
    faults.fail(TRANSACT, RETRYABLE_CANCELLATIONS["conflict"], times=1)
    rated(api, bob, movie_id, 9)
    assert counters(movie_id) == (1, 9)
    faults.clear()
    faults.fail(TRANSACT, RETRYABLE_CANCELLATIONS["conflict"], times=1)
    response = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert response.status_code == 204
    assert counters(movie_id) == (0, 0)
    assert len(faults.tokens) == 2
    assert len(set(faults.tokens)) == 1


def test_a_rating_that_keeps_conflicting_is_503_with_retry_after(
    api: Api, movie_id: MovieId, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = install(monkeypatch)
    faults.fail(TRANSACT, RETRYABLE_CANCELLATIONS["conflict"], times=CANCELLATIONS_TO_GIVE_UP)
    response = rate(api, bob, movie_id, 7)
    assert_unavailable(response)
    assert len(faults.tokens) == CANCELLATIONS_TO_GIVE_UP
    assert len(set(faults.tokens)) == 1
    assert counters(movie_id) == (0, 0)
    assert listed(api, movie_id) == []


def test_a_delete_that_keeps_being_throttled_is_503_and_keeps_the_rating(
    api: Api, movie_id: MovieId, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    rated(api, bob, movie_id, 4)
    faults = install(monkeypatch)
    faults.fail(TRANSACT, TRANSIENT["throttling"], times=THROTTLES_TO_GIVE_UP)
    response = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert_unavailable(response)
    assert len(faults.tokens) == THROTTLES_TO_GIVE_UP
    assert len(set(faults.tokens)) == 1  # botocore's resends of one transaction
    assert faults.botocore_retries == THROTTLES_TO_GIVE_UP - 1
    assert faults.app_backoffs == []  # and the app did not retry it again
    assert counters(movie_id) == (1, 4)


def test_a_rating_changed_between_read_and_write_is_read_again(
    api: Api, movie_id: MovieId, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    rated(api, bob, movie_id, 5)
    faults = install(monkeypatch)
    faults.interfere(TRANSACT, lambda: ratings.rate_movie(movie_id, bob.id, 9))
    data = rated(api, bob, movie_id, 7)
    assert data["rating"] == 7
    assert counters(movie_id) == (1, 7)
    tokens = faults.tokens
    assert len(tokens) == 3  # ours (lost the race), the other writer's, ours again
    assert tokens[0] != tokens[2]  # a fresh read makes a fresh transaction


def test_two_first_ratings_racing_count_once(
    api: Api, movie_id: MovieId, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = install(monkeypatch)
    faults.interfere(TRANSACT, lambda: ratings.rate_movie(movie_id, bob.id, 9))
    data = rated(api, bob, movie_id, 2)
    assert data["rating"] == 2
    assert counters(movie_id) == (1, 2)
    assert len(faults.tokens) == 3  # ours (lost the race), the other writer's, our re-rate


def test_two_deletes_racing_remove_once(
    api: Api, movie_id: MovieId, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    rated(api, bob, movie_id, 5)
    faults = install(monkeypatch)
    faults.interfere(TRANSACT, lambda: ratings.delete_rating(movie_id, bob.id))
    response = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Rating not found"}
    assert counters(movie_id) == (0, 0)


def test_a_commit_whose_answer_was_lost_is_not_counted_twice(
    api: Api, movie_id: MovieId, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt lands but its answer is lost, and botocore resends it.

    DynamoDB would recognise the ``ClientRequestToken`` and not apply it
    again; here the token is ignored (as moto does), and the rating's
    condition catches the resend.
    """
    faults = install(monkeypatch)
    faults.honours_tokens = False
    faults.fail(TRANSACT, error_answer("InternalServerError", 500), times=1, lands=True)
    data = rated(api, bob, movie_id, 6)
    assert faults.attempts[TRANSACT] == 3  # the resend, then a re-read re-rate
    assert data["rating"] == 6
    assert counters(movie_id) == (1, 6)
    assert [r["rating"] for r in listed(api, movie_id)] == [6]


# ---------------------------------------------------------------- threads


@pytest.mark.usefixtures("concurrent_requests")
def test_sixteen_users_rating_one_movie_at_once_are_all_counted(
    api: Api, movie_id: MovieId, make_user: Callable[[str], User]
) -> None:
    users = [make_user(f"crowd{n}") for n in range(16)]
    values = [n % 10 + 1 for n in range(16)]
    responses = all_at_once(
        [
            lambda u=user, v=value: rate(api, u, movie_id, v)
            for user, value in zip(users, values, strict=True)
        ]
    )
    assert [r.status_code for r in responses] == [200] * 16
    assert [(body(r)["user_id"], body(r)["rating"]) for r in responses] == [
        (user.id, value) for user, value in zip(users, values, strict=True)
    ]
    assert counters(movie_id) == (16, sum(values))
    assert average(api, movie_id) == {
        "average_rating": round(sum(values) / 16, 2),
        "rating_count": 16,
    }
    assert {r["user_id"]: r["rating"] for r in listed(api, movie_id)} == {
        user.id: value for user, value in zip(users, values, strict=True)
    }


@pytest.mark.usefixtures("concurrent_requests")
def test_one_user_rating_from_eight_threads_at_once_leaves_one_rating(
    api: Api, movie_id: MovieId, bob: User
) -> None:
    """Every request lands or answers 503; whatever landed last is counted once."""
    responses = all_at_once([lambda v=value: rate(api, bob, movie_id, v) for value in range(1, 9)])
    assert {r.status_code for r in responses} <= {200, 503}
    assert any(r.status_code == 200 for r in responses)
    [stored] = listed(api, movie_id)
    assert counters(movie_id) == (1, stored["rating"])
