"""Sessions at scale: ending any number of them is a constant number of writes.

The profile's map of live sessions is the truth (``storage.sessions``):
ending all but one rewrites it, whatever the number of sessions, and the
other sessions' tokens fail at once. Their items, left stale, are deleted
by the stream consumer (``storage.session_cleanup``). (The cap on a user's
live sessions is in ``test_session_cap.py``.) Calls and items are counted
from botocore's hooks; nothing is timed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import auth
from chalicelib.settings import get_settings
from chalicelib.storage import engine, session_check, sessions
from chalicelib.storage.table import UserItem
from devtools.stream_runner import StreamRunner
from tests.helpers.api import PASSWORD, Api, CallCounter, User, body
from tests.helpers.faults import TRANSIENT, install
from tests.helpers.sessions import (
    BAD_CREDENTIALS,
    assert_access_refused,
    assert_invalid_refresh,
    listed,
    login,
    logins,
    refresh,
    session_id,
    session_items,
)
from tests.helpers.snapshots import table_items
from tests.helpers.table import app_hook, dynamodb_client

NEW_PASSWORD = "a brand new secret"


class Writes:
    """The write calls the app makes, by operation, and the items each one writes."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "TransactWriteItems":
            self.calls[model.name] += 1
            self.items[model.name] += len(params["TransactItems"])
        elif model.name == "BatchWriteItem":
            self.calls[model.name] += 1
            self.items[model.name] += sum(len(v) for v in params["RequestItems"].values())
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.calls[model.name] += 1
            self.items[model.name] += 1

    def reset(self) -> None:
        self.calls.clear()
        self.items.clear()


@pytest.fixture
def writes() -> Iterator[Writes]:
    recorder = Writes()
    with app_hook("provide-client-params.dynamodb", recorder):
        yield recorder


# ---------------------------------------------------------------- a constant number of writes


def end_all_writes(api: Api, alice: User, writes: Writes, others: int) -> tuple[Any, Any]:
    logins(api, alice, others)
    writes.reset()
    assert api.delete("/users/me/sessions", token=alice.token).status_code == 204
    return dict(writes.calls), dict(writes.items)


def test_ending_all_others_writes_the_same_whatever_their_number(
    api: Api, alice: User, bob: User, writes: Writes
) -> None:
    """One transaction of two items (the profile's map, the marker) for 1 or 99 others."""
    one = end_all_writes(api, bob, writes, 1)
    many = end_all_writes(api, alice, writes, UserItem.MAX_SESSIONS - 1)

    assert one == many == ({"TransactWriteItems": 1}, {"TransactWriteItems": 2})
    assert listed(api, alice.token) == [session_id(alice.token)]


def test_a_password_change_writes_the_same_whatever_the_number_of_sessions(
    api: Api, alice: User, bob: User, writes: Writes
) -> None:
    """One transaction: the profile (hash and map), both claims, the marker."""
    found = []
    for user, others in ((bob, 1), (alice, UserItem.MAX_SESSIONS - 1)):
        logins(api, user, others)
        writes.reset()
        change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        assert api.put("/users/me/password", change, token=user.token).status_code == 200
        found.append((dict(writes.calls), dict(writes.items)))

    assert found[0] == found[1] == ({"TransactWriteItems": 1}, {"TransactWriteItems": 4})
    assert listed(api, alice.token) == [session_id(alice.token)]


def test_stale_sessions_tokens_fail_at_once_before_their_items_are_deleted(
    api: Api, alice: User
) -> None:
    others = logins(api, alice, 3)

    assert api.delete("/users/me/sessions", token=alice.token).status_code == 204

    assert len(session_items(alice)) == 4  # the stream has not run: the items are still there
    for tokens in others:
        assert_access_refused(api, tokens["access_token"])
        assert_invalid_refresh(refresh(api, tokens["refresh_token"]))
    assert listed(api, alice.token) == [session_id(alice.token)]


def test_the_sessions_a_password_change_ends_fail_at_once(api: Api, alice: User) -> None:
    others = logins(api, alice, 2)
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}

    assert api.put("/users/me/password", change, token=alice.token).status_code == 200

    for tokens in others:
        assert_access_refused(api, tokens["access_token"])
        assert_invalid_refresh(refresh(api, tokens["refresh_token"]))
    assert listed(api, alice.token) == [session_id(alice.token)]


def test_ending_all_others_from_a_session_that_just_ended_is_401_and_revives_nothing(
    api: Api, alice: User
) -> None:
    other = login(api, alice)
    current = session_id(alice.token)
    ended: list[bool] = []

    def log_out_first(**_: Any) -> None:
        if not ended:
            ended.append(True)
            assert sessions.end(alice.id, current)

    events = engine.connection().client.meta.events
    events.register_first("before-call.dynamodb.TransactWriteItems", log_out_first)
    try:
        response = api.delete("/users/me/sessions", token=alice.token)
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", log_out_first)

    assert response.status_code == 401
    assert body(response) == BAD_CREDENTIALS
    assert_access_refused(api, alice.token)
    assert listed(api, other["access_token"]) == [session_id(other["access_token"])]


def test_a_rotation_that_lands_after_an_end_all_mints_tokens_nobody_accepts(
    api: Api, alice: User
) -> None:
    """The refresh read its session as live; "end all" lands before its rotation does."""
    phone = login(api, alice)
    ended: list[bool] = []

    def end_all_first(**_: Any) -> None:
        if not ended:
            ended.append(True)
            sessions.end_all(alice.id, keep=session_id(alice.token))

    with app_hook("before-call.dynamodb.UpdateItem", end_all_first):
        raced = refresh(api, phone["refresh_token"])

    assert raced.status_code == 200, raced.body  # the rotation won its own condition
    minted = body(raced)
    assert_access_refused(api, minted["access_token"])
    assert_invalid_refresh(refresh(api, minted["refresh_token"]))
    assert_invalid_refresh(refresh(api, phone["refresh_token"]))
    assert listed(api, alice.token) == [session_id(alice.token)]


def test_deleting_a_profile_ends_every_session_of_its_user(api: Api, alice: User) -> None:
    other = login(api, alice)
    pk, sk = UserItem.key(alice.id)

    dynamodb_client().delete_item(
        TableName=get_settings().table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}
    )

    for tokens in (other, {"access_token": alice.token, "refresh_token": None}):
        assert_access_refused(api, tokens["access_token"])
    assert_invalid_refresh(refresh(api, other["refresh_token"]))


# ---------------------------------------------------------------- the stream deletes stale items


def test_the_stream_deletes_the_stale_items_and_a_redelivery_is_harmless(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    logins(api, alice, 3)
    stream.drain()
    assert api.delete("/users/me/sessions", token=alice.token).status_code == 204

    assert stream.drain() == 1
    assert session_items(alice) == [session_id(alice.token)]
    [batch] = stream.delivered[-1:]
    answer = stream.handler({"Records": batch})
    assert answer == {"batchItemFailures": []}
    assert session_items(alice) == [session_id(alice.token)]
    assert api.get("/users/me", token=alice.token).status_code == 200


def test_the_stream_deletes_what_a_password_change_left(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    logins(api, alice, 2)
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert api.put("/users/me/password", change, token=alice.token).status_code == 200

    stream.drain()

    assert session_items(alice) == [session_id(alice.token)]


def test_once_the_stream_has_run_the_list_reads_at_most_twice_what_it_shows_plus_two(
    api: Api, alice: User, stream: StreamRunner, dynamodb_calls: CallCounter
) -> None:
    logins(api, alice, 20)
    assert api.delete("/users/me/sessions", token=alice.token).status_code == 204
    kept = logins(api, alice, 2)
    stream.drain()
    dynamodb_calls.reset()

    shown = listed(api, kept[0]["access_token"])

    assert len(shown) == 3
    assert dict(dynamodb_calls.calls) == {"Query": 1}
    assert dynamodb_calls.items_read <= 2 * len(shown) + 2


def test_a_session_that_starts_while_the_cleanup_reads_is_kept(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    """A Query is no snapshot: a login between its read of the profile and of the sessions
    looks stale to it. The cleanup's check that the profile lists none of what it deletes
    fails instead, and it reads again."""
    login(api, alice)
    assert api.delete("/users/me/sessions", token=alice.token).status_code == 204
    newcomer = login(api, alice)
    hidden = session_check.map_key(session_id(newcomer["access_token"]))
    seen: list[bool] = []

    def profile_read_before_the_login(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "Query" and not seen:
            seen.append(True)
            for item in parsed.get("Items", []):
                item.get("sessions", {}).get("M", {}).pop(hidden, None)

    with app_hook("after-call.dynamodb", profile_read_before_the_login):
        stream.drain()

    assert seen
    assert session_items(alice) == sorted([session_id(alice.token), int(hidden)])
    assert refresh(api, newcomer["refresh_token"]).status_code == 200


# ---------------------------------------------------------------- the authorizer's one read


def test_the_authorizer_reads_only_the_sessions_entry_in_the_profile(alice: User) -> None:
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    events = session_check.client().meta.events
    events.register("provide-client-params.dynamodb", record)
    try:
        context = auth.authenticate(f"Bearer {alice.token}")
    finally:
        events.unregister("provide-client-params.dynamodb", record)

    assert context["user_id"] == alice.id
    [params] = sent
    pk, sk = UserItem.key(alice.id)
    assert params["Key"] == {"pk": {"S": pk}, "sk": {"S": sk}}
    assert params["ConsistentRead"] is True
    assert params["ProjectionExpression"] == "#sessions.#sid"
    assert params["ExpressionAttributeNames"]["#sid"] == str(session_id(alice.token))


def test_a_cleanup_dynamodb_refuses_is_reported_and_done_on_redelivery(
    api: Api, alice: User, stream: StreamRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    logins(api, alice, 2)
    assert api.delete("/users/me/sessions", token=alice.token).status_code == 204
    faults = install(monkeypatch)
    faults.fail("TransactWriteItems", TRANSIENT["throttling"])

    stream.drain()

    [given_up] = stream.given_up
    assert len(given_up) == 1  # the marker's record, after every retry
    assert len(session_items(alice)) == 3
    faults.clear()
    assert stream.handler({"Records": given_up}) == {"batchItemFailures": []}
    assert session_items(alice) == [session_id(alice.token)]


def test_one_batch_cleans_up_after_a_deleted_movie_and_ended_sessions(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    movie = body(api.post("/movies", {"title": "Metropolis"}, token=alice.token))["id"]
    assert api.post(f"/movies/{movie}/ratings", {"rating": 9}, token=alice.token).status_code == 200
    logins(api, alice, 2)
    stream.drain()
    assert api.delete(f"/movies/{movie}", token=alice.token).status_code == 204
    assert api.delete("/users/me/sessions", token=alice.token).status_code == 204

    assert stream.drain() == 1

    assert session_items(alice) == [session_id(alice.token)]
    assert [key for key in table_items() if key[0] == f"MOVIE#{movie}"] == []
