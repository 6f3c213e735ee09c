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
    Scenario,
    World,
    app_routes,
    budgets_without_route,
    routes_without_budget,
)
from chalicelib import auth
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


def test_checking_a_token_makes_no_dynamodb_call(alice: User, dynamodb_calls: CallCounter) -> None:
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {alice.token}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef/api/GET/users/me",
    }
    dynamodb_calls.reset()

    policy = auth.jwt_authorizer(event, {})

    assert policy["principalId"] == str(alice.id)
    assert policy["context"]["expires_at"] > time.time()
    assert dynamodb_calls.total == 0
