"""Ratings: one per user per movie, exact counters, paging, and retries under contention."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from chalicelib.settings import get_settings
from chalicelib.storage import engine, ratings
from chalicelib.storage.table import MovieItem
from tests.helpers.api import UNAVAILABLE, Api, CallCounter, User, body
from tests.helpers.concurrency import all_at_once
from tests.helpers.faults import error_answer, install
from tests.helpers.snapshots import load, table_items
from tests.helpers.table import create_table

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


def listed_counters(api: Api, movie_id: MovieId) -> tuple[float | None, int]:
    """What ``GET /movies`` shows for the movie: the stream consumer's copy."""
    [movie] = [m for m in body(api.get("/movies?limit=100"))["data"] if m["id"] == movie_id]
    return movie["average_rating"], movie["rating_count"]


@pytest.fixture
def movie_id(api: Api, alice: User) -> MovieId:
    return create_movie(api, alice)


@pytest.fixture
def raters(make_user: Callable[[str], User]) -> list[User]:
    return [make_user(f"rater{n}") for n in range(5)]


# ---------------------------------------------------------------- rate


def test_three_users_rating_5_7_and_8_give_an_average_of_6_67_and_a_list_of_three(
    api: Api, movie_id: MovieId, raters: list[User]
) -> None:
    for user, value in zip(raters, (5, 7, 8), strict=False):
        rated(api, user, movie_id, value)
    assert average(api, movie_id) == {"average_rating": 6.67, "rating_count": 3}
    assert sorted(rating["rating"] for rating in listed(api, movie_id)) == [5, 7, 8]
    assert counters(movie_id) == (3, 20)


def test_rating_returns_the_rating(api: Api, movie_id: MovieId, bob: User) -> None:
    data = rated(api, bob, movie_id, 9)
    assert set(data) == {"id", "movie_id", "user_id", "rating", "created_at", "updated_at"}
    assert (data["movie_id"], data["user_id"], data["rating"]) == (movie_id, bob.id, 9)
    assert 0 < data["id"] < 2**53
    assert data["created_at"] == data["updated_at"]
    assert data["created_at"].endswith("Z")


def test_the_same_user_rating_twice_leaves_one_rating(
    api: Api, movie_id: MovieId, bob: User
) -> None:
    first = rated(api, bob, movie_id, 3)
    second = rated(api, bob, movie_id, 8)
    assert (second["id"], second["created_at"]) == (first["id"], first["created_at"])
    assert second["updated_at"] > first["updated_at"]
    assert second["rating"] == 8
    assert listed(api, movie_id) == [second]
    assert average(api, movie_id) == {"average_rating": 8.0, "rating_count": 1}
    assert counters(movie_id) == (1, 8)


def test_rating_again_with_the_same_value_changes_no_counter(
    api: Api, movie_id: MovieId, bob: User
) -> None:
    rated(api, bob, movie_id, 6)
    rated(api, bob, movie_id, 6)
    assert counters(movie_id) == (1, 6)


def test_ratings_are_listed_by_user_id_and_a_re_rating_keeps_its_place(
    api: Api, movie_id: MovieId, raters: list[User]
) -> None:
    for user in reversed(raters[:3]):
        rated(api, user, movie_id, 5)
    rated(api, raters[0], movie_id, 6)
    by_user = sorted(user.id for user in raters[:3])
    assert [r["user_id"] for r in listed(api, movie_id)] == by_user


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("5", "int_type"),
        (5.5, "int_type"),
        (5.0, "int_type"),
        (None, "int_type"),
        (True, "int_type"),
        ([5], "int_type"),
        (0, "greater_than_equal"),
        (11, "less_than_equal"),
        (-3, "greater_than_equal"),
        (10**30, "less_than_equal"),
    ],
)
def test_a_rating_that_is_not_an_integer_from_1_to_10_is_422(
    api: Api, movie_id: MovieId, bob: User, value: Any, error_type: str
) -> None:
    response = rate(api, bob, movie_id, value)
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert (error["loc"], error["type"], error["input"]) == (["body", "rating"], error_type, value)
    assert counters(movie_id) == (0, 0)


@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        (b"{}", ["body", "rating"], "missing"),
        (b"[7]", ["body"], "model_type"),
        (b"7", ["body"], "model_type"),
        (b'{"rating": 7', ["body", 0], "json_invalid"),
        (b"", ["body", 0], "json_invalid"),
    ],
)
def test_a_body_without_a_rating_is_422(
    api: Api, movie_id: MovieId, bob: User, payload: bytes, loc: list[Any], error_type: str
) -> None:
    response = api.post(
        f"/movies/{movie_id}/ratings",
        token=bob.token,
        headers={"Content-Type": "application/json"},
        raw=payload,
    )
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in body(response)["detail"]] == [(loc, error_type)]


def test_rating_ignores_fields_the_client_must_not_set(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    payload = {"rating": 4, "user_id": alice.id, "id": 7, "movie_id": 1}
    response = api.post(f"/movies/{movie_id}/ratings", payload, token=bob.token)
    data = body(response)
    assert response.status_code == 200
    assert (data["user_id"], data["movie_id"]) == (bob.id, movie_id)
    assert data["id"] != 7


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_changing_a_rating_requires_a_token(api: Api, movie_id: MovieId, method: str) -> None:
    response = api.request(method, f"/movies/{movie_id}/ratings", {"rating": 5})
    assert response.status_code == 401
    assert body(response) == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_changing_a_rating_refuses_a_forged_token(
    api: Api, movie_id: MovieId, bob: User, method: str
) -> None:
    response = api.request(
        method, f"/movies/{movie_id}/ratings", {"rating": 5}, token=bob.token + "x"
    )
    assert response.status_code == 401
    assert body(response) == {"detail": "Could not validate credentials"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert counters(movie_id) == (0, 0)


# ---------------------------------------------------------------- unknown movies and bad ids


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("POST", "/ratings", {"rating": 5}),
        ("GET", "/ratings", None),
        ("GET", "/ratings/average", None),
        ("DELETE", "/ratings", None),
    ],
)
def test_every_ratings_endpoint_of_an_unknown_movie_is_404(
    api: Api, bob: User, method: str, suffix: str, payload: Any
) -> None:
    response = api.request(method, f"/movies/9999{suffix}", payload, token=bob.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found"}


def test_rating_a_deleted_movie_is_404_and_writes_nothing(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    assert api.delete(f"/movies/{movie_id}", token=alice.token).status_code == 204
    response = rate(api, bob, movie_id, 5)
    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found"}
    assert MovieItem.count(MovieItem.partition(movie_id)) == 0


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("POST", "/ratings"),
        ("GET", "/ratings"),
        ("GET", "/ratings/average"),
        ("DELETE", "/ratings"),
    ],
)
def test_a_movie_id_that_is_not_a_positive_integer_is_422(
    api: Api, bob: User, method: str, suffix: str
) -> None:
    response = api.request(method, f"/movies/abc{suffix}", {"rating": 5}, token=bob.token)
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert (error["loc"], error["type"], error["input"]) == (
        ["path", "movie_id"],
        "int_parsing",
        "abc",
    )


def test_every_ratings_endpoint_works_with_a_trailing_slash(
    api: Api, movie_id: MovieId, bob: User
) -> None:
    base = f"/movies/{movie_id}/ratings/"
    assert api.post(base, {"rating": 4}, token=bob.token).status_code == 200
    assert [r["rating"] for r in body(api.get(base))] == [4]
    assert body(api.get(f"/movies/{movie_id}/ratings/average/"))["rating_count"] == 1
    assert api.delete(base, token=bob.token).status_code == 204


# ---------------------------------------------------------------- delete


def test_deleting_my_rating_removes_it_from_the_list_and_the_counters(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    rated(api, alice, movie_id, 2)
    rated(api, bob, movie_id, 9)
    response = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert response.status_code == 204
    assert response.body == b""
    assert [(r["user_id"], r["rating"]) for r in listed(api, movie_id)] == [(alice.id, 2)]
    assert average(api, movie_id) == {"average_rating": 2.0, "rating_count": 1}
    assert counters(movie_id) == (1, 2)


def test_deleting_without_a_rating_is_404_and_leaves_others_alone(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    rated(api, alice, movie_id, 7)
    response = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Rating not found"}
    assert counters(movie_id) == (1, 7)


def test_deleting_twice_is_404_the_second_time(api: Api, movie_id: MovieId, bob: User) -> None:
    rated(api, bob, movie_id, 7)
    assert api.delete(f"/movies/{movie_id}/ratings", token=bob.token).status_code == 204
    again = api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    assert again.status_code == 404
    assert body(again) == {"detail": "Rating not found"}
    assert average(api, movie_id) == {"average_rating": None, "rating_count": 0}


def test_rating_again_after_deleting_is_a_new_rating(
    api: Api, movie_id: MovieId, bob: User
) -> None:
    first = rated(api, bob, movie_id, 7)
    api.delete(f"/movies/{movie_id}/ratings", token=bob.token)
    second = rated(api, bob, movie_id, 3)
    assert second["id"] != first["id"]
    assert counters(movie_id) == (1, 3)


# ---------------------------------------------------------------- average and movie detail


def test_an_unrated_movie_has_a_null_average(api: Api, movie_id: MovieId) -> None:
    assert average(api, movie_id) == {"average_rating": None, "rating_count": 0}


def test_the_movie_detail_shows_the_ratings_and_the_average(
    api: Api, movie_id: MovieId, alice: User, bob: User
) -> None:
    alices = rated(api, alice, movie_id, 4)
    bobs = rated(api, bob, movie_id, 9)
    for path in (f"/movies/{movie_id}", f"/movie/{movie_id}"):
        data = body(api.get(path))
        assert (data["average_rating"], data["rating_count"]) == (6.5, 2)
        assert data["ratings"] == [alices, bobs]  # by user id: alice signed up first
        assert data["next_ratings_cursor"] is None


# ---------------------------------------------------------------- list pages


def test_cursor_pages_see_every_rating_once_in_user_id_order(
    api: Api, movie_id: MovieId, raters: list[User]
) -> None:
    for user in reversed(raters):
        rated(api, user, movie_id, 5)
    rated(api, raters[1], movie_id, 6)
    by_user = sorted(user.id for user in raters)
    seen: list[int] = []
    path = f"/movies/{movie_id}/ratings?limit=2"
    pages = 0
    while path:
        response = api.get(path)
        assert response.status_code == 200
        seen += [r["user_id"] for r in body(response)]
        pages += 1
        path = next_page_path(response)
    assert seen == by_user
    assert pages == 3


def next_page_path(response: Any) -> str:
    """The ``rel="next"`` target of the ``Link`` header, checked against ``X-Next-Cursor``."""
    link = response.headers.get("Link")
    cursor = response.headers.get("X-Next-Cursor")
    if link is None:
        assert cursor is None
        return ""
    match = re.fullmatch(r'<(/movies/\d+/ratings\?limit=\d+&cursor=([^>]+))>; rel="next"', link)
    assert match is not None, link
    assert match.group(2) == cursor
    return match.group(1)


def test_skip_pages_match_the_full_list(api: Api, movie_id: MovieId, raters: list[User]) -> None:
    for user in raters:
        rated(api, user, movie_id, 5)
    everything = listed(api, movie_id)
    assert listed(api, movie_id, "skip=1&limit=2") == everything[1:3]
    assert listed(api, movie_id, "skip=4&limit=2") == everything[4:]
    assert listed(api, movie_id, "skip=5") == []
    last = api.get(f"/movies/{movie_id}/ratings?skip=3&limit=2")
    assert "X-Next-Cursor" not in last.headers
    middle = api.get(f"/movies/{movie_id}/ratings?skip=1&limit=2")
    assert body(api.get(next_page_path(middle))) == everything[3:5]


def test_a_movie_without_ratings_lists_nothing(api: Api, movie_id: MovieId) -> None:
    response = api.get(f"/movies/{movie_id}/ratings")
    assert response.status_code == 200
    assert body(response) == []
    assert "Link" not in response.headers


@pytest.mark.parametrize(
    ("query", "loc", "error_type"),
    [
        ("limit=0", ["query", "limit"], "greater_than_equal"),
        ("limit=101", ["query", "limit"], "less_than_equal"),
        ("skip=-1", ["query", "skip"], "greater_than_equal"),
        ("limit=ten", ["query", "limit"], "int_parsing"),
    ],
)
def test_bad_paging_parameters_are_422(
    api: Api, movie_id: MovieId, query: str, loc: list[str], error_type: str
) -> None:
    response = api.get(f"/movies/{movie_id}/ratings?{query}")
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in body(response)["detail"]] == [(loc, error_type)]


def test_a_page_after_a_cursor_of_a_movie_deleted_since_is_404(
    api: Api, movie_id: MovieId, alice: User, raters: list[User], dynamodb_calls: CallCounter
) -> None:
    for user in raters[:3]:
        rated(api, user, movie_id, 5)
    cursor = api.get(f"/movies/{movie_id}/ratings?limit=1").headers["X-Next-Cursor"]
    next_page = f"/movies/{movie_id}/ratings?limit=1&cursor={cursor}"
    assert len(body(api.get(next_page))) == 1
    assert api.delete(f"/movies/{movie_id}", token=alice.token).status_code == 204

    dynamodb_calls.reset()
    response = api.get(next_page)

    assert response.status_code == 404
    assert body(response) == {"detail": "Movie not found"}
    assert dynamodb_calls.calls == {"Query": 1, "GetItem": 1}  # sent at once
    # The ratings are still there (the stream has not run): only the check tells.
    partition = MovieItem.partition(movie_id)
    assert sum(1 for pk, sk in table_items() if pk == partition and "#U#" in sk) == 3
    assert api.get(f"/movies/{movie_id}/ratings").status_code == 404


def test_a_tampered_cursor_is_400(api: Api, movie_id: MovieId, raters: list[User]) -> None:
    for user in raters[:3]:
        rated(api, user, movie_id, 5)
    cursor = api.get(f"/movies/{movie_id}/ratings?limit=1").headers["X-Next-Cursor"]
    payload, signature = cursor.split(".")
    forged = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    for bad in (forged, "not-a-cursor", f"{payload}.{signature[::-1]}"):
        response = api.get(f"/movies/{movie_id}/ratings?cursor={bad}")
        assert response.status_code == 400
        assert body(response) == {"detail": "Invalid cursor"}


def test_a_cursor_from_another_movie_is_400(
    api: Api, movie_id: MovieId, alice: User, raters: list[User]
) -> None:
    other = create_movie(api, alice)
    for user in raters[:2]:
        rated(api, user, other, 5)
    cursor = api.get(f"/movies/{other}/ratings?limit=1").headers["X-Next-Cursor"]
    response = api.get(f"/movies/{movie_id}/ratings?cursor={cursor}")
    assert response.status_code == 400
    assert body(response) == {"detail": "Cursor belongs to a different list"}


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


# ---------------------------------------------------------------- invariants, by Hypothesis


N_RATERS = 3
rater_index = st.integers(min_value=0, max_value=N_RATERS - 1)
rating_value = st.integers(min_value=1, max_value=10)
not_a_rating = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
    st.integers().filter(lambda value: not 1 <= value <= 10),
)


class RatingsMachine(RuleBasedStateMachine):
    """Rate, re-rate and delete by several users in any order, over HTTP.

    Each run starts from a fresh table: runs share nothing, and moto (which
    copies the whole table, streams included, for every transaction) stays
    fast. The users' items go with the old table but for their profiles and
    sessions, which their tokens need (the authorizer checks them), put back.
    """

    def __init__(self, api: Api, raters: list[User]) -> None:
        super().__init__()
        sessions = {
            key: item
            for key, item in table_items().items()
            if item["kind"]["S"] in ("user", "session")
        }
        boto3.client("dynamodb").delete_table(TableName=get_settings().table_name)
        create_table()
        load(sessions)
        self.api = api
        self.raters = raters
        self.movie_id = create_movie(api, raters[0])
        self.expected: dict[int, int] = {}
        self.rating_ids: dict[int, int] = {}

    @rule(who=rater_index, value=rating_value)
    def rate(self, who: int, value: int) -> None:
        """A first rating or a re-rate: either way one rating, with a stable id."""
        user = self.raters[who]
        data = rated(self.api, user, self.movie_id, value)
        assert (data["user_id"], data["rating"]) == (user.id, value)
        assert self.rating_ids.setdefault(user.id, data["id"]) == data["id"]
        self.expected[user.id] = value

    @rule(who=rater_index)
    def delete(self, who: int) -> None:
        user = self.raters[who]
        response = self.api.delete(f"/movies/{self.movie_id}/ratings", token=user.token)
        if user.id in self.expected:
            assert response.status_code == 204
            del self.expected[user.id], self.rating_ids[user.id]
        else:
            assert response.status_code == 404
            assert body(response) == {"detail": "Rating not found"}

    @rule(who=rater_index, value=not_a_rating)
    def rate_badly(self, who: int, value: Any) -> None:
        response = rate(self.api, self.raters[who], self.movie_id, value)
        assert response.status_code == 422
        assert body(response)["detail"][0]["loc"] == ["body", "rating"]

    @rule()
    def list_the_ratings(self) -> None:
        ratings_now = listed(self.api, self.movie_id)
        assert {r["user_id"]: r["rating"] for r in ratings_now} == self.expected
        users = [r["user_id"] for r in ratings_now]
        assert users == sorted(users)

    @invariant()
    def counters_match_the_ratings(self) -> None:
        """The average and count answered are exact (with 3 raters, they determine the sum)."""
        count, total = len(self.expected), sum(self.expected.values())
        assert average(self.api, self.movie_id) == {
            "average_rating": round(total / count, 2) if count else None,
            "rating_count": count,
        }


def run_ratings_machine(api: Api, raters: list[User], *, examples: int, steps: int) -> None:
    run_state_machine_as_test(
        lambda: RatingsMachine(api, raters),
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None),
    )


def test_counters_always_match_the_ratings(api: Api, raters: list[User]) -> None:
    run_ratings_machine(api, raters[:N_RATERS], examples=25, steps=15)


@pytest.mark.slow
def test_counters_always_match_the_ratings_over_long_runs(api: Api, raters: list[User]) -> None:
    run_ratings_machine(api, raters[:N_RATERS], examples=50, steps=30)


def test_the_average_rounds_halves_up() -> None:
    from chalicelib.storage.table import MovieItem

    movie = MovieItem.new(1, 1, title="t")
    for count, total, expected in ((8, 53, 6.63), (3, 20, 6.67), (8, 51, 6.38), (1, 10, 10.0)):
        movie.rating_count, movie.rating_sum = count, total
        assert movie.average_rating() == expected
