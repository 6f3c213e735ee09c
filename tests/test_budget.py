"""Every endpoint makes exactly the DynamoDB calls its budget lists, no more, no fewer.

The routes come from the app itself and the budgets from the one catalogue,
``bench/scenarios.py`` (which ``make bench`` measures and the README's table
is generated from), so a new route without a budget fails here. Calls are
counted, by operation, and so are round trips (calls sent at once count as
one); nothing is timed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from app import app
from bench import budgets
from bench.calls import CallLog
from bench.scenarios import (
    CATALOGUE,
    CHECK_TOKEN,
    Scenario,
    World,
    app_routes,
    budgets_without_route,
    routes_without_budget,
)
from chalicelib import auth
from chalicelib.storage import engine, session_check
from tests.helpers.api import Api, User

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def call_log() -> Iterator[CallLog]:
    log = CallLog()
    events = engine.connection().client.meta.events
    log.attach(events)
    with log.watch(engine._pool):  # the pool the app sends calls at once through
        yield log
    log.detach(events)


def test_every_route_of_the_app_has_a_budget() -> None:
    missing = sorted(routes_without_budget(app))
    assert not missing, f"add a Scenario with its calls to bench/scenarios.py for {missing}"


def test_every_budget_belongs_to_a_route_of_the_app() -> None:
    assert not sorted(budgets_without_route(app))


def test_the_catalogue_covers_all_the_methods_of_every_path() -> None:
    assert len(app_routes(app)) == len({(s.method, s.route) for s in CATALOGUE})


def test_each_scenario_has_a_name_of_its_own() -> None:
    names = [scenario.name for scenario in CATALOGUE]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("scenario", CATALOGUE, ids=lambda scenario: scenario.name)
def test_each_endpoint_makes_exactly_the_calls_of_its_budget(
    scenario: Scenario, api: Api, call_log: CallLog
) -> None:
    world = World(api.client)
    call = scenario.prepare(world)
    call_log.reset()

    response = call.send(api.client)

    assert response.status_code == scenario.status, response.body
    assert call_log.calls == dict(scenario.calls)
    assert call_log.round_trips == scenario.round_trips


def test_checking_a_token_makes_exactly_the_calls_of_its_budget(alice: User) -> None:
    """The authorizer's own client: one consistent GetItem of the session, whatever the route."""
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {alice.token}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef/api/GET/users/me",
    }
    log = CallLog()
    sent: list[dict[str, object]] = []

    def record(params: dict[str, object], **_: object) -> None:
        sent.append(params)

    events = session_check.client().meta.events
    log.attach(events)
    events.register("provide-client-params.dynamodb.GetItem", record)
    try:
        policy = auth.jwt_authorizer(event, {})
    finally:
        log.detach(events)
        events.unregister("provide-client-params.dynamodb.GetItem", record)

    assert policy["principalId"] == str(alice.id)
    assert policy["context"]["expires_at"] > time.time()
    assert log.calls == dict(CHECK_TOKEN)
    assert log.round_trips == sum(CHECK_TOKEN.values())
    assert [params["ConsistentRead"] for params in sent] == [True]


def test_the_readme_budget_table_is_the_one_generated_from_the_catalogue() -> None:
    found = budgets.current_block(README.read_text())
    assert found is not None, "README.md lost its budget markers"
    assert found == budgets.block(), "the README's budget table is stale: run `make budgets`"


# ---------------------------------------------------------------- the counting itself


def test_calls_from_the_request_thread_are_one_round_trip_each() -> None:
    log = CallLog()
    log.record("GetItem")
    log.record("TransactWriteItems")
    assert (log.calls, log.round_trips) == ({"GetItem": 1, "TransactWriteItems": 1}, 2)


def test_calls_sent_at_once_from_other_threads_are_one_round_trip() -> None:
    log = CallLog()
    together = threading.Barrier(2)

    def query() -> None:
        log.record("Query")
        together.wait()  # both threads are alive, so their idents differ

    def query_twice() -> None:
        log.record("Query")
        log.record("Query")

    run_threads(query, query)
    assert (log.calls, log.round_trips) == ({"Query": 2}, 1)

    log.reset()
    run_threads(query_twice)
    assert (log.calls, log.round_trips) == ({"Query": 2}, 2)  # one thread's calls, in turn


def test_tasks_sent_at_once_are_one_round_trip_even_when_one_thread_runs_them() -> None:
    log = CallLog()
    with ThreadPoolExecutor(max_workers=1) as pool, log.watch(pool):
        wait([pool.submit(log.record, "Query"), pool.submit(log.record, "Query")])
    assert (log.calls, log.round_trips) == ({"Query": 2}, 1)

    log.reset()
    with ThreadPoolExecutor(max_workers=1) as pool:  # unwatched: the thread is all it knows
        wait([pool.submit(log.record, "Query"), pool.submit(log.record, "Query")])
    assert (log.calls, log.round_trips) == ({"Query": 2}, 2)


def run_threads(*targets: Callable[[], None]) -> None:
    workers = [threading.Thread(target=target) for target in targets]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
