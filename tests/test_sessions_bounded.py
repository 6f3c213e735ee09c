"""Sessions at scale: ending any number is a constant number of writes, and a user's are capped.

The profile's map of live sessions is the truth (``storage.sessions``):
ending all but one rewrites it, whatever the number of sessions, and the
other sessions' tokens fail at once. Their items, left stale, are deleted
by the stream consumer (``storage.session_cleanup``). A user has at most
``UserItem.MAX_SESSIONS`` live sessions, chosen so that the profile, which
the authorizer reads whole, stays within one read unit; a login at the cap
evicts. Calls and items are counted from botocore's hooks; nothing is timed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import auth
from chalicelib.settings import get_settings
from chalicelib.storage import engine, session_check, sessions
from chalicelib.storage.table import SessionItem, UserItem
from devtools.stream_runner import StreamRunner
from tests.helpers.api import PASSWORD, Api, CallCounter, User, body
from tests.helpers.faults import TRANSIENT, install
from tests.helpers.sessions import (
    BAD_CREDENTIALS,
    age_session,
    assert_access_refused,
    assert_invalid_refresh,
    listed,
    login,
    refresh,
    session_id,
    session_items,
)
from tests.helpers.snapshots import table_items
from tests.helpers.table import dynamodb_client

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
    events = engine.connection().client.meta.events
    events.register("provide-client-params.dynamodb", recorder)
    yield recorder
    events.unregister("provide-client-params.dynamodb", recorder)


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> int:
    """A cap of 4 live sessions, so that reaching it takes a few logins, not a hundred."""
    monkeypatch.setattr(UserItem, "MAX_SESSIONS", 4)
    return 4


def logins(api: Api, user: User, count: int) -> list[dict[str, Any]]:
    return [login(api, user) for _ in range(count)]


def profile_sessions(user: User) -> set[int]:
    profile = UserItem.get(*UserItem.key(user.id), consistent_read=True)
    return set(profile.sessions)


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

    events = engine.connection().client.meta.events
    events.register("before-call.dynamodb.UpdateItem", end_all_first)
    try:
        raced = refresh(api, phone["refresh_token"])
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", end_all_first)

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

    events = engine.connection().client.meta.events
    events.register("after-call.dynamodb", profile_read_before_the_login)
    try:
        stream.drain()
    finally:
        events.unregister("after-call.dynamodb", profile_read_before_the_login)

    assert seen
    assert session_items(alice) == sorted([session_id(alice.token), int(hidden)])
    assert refresh(api, newcomer["refresh_token"]).status_code == 200


# ---------------------------------------------------------------- the cap, and eviction


def dynamodb_size(value: dict[str, Any]) -> int:
    """The bytes DynamoDB counts for one attribute value (its item-size rules)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + dynamodb_size(v) + 1 for k, v in inner.items())
    raise AssertionError(kind)


def test_a_full_profile_at_its_longest_fits_one_read_unit() -> None:
    """The authorizer reads the whole profile: with the map full it must stay within 4 KB."""
    longest_id = 2**53 - 1
    now = datetime.now(UTC)
    profile = UserItem(
        *UserItem.key(longest_id),
        id=longest_id,
        username="u" * 50,
        email="é" * 243 + "@example.com",  # 254 characters, two bytes each where it can
        first_name="\U0001d504" * 50,  # four bytes a character
        last_name="\U0001d504" * 50,
        phone_number="+" + "9" * 15,
        password_hash="$argon2id$v=19$m=19456,t=2,p=1$" + "s" * 22 + "$" + "h" * 43,
        created_at=now,
        updated_at=now,
        sessions=frozenset(longest_id - n for n in range(UserItem.MAX_SESSIONS)),
    )
    item = profile.serialize()

    size = sum(len(name.encode()) + dynamodb_size(value) for name, value in item.items())

    assert len(item["sessions"]["M"]) == UserItem.MAX_SESSIONS
    assert size <= 4096, size


def test_the_list_shows_every_live_session_and_so_always_the_callers(
    api: Api, alice: User, small_cap: int
) -> None:
    tokens = logins(api, alice, small_cap - 1)
    shown = listed(api, tokens[0]["access_token"])
    assert len(shown) == small_cap
    assert session_id(tokens[0]["access_token"]) in shown


def test_a_login_at_the_cap_ends_the_least_recently_used_session(
    api: Api, alice: User, small_cap: int, dynamodb_calls: CallCounter
) -> None:
    first = login(api, alice)
    logins(api, alice, small_cap - 2)
    least_recent = session_id(first["access_token"])
    bump_last_used(alice, least_recent, seconds_ago=3600)  # older than alice.token's own
    dynamodb_calls.reset()

    newest = login(api, alice)

    assert dict(dynamodb_calls.calls) == {"BatchGetItem": 1, "TransactWriteItems": 2, "Query": 1}
    assert least_recent not in profile_sessions(alice)
    assert len(profile_sessions(alice)) == small_cap
    assert_access_refused(api, first["access_token"])
    assert_invalid_refresh(refresh(api, first["refresh_token"]))
    assert least_recent not in session_items(alice)
    assert session_id(newest["access_token"]) in listed(api, alice.token)


def test_a_login_at_the_cap_ends_the_expired_sessions_first(
    api: Api, alice: User, small_cap: int
) -> None:
    tokens = logins(api, alice, small_cap - 1)
    expired = [session_id(t["access_token"]) for t in tokens[1:]]
    for sid in expired:
        age_session(alice, sid, expires_at=1)

    login(api, alice)

    left = profile_sessions(alice)
    assert left.isdisjoint(expired)
    assert {session_id(alice.token), session_id(tokens[0]["access_token"])} <= left
    assert len(left) == small_cap - len(expired) + 1
    assert listed(api, alice.token)[-1] == session_id(alice.token)


def test_logins_racing_at_the_cap_never_pass_it(api: Api, alice: User, small_cap: int) -> None:
    """Two logins at the cap that choose the same victim: one evicts it, the other another."""
    logins(api, alice, small_cap - 1)
    raced: list[bool] = []

    def another_login_first(model: Any, params: dict[str, Any], **_: Any) -> None:
        evicts = any("Delete" in action for action in params.get("TransactItems", []))
        if model.name == "TransactWriteItems" and evicts and not raced:
            raced.append(True)
            login(api, alice)

    events = engine.connection().client.meta.events
    events.register("provide-client-params.dynamodb", another_login_first)
    try:
        login(api, alice)
    finally:
        events.unregister("provide-client-params.dynamodb", another_login_first)

    assert raced
    assert len(profile_sessions(alice)) == small_cap


def bump_last_used(user: User, sid: int, *, seconds_ago: int) -> None:
    """Set the session's ``last_used_at`` this long ago."""
    session = SessionItem.get(*SessionItem.key(user.id, sid), consistent_read=True)
    moved = datetime.fromtimestamp(datetime.now(UTC).timestamp() - seconds_ago, UTC)
    session.update([SessionItem.last_used_at.set(moved)])


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
