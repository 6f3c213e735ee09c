"""Rate, re-rate and delete by several users in any order (Hypothesis): the counters stay exact."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from chalicelib.settings import get_settings
from tests.helpers.api import Api, User, body
from tests.helpers.ratings import average, create_movie, listed, rate, rated
from tests.helpers.snapshots import load, table_items
from tests.helpers.table import create_table

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
