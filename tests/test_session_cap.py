"""A user's live sessions are capped, so the profile the authorizer reads stays one read unit.

A login at the cap evicts (the expired sessions first, else the least
recently used), and logins racing at the cap never pass it. A profile
written before sessions were listed on it gets its map at its first login,
or from ``make backfill``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.settings import get_settings
from chalicelib.storage import engine, sessions
from chalicelib.storage.table import SessionItem, UserItem
from devtools.backfill import PROFILES, backfill
from tests.helpers.api import PASSWORD, Api, CallCounter, User
from tests.helpers.concurrency import all_at_once
from tests.helpers.faults import assert_unavailable
from tests.helpers.sessions import (
    age_session,
    assert_access_refused,
    assert_invalid_refresh,
    listed,
    login,
    logins,
    profile_sessions,
    refresh,
    session_id,
    session_items,
)
from tests.helpers.table import app_hook, dynamodb_client


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> int:
    """A cap of 4 live sessions, so that reaching it takes a few logins, not a hundred."""
    monkeypatch.setattr(UserItem, "MAX_SESSIONS", 4)
    return 4


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

    with app_hook("provide-client-params.dynamodb", another_login_first):
        login(api, alice)

    assert raced
    assert len(profile_sessions(alice)) == small_cap


@pytest.mark.usefixtures("concurrent_requests")
def test_eight_logins_at_the_cap_at_once_all_succeed(api: Api, alice: User, small_cap: int) -> None:
    logins(api, alice, small_cap - 1)

    form = {"username": alice.username, "password": PASSWORD}
    answers = all_at_once([lambda: api.post("/login", form)] * 8)

    assert [answer.status_code for answer in answers] == [200] * 8
    assert len(profile_sessions(alice)) == small_cap


def bump_last_used(user: User, sid: int, *, seconds_ago: int) -> None:
    """Set the session's ``last_used_at`` this long ago."""
    session = SessionItem.get(*SessionItem.key(user.id, sid), consistent_read=True)
    moved = datetime.fromtimestamp(datetime.now(UTC).timestamp() - seconds_ago, UTC)
    session.update([SessionItem.last_used_at.set(moved)])


# ---------------------------------------------------------------- profiles from before the map


def without_sessions_map(user: User) -> None:
    pk, sk = UserItem.key(user.id)
    dynamodb_client().update_item(
        TableName=get_settings().table_name,
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        UpdateExpression="REMOVE #sessions",
        ExpressionAttributeNames={"#sessions": UserItem.sessions.attr_name},
    )


def test_the_backfill_gives_old_profiles_their_map_and_their_users_log_in(
    api: Api, alice: User, bob: User, dynamodb_calls: CallCounter
) -> None:
    """Profiles written before sessions were listed on them, after ``make backfill``."""
    without_sessions_map(alice)
    assert_access_refused(api, alice.token)  # a session the profile does not list
    bobs = profile_sessions(bob)
    dynamodb_calls.reset()

    assert backfill(segments=2)[PROFILES.name] == 1

    assert dynamodb_calls.calls["UpdateItem"] == 1  # alice's; bob's map is left alone
    assert profile_sessions(bob) == bobs
    tokens = login(api, alice)
    assert profile_sessions(alice) == {session_id(tokens["access_token"])}
    assert listed(api, tokens["access_token"]) == [session_id(tokens["access_token"])]
    dynamodb_calls.reset()
    assert backfill(segments=2)[PROFILES.name] == 0
    assert dynamodb_calls.calls["UpdateItem"] == 0


def test_start_listing_changes_neither_an_existing_map_nor_a_missing_profile(
    api: Api, alice: User
) -> None:
    before = profile_sessions(alice)
    assert sessions.start_listing(alice.id) is False
    assert profile_sessions(alice) == before
    assert sessions.start_listing(alice.id + 1) is False
    assert UserItem.count(UserItem.key(alice.id + 1)[0]) == 0


def test_an_old_profile_logs_in_before_the_backfill_and_gets_its_map(
    api: Api, alice: User, dynamodb_calls: CallCounter
) -> None:
    without_sessions_map(alice)
    dynamodb_calls.reset()

    tokens = login(api, alice)

    # The transaction DynamoDB refuses (no map to add to), the map made, the transaction again.
    assert dict(dynamodb_calls.calls) == {
        "BatchGetItem": 1,
        "TransactWriteItems": 2,
        "UpdateItem": 1,
    }
    assert profile_sessions(alice) == {session_id(tokens["access_token"])}
    assert listed(api, tokens["access_token"]) == [session_id(tokens["access_token"])]
    dynamodb_calls.reset()
    login(api, alice)
    assert dict(dynamodb_calls.calls) == {"BatchGetItem": 1, "TransactWriteItems": 1}


def test_a_login_whose_every_eviction_is_raced_is_a_bounded_503(
    api: Api,
    alice: User,
    small_cap: int,
    dynamodb_calls: CallCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another login ends the chosen sessions first, every time: six tries, then 503."""
    logins(api, alice, small_cap - 1)
    backoffs: list[float] = []
    monkeypatch.setattr(engine, "sleep", backoffs.append)
    other_sessions = iter(range(1, 100))

    def another_login_evicts_first(model: Any, params: dict[str, Any], **_: Any) -> None:
        actions = params.get("TransactItems", []) if model.name == "TransactWriteItems" else []
        victims = [a["Delete"]["Key"]["sk"]["S"] for a in actions if "Delete" in a]
        if victims:  # end the victims and start as many others, keeping the map full
            profile = UserItem(*UserItem.key(alice.id))
            ended = [UserItem.session_entry(int(v.split("#")[1])).remove() for v in victims]
            started = [UserItem.session_entry(next(other_sessions)).set(True) for _ in victims]
            profile.update([*ended, *started])

    dynamodb_calls.reset()
    with app_hook("provide-client-params.dynamodb", another_login_evicts_first):
        answer = api.post("/login", {"username": alice.username, "password": PASSWORD})

    assert_unavailable(answer)
    assert dynamodb_calls.calls["TransactWriteItems"] == engine.MAX_ATTEMPTS
    assert dynamodb_calls.calls["Query"] == engine.MAX_ATTEMPTS - 1
    assert len(backoffs) == engine.MAX_ATTEMPTS - 2
    assert len(profile_sessions(alice)) == small_cap
