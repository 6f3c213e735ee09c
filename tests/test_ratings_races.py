"""Ratings under contention: conflicts and throttling retried, lost answers, racing writers.

``TransactFaults`` answers ``TransactWriteItems`` above botocore's retries
and records every attempt's ``ClientRequestToken``; the threads at the end
send real requests at once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.storage import engine, ratings
from tests.helpers.api import UNAVAILABLE, Api, User, body
from tests.helpers.concurrency import all_at_once
from tests.helpers.faults import error_answer, install
from tests.helpers.ratings import MovieId, average, counters, listed, rate, rated

# ---------------------------------------------------------------- retries (faults injected at boto)


@dataclass
class TransactFaults:
    """Stands between the app and DynamoDB for ``TransactWriteItems``.

    Every attempt's parameters are recorded (``provide-client-params``). The
    first ``failures`` attempts are answered with ``response`` instead (a
    ``before-call`` handler that returns ``(http, parsed)`` short-circuits
    botocore's request); with ``lands``, each is sent first, so it takes
    effect and only its answer is lost. After that, ``interfere`` (if set)
    runs once just before the next attempt is sent, as another writer would.
    """

    response: dict[str, Any] = field(default_factory=dict)
    failures: int = 0
    lands: bool = False
    interfere: Callable[[], None] | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    @property
    def tokens(self) -> list[str]:
        return [params["ClientRequestToken"] for params in self.sent]

    def record(self, params: dict[str, Any], **_: Any) -> None:
        self.sent.append(copy.deepcopy(params))

    def answer(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if model.name != "TransactWriteItems":
            return None
        if len(self.sent) <= self.failures:
            if self.lands:
                boto3.client("dynamodb").transact_write_items(**self.sent[-1])
            parsed = copy.deepcopy(self.response)
            status = parsed["ResponseMetadata"]["HTTPStatusCode"]
            return AWSResponse("https://dynamodb.invalid/", status, {}, None), parsed
        if self.interfere is not None:
            interfere, self.interfere = self.interfere, None
            interfere()
        return None


@pytest.fixture
def transact_faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[TransactFaults]:
    """``TransactFaults`` on the app's client, and backoff that records instead of sleeping.

    ``answer`` goes last among the ``before-call`` handlers, so the others
    (the call counter, the atomic-request lock) see every attempt.
    """
    faults = TransactFaults()
    monkeypatch.setattr(engine, "sleep", faults.sleeps.append)
    events = engine.connection().client.meta.events
    events.register("provide-client-params.dynamodb.TransactWriteItems", faults.record)
    events.register_last("before-call.dynamodb", faults.answer)
    yield faults
    events.unregister("before-call.dynamodb", faults.answer)
    events.unregister("provide-client-params.dynamodb.TransactWriteItems", faults.record)


def cancelled(*reasons: str) -> dict[str, Any]:
    """A ``TransactionCanceledException`` as botocore parses it: one reason per action."""
    return {
        "Error": {
            "Code": "TransactionCanceledException",
            "Message": f"Transaction cancelled, please refer cancellation reasons [{reasons}]",
        },
        "CancellationReasons": [{"Code": reason} for reason in reasons],
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def failed(code: str, status: int = 400) -> dict[str, Any]:
    return {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


# The cancellations botocore does not retry. Throttling of the whole call, 5xx
# answers and timeouts are botocore's to retry (tests/test_faults.py); one that
# reaches the app has been retried already, so it is a 503 at once.
RETRYABLE_FAILURES = {
    "conflict": cancelled("None", "TransactionConflict"),
    "throttled item": cancelled("ThrottlingError", "None"),
}


@pytest.mark.parametrize("failure", RETRYABLE_FAILURES.values(), ids=RETRYABLE_FAILURES.keys())
def test_a_rating_retried_after_conflicts_lands_once_with_one_token(
    api: Api, movie_id: MovieId, bob: User, transact_faults: TransactFaults, failure: Any
) -> None:
    transact_faults.response, transact_faults.failures = failure, 2
    response = rate(api, bob, movie_id, 7)
    assert response.status_code == 200, response.body
    assert len(transact_faults.tokens) == 3
    assert len(set(transact_faults.tokens)) == 1
    assert len(transact_faults.sleeps) == 2
    assert counters(movie_id) == (1, 7)
    assert [r["rating"] for r in listed(api, movie_id)] == [7]


def test_a_re_rating_and_a_delete_retried_after_conflicts_count_once(
    api: Api, movie_id: MovieId, bob: User, transact_faults: TransactFaults
) -> None:
    rated(api, bob, movie_id, 3)
    transact_faults.sent.clear()
    transact_faults.response, transact_faults.failures = cancelled("None", "TransactionConflict"), 1
    rated(api, bob, movie_id, 9)
    assert counters(movie_id) == (1, 9)
    transact_faults.sent.clear()
    response = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert response.status_code == 204
    assert counters(movie_id) == (0, 0)
    assert len(transact_faults.tokens) == 2
    assert len(set(transact_faults.tokens)) == 1


def test_a_rating_that_keeps_conflicting_is_503_with_retry_after(
    api: Api, movie_id: MovieId, bob: User, transact_faults: TransactFaults
) -> None:
    transact_faults.response = cancelled("None", "TransactionConflict")
    transact_faults.failures = engine.MAX_ATTEMPTS
    response = rate(api, bob, movie_id, 7)
    assert response.status_code == 503
    assert body(response) == UNAVAILABLE
    assert response.headers["Retry-After"] == "1"
    assert len(transact_faults.tokens) == engine.MAX_ATTEMPTS
    assert len(set(transact_faults.tokens)) == 1
    assert counters(movie_id) == (0, 0)
    assert listed(api, movie_id) == []


def test_a_delete_that_keeps_being_throttled_is_503_and_keeps_the_rating(
    api: Api, movie_id: MovieId, bob: User, transact_faults: TransactFaults
) -> None:
    rated(api, bob, movie_id, 4)
    transact_faults.sent.clear()
    transact_faults.response = failed("ThrottlingException")
    transact_faults.failures = engine.MAX_ATTEMPTS
    response = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert response.status_code == 503
    assert body(response) == UNAVAILABLE
    assert response.headers["Retry-After"] == "1"
    assert len(transact_faults.tokens) == 1  # botocore retried it already
    assert counters(movie_id) == (1, 4)


def test_a_rating_changed_between_read_and_write_is_read_again(
    api: Api, movie_id: MovieId, bob: User, transact_faults: TransactFaults
) -> None:
    rated(api, bob, movie_id, 5)
    transact_faults.sent.clear()
    transact_faults.interfere = lambda: ratings.rate_movie(movie_id, bob.id, 9)
    data = rated(api, bob, movie_id, 7)
    assert data["rating"] == 7
    assert counters(movie_id) == (1, 7)
    tokens = transact_faults.tokens
    assert len(tokens) == 3  # ours (lost the race), the other writer's, ours again
    assert tokens[0] != tokens[2]  # a fresh read makes a fresh transaction


def test_two_first_ratings_racing_count_once(
    api: Api, movie_id: MovieId, bob: User, transact_faults: TransactFaults
) -> None:
    transact_faults.interfere = lambda: ratings.rate_movie(movie_id, bob.id, 9)
    data = rated(api, bob, movie_id, 2)
    assert data["rating"] == 2
    assert counters(movie_id) == (1, 2)


def test_two_deletes_racing_remove_once(
    api: Api, movie_id: MovieId, bob: User, transact_faults: TransactFaults
) -> None:
    rated(api, bob, movie_id, 5)
    transact_faults.interfere = lambda: ratings.delete_rating(movie_id, bob.id)
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
    faults.fail("TransactWriteItems", error_answer("InternalServerError", 500), times=1, lands=True)
    data = rated(api, bob, movie_id, 6)
    assert faults.attempts["TransactWriteItems"] == 3  # the resend, then a re-read re-rate
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
