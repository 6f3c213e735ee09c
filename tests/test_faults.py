"""DynamoDB faults on every kind of call the app makes: retried where safe, else a 503.

Faults are injected under botocore's retry handler (``tests/helpers/faults.py``),
so these tests see the whole stack as it runs on AWS: PynamoDB configures
botocore's "standard" retries (4 attempts, full-jitter backoff) for every
call, and the app adds retries only where botocore does not retry:
cancelled transactions (``TransactionConflict``) and unprocessed batch
keys. When DynamoDB stays throttled, failing or silent, the answer is a 503
with ``Retry-After`` and nothing written; when it recovers, each write lands
exactly once, even when a first attempt landed and only its answer was lost.

Batches, lost answers and the stream are in ``test_faults_batches_and_the_stream.py``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from app import app
from chalicelib import gateway
from chalicelib.http.operations import operation_of
from chalicelib.storage import engine
from tests.helpers.api import PASSWORD, UNAVAILABLE, User, body, user_payload
from tests.helpers.faults import (
    BOTOCORE_ATTEMPTS,
    CONFLICT,
    TRANSIENT,
    DynamoFaults,
    error_answer,
)
from tests.helpers.snapshots import Snapshot, changed_keys, restore, table_items
from tests.helpers.worlds import World, rate

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
# Attributes that differ between two runs of one request: new ids, times, salted hashes.
VOLATILE = {"pk", "sk", "id", "created_at", "updated_at", "gsi1pk", "gsi1sk", "gsi2sk"}
VOLATILE |= {"expires_at", "locked_until", "last_failure_id", "comment_sk", "password_hash"}
VOLATILE |= {"refresh_hash", "rotated_at", "last_used_at", "ended_at"}
VOLATILE_BY_KIND = {"username": {"user_id"}, "email": {"user_id"}}


@dataclass(frozen=True)
class Call:
    """One request of a route, and the DynamoDB calls it makes, in order.

    ``path`` is formatted with the world's fields; ``who`` sends it (``None``:
    no token).
    """

    method: str
    route: str
    operations: tuple[str, ...]
    path: str = ""
    payload: Any = None
    who: str | None = "alice"
    status: int = 200
    name: str = ""

    @property
    def id(self) -> str:
        return self.name or f"{self.method} {self.route}"

    def send(self, world: World) -> Any:
        path = (self.path or self.route).format(**vars(world))
        user: User | None = getattr(world, self.who) if self.who else None
        token = user.token if user else None
        payload = self.payload
        if isinstance(payload, dict):  # "{refresh}" and the like, from the world
            payload = {
                k: v.format(**vars(world)) if isinstance(v, str) else v for k, v in payload.items()
            }
        return world.api.request(self.method, path, payload, token=token)


GET = ("GetItem",)
QUERY = ("Query",)
PUT = ("PutItem",)
UPDATE = ("UpdateItem",)
TRANSACT = ("TransactWriteItems",)
READ_THEN_TRANSACT = ("GetItem", *TRANSACT)
BAD_LOGIN = {"username": "bob", "password": "not the password"}
NEW_PASSWORD = {"current_password": PASSWORD, "new_password": "Manuel from Barcelona"}
REFRESH = {"refresh_token": "{refresh}"}
TEXT = {"comment_text": "Que?"}
M, M2 = "/movies/{movie}", "/movie/{movie}"
CALLS = [
    Call("POST", "/signup", TRANSACT, payload=user_payload("polly"), who=None),
    Call("POST", "/login", ("BatchGetItem", *TRANSACT),
         payload={"username": "bob", "password": PASSWORD}),
    Call("POST", "/login", ("BatchGetItem", "UpdateItem"), payload=BAD_LOGIN, status=401,
         name="POST /login failing"),
    Call("GET", "/users/me", GET),
    Call("PUT", "/users/me", READ_THEN_TRANSACT, payload={"first_name": "Sybil"}),
    Call("PUT", "/users/me/password", READ_THEN_TRANSACT, payload=NEW_PASSWORD),
    Call("POST", "/token/refresh", ("BatchGetItem", "UpdateItem"), payload=REFRESH, who=None),
    Call("POST", "/logout", TRANSACT, status=204),
    Call("GET", "/users/me/sessions", QUERY),
    Call("DELETE", "/users/me/sessions", TRANSACT, status=204),
    Call("DELETE", "/users/me/sessions/{session_id}", TRANSACT, "/users/me/sessions/{session}",
         status=204),
    Call("GET", "/movies", QUERY * 2, who=None),
    Call("GET", "/movies", QUERY * 2, "/movies?sort=top_rated", who=None,
         name="GET /movies?sort=top_rated"),
    Call("GET", "/movies/search", QUERY * 2, "/movies/search?q=dirty%20hotel", who=None),
    Call("GET", "/movies/user", QUERY),
    Call("GET", "/movies/{movie_id}", QUERY * 2, M, who=None),
    Call("GET", "/movie/{movie_id}", QUERY * 2, M2, who=None),
    Call("POST", "/movies", TRANSACT, payload={"title": "Gourmet Night"}, status=201),
    Call("POST", "/new_movies", TRANSACT, payload={"title": "The Rat"}),
    Call("PUT", "/movies/{movie_id}", UPDATE, M, {"title": "Basil"}),
    Call("PATCH", "/movies/{movie_id}", UPDATE, M, {"description": None}),
    Call("PUT", "/movie_update/{movie_id}", UPDATE, "/movie_update/{movie}", {"title": "Sybil"}),
    Call("DELETE", "/movies/{movie_id}", TRANSACT, M, status=204),
    Call("DELETE", "/movie_delete/{movie_id}", READ_THEN_TRANSACT, "/movie_delete/{movie}"),
    Call("POST", "/movies/{movie_id}/ratings", READ_THEN_TRANSACT, M + "/ratings", {"rating": 9}),
    Call("POST", "/movies/{movie_id}/ratings", READ_THEN_TRANSACT, M + "/ratings", {"rating": 2},
         who="bob", name="POST /movies/{movie_id}/ratings again"),
    Call("GET", "/movies/{movie_id}/ratings", QUERY, M + "/ratings", who=None),
    Call("GET", "/movies/{movie_id}/ratings/average", QUERY, M + "/ratings/average", who=None),
    Call("GET", "/users/me/ratings", QUERY),
    Call("DELETE", "/movies/{movie_id}/ratings", READ_THEN_TRANSACT, M + "/ratings", who="bob",
         status=204),
    Call("POST", "/movies/{movie_id}/comments", TRANSACT, M + "/comments", TEXT),
    Call("GET", "/movies/{movie_id}/comments", QUERY, M + "/comments", who=None),
    Call("POST", "/comments/{parent_id}/replies", READ_THEN_TRANSACT, "/comments/{reply}/replies",
         TEXT),
    Call("PUT", "/comments/{comment_id}", ("GetItem", "UpdateItem"), "/comments/{comment}", TEXT),
    Call("DELETE", "/comments/{comment_id}", READ_THEN_TRANSACT, "/comments/{comment}"),
    Call("DELETE", "/comments/{comment_id}", READ_THEN_TRANSACT, "/comments/{reply}", who="bob",
         name="DELETE /comments/{comment_id} leaf"),
]  # fmt: skip


def test_every_route_that_uses_the_table_has_a_fault_scenario() -> None:
    uses_table = {
        (method, path)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if (operation := operation_of(entry.view_function)) is not None and operation.uses_table
    }
    assert uses_table == {(call.method, call.route) for call in CALLS}


# ---------------------------------------------------------------- DynamoDB stays unavailable


def assert_unavailable_on(call: Call, response: Any) -> None:
    """503 with the contract's body, asking for a wait as long as the stage cache keeps it.

    API Gateway's stage cache keeps a cached page's 503 for its 10 s TTL, so a
    cached route asks for 10 s (a client that waits as told misses the cached
    503); every other route asks for 1 s.
    """
    assert response.status_code == 503, response.body
    assert body(response) == UNAVAILABLE
    cached = (call.route, call.method) in gateway.CACHED_ROUTES
    assert response.headers["Retry-After"] == ("10" if cached else "1"), call.id


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.id)
def test_dynamodb_staying_unavailable_is_a_503_that_writes_nothing(
    world: World, faults: DynamoFaults, call: Call
) -> None:
    """botocore retries each call 3 times and the app adds none on top, but for conflicts.

    botocore does not retry a cancelled transaction: the app does, with one token.
    """
    before = table_items()
    assert call.send(world).status_code == call.status
    assert Counter(faults.attempts) == Counter(call.operations), "the scenario's calls"
    restore(before)
    for operation in dict.fromkeys(call.operations):
        for kind, answer in TRANSIENT.items():
            faults.clear()
            faults.fail(operation, answer)
            assert_unavailable_on(call, call.send(world))
            sent = faults.attempts[operation]
            assert sent == BOTOCORE_ATTEMPTS * call.operations.count(operation), (kind, sent)
            assert faults.app_backoffs == [], kind
            assert changed_keys(before, table_items()) == set(), (operation, kind)
    if "TransactWriteItems" in call.operations:
        faults.clear()
        faults.fail("TransactWriteItems", CONFLICT)
        assert_unavailable_on(call, call.send(world))
        assert faults.attempts["TransactWriteItems"] == engine.MAX_ATTEMPTS
        assert faults.botocore_retries == 0
        assert len(faults.app_backoffs) == engine.MAX_ATTEMPTS - 1
        assert changed_keys(before, table_items()) == set()
    faults.clear()
    assert call.send(world).status_code == call.status


# ---------------------------------------------------------------- DynamoDB recovers


def effect(before: Snapshot, after: Snapshot) -> Counter[tuple[str, str, str]]:
    """What a request did to the table, without the ids and times two runs cannot share."""
    done: Counter[tuple[str, str, str]] = Counter()
    for key in changed_keys(before, after):
        old, new = before.get(key), after.get(key)
        change = "added" if old is None else "removed" if new is None else "changed"
        item = new if new is not None else old
        assert item is not None
        kind = item["kind"]["S"]
        volatile = VOLATILE | VOLATILE_BY_KIND.get(kind, set())
        stable = {name: value for name, value in sorted(item.items()) if name not in volatile}
        if "sessions" in item:  # the profile's live sessions: new ids, but how many counts
            stable["sessions"] = len(item["sessions"]["M"])
        done[(change, kind, repr(stable))] += 1
    return done


def run_once(world: World, call: Call) -> tuple[int, Counter[tuple[str, str, str]]]:
    """The request's status and effect on the world, then the world as it was."""
    before = table_items()
    response = call.send(world)
    done = effect(before, table_items())
    restore(before)
    return response.status_code, done


def recovering_faults(call: Call, kinds: list[str]) -> list[tuple[str, str, bool]]:
    """``(operation, fault, lands)`` for each call the request makes; writes also lose answers."""
    variants = []
    for operation in dict.fromkeys(call.operations):
        variants += [(operation, kind, False) for kind in kinds]
        if operation in WRITES:
            variants += [(operation, kind, True) for kind in ("read-timeout", "internal-error")]
    return variants


def check_recovery(world: World, faults: DynamoFaults, call: Call, kinds: list[str]) -> None:
    clean_status, clean_effect = run_once(world, call)
    assert clean_status == call.status
    for operation, kind, lands in recovering_faults(call, kinds):
        faults.clear()
        faults.fail(operation, TRANSIENT[kind], times=BOTOCORE_ATTEMPTS - 1, lands=lands)
        status, done = run_once(world, call)
        variant = (operation, kind, "lands" if lands else "refused")
        if lands and operation == "DeleteItem":
            # The resent delete finds nothing to delete: the movie is gone either way.
            assert status in (clean_status, 404), variant
            assert done == clean_effect, variant
            continue
        assert status == clean_status, variant
        assert done == clean_effect, variant


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.id)
def test_after_transient_faults_each_write_lands_exactly_once(
    world: World, faults: DynamoFaults, call: Call
) -> None:
    check_recovery(world, faults, call, ["throttling"])


@pytest.mark.slow
@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.id)
def test_after_any_transient_fault_each_write_lands_exactly_once(
    world: World, faults: DynamoFaults, call: Call
) -> None:
    check_recovery(world, faults, call, list(TRANSIENT))


def test_a_transaction_conflict_is_retried_with_the_same_token_and_counted_once(
    world: World, faults: DynamoFaults
) -> None:
    faults.fail("TransactWriteItems", CONFLICT, times=2)
    response = rate(world, 9)
    assert response.status_code == 200
    assert faults.attempts["TransactWriteItems"] == 3
    average = body(world.api.get(f"/movies/{world.movie}/ratings/average"))
    assert average == {"average_rating": 8.0, "rating_count": 2}


def test_a_transaction_still_in_progress_is_botocores_to_retry(
    world: World, faults: DynamoFaults
) -> None:
    """DynamoDB is still applying an earlier send of the same token: botocore waits and resends."""
    faults.fail("TransactWriteItems", error_answer("TransactionInProgressException"), times=2)
    response = rate(world, 9)
    assert response.status_code == 200
    assert (faults.attempts["TransactWriteItems"], faults.botocore_retries) == (3, 2)
    assert faults.app_backoffs == []
    average = body(world.api.get(f"/movies/{world.movie}/ratings/average"))
    assert average == {"average_rating": 8.0, "rating_count": 2}
