"""Every endpoint stays within its DynamoDB round-trip budget (DESIGN.md).

The routes come from the app itself and the budgets from the catalogue in
``bench/scenarios.py`` (the one ``make bench`` measures), so a new route
without a budget fails here. Calls are counted; nothing is timed.
"""

from __future__ import annotations

import time

import pytest

from app import app
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
from chalicelib.storage import session_check
from tests.conftest import Api, CallCounter, User


def test_every_route_of_the_app_has_a_budget() -> None:
    missing = sorted(routes_without_budget(app))
    assert not missing, f"add a Scenario with its budget to bench/scenarios.py for {missing}"


def test_every_budget_belongs_to_a_route_of_the_app() -> None:
    assert not sorted(budgets_without_route(app))


def test_the_catalogue_covers_all_the_methods_of_every_path() -> None:
    assert len(app_routes(app)) == len({(s.method, s.route) for s in CATALOGUE})


@pytest.mark.parametrize("scenario", CATALOGUE, ids=lambda scenario: scenario.name)
def test_each_endpoint_stays_within_its_round_trip_budget(
    scenario: Scenario, api: Api, dynamodb_calls: CallCounter
) -> None:
    world = World(api.client)
    call = scenario.prepare(world)
    dynamodb_calls.reset()

    response = call.send(api.client)

    assert response.status_code == scenario.status, response.body
    assert dynamodb_calls.total <= scenario.budget, dict(dynamodb_calls.calls)


def test_checking_a_token_makes_one_consistent_get_item(alice: User) -> None:
    """The authorizer's own client: one GetItem of the session, whatever the route."""
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {alice.token}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef/api/GET/users/me",
    }
    calls = CallCounter()
    sent: list[dict[str, object]] = []

    def record(params: dict[str, object], **_: object) -> None:
        sent.append(params)

    events = session_check.client().meta.events
    events.register("before-call.dynamodb", calls)
    events.register("provide-client-params.dynamodb.GetItem", record)
    try:
        policy = auth.jwt_authorizer(event, {})
    finally:
        events.unregister("before-call.dynamodb", calls)
        events.unregister("provide-client-params.dynamodb.GetItem", record)

    assert policy["principalId"] == str(alice.id)
    assert policy["context"]["expires_at"] > time.time()
    assert dict(calls.calls) == {"GetItem": CHECK_TOKEN}
    assert sent[0]["ConsistentRead"] is True
