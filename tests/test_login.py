"""Logging in by username or email, one answer for every failure, and the lock after many."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.api import PASSWORD, Api, User, body

# ---------------------------------------------------------------- login


def test_login_with_the_oauth2_password_form(api: Api, alice: User) -> None:
    response = api.post(
        "/login",
        raw=f"username=alice&password={PASSWORD.replace(' ', '+')}&grant_type=password".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    data = body(response)
    assert response.status_code == 200
    assert set(data) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 15 * 60
    assert 30 * 24 * 3600 - 2 <= data["refresh_expires_in"] <= 30 * 24 * 3600
    me = api.get("/users/me", token=data["access_token"])
    assert body(me)["username"] == "alice"


@pytest.mark.parametrize("login", ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"])
def test_login_by_username_or_email_ignoring_case(api: Api, alice: User, login: str) -> None:
    response = api.post("/login", {"username": login, "password": PASSWORD})
    assert response.status_code == 200
    assert body(response)["access_token"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice", "password": "wrong password"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "nobody@example.com", "password": PASSWORD},
    ],
)
def test_login_failure_is_401_with_one_message(
    api: Api, alice: User, credentials: dict[str, str]
) -> None:
    response = api.post("/login", credentials)
    assert response.status_code == 401
    assert body(response) == {"detail": "Incorrect username or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_login_without_fields_is_422(api: Api) -> None:
    response = api.post("/login", {"username": "alice"})
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == ["body", "password"]
    assert body(response)["detail"][0]["type"] == "missing"


def test_login_checks_a_dummy_hash_for_unknown_users(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown user and wrong password do the same work (and so take the same time)."""
    from chalicelib import security

    verified: list[str] = []
    context = security._password_context()
    original = context.verify

    def counting_verify(secret: str, stored: str, **kwargs: Any) -> bool:
        verified.append(stored.split("$")[1])
        return bool(original(secret, stored, **kwargs))

    monkeypatch.setattr(context, "verify", counting_verify)
    api.post("/login", {"username": "nobody", "password": PASSWORD})
    api.post("/login", {"username": "alice", "password": "wrong password"})
    assert verified == ["argon2id", "argon2id"]


# ---------------------------------------------------------------- throttling


def fail_login(api: Api, times: int) -> list[Any]:
    return [
        api.post("/login", {"username": "alice", "password": "wrong password"})
        for _ in range(times)
    ]


def test_repeated_failed_logins_are_refused_for_a_while(api: Api, alice: User) -> None:
    first = fail_login(api, 5)
    assert [r.status_code for r in first] == [401] * 5
    [sixth] = fail_login(api, 1)
    assert sixth.status_code == 429
    assert body(sixth) == {"detail": "Too many failed login attempts; try again later"}
    assert sixth.headers["Retry-After"] == "30"
    locked = api.post("/login", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 30


def test_the_lock_ends_and_a_success_forgets_the_failures(api: Api, alice: User) -> None:
    from chalicelib.storage import users
    from chalicelib.storage.table import LoginThrottleItem

    fail_login(api, 6)
    throttle = LoginThrottleItem.get(*LoginThrottleItem.key("alice", "127.0.0.1"))
    throttle.update([LoginThrottleItem.locked_until.set(0)])  # the lock has run out
    assert api.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 200
    assert users.login_state("alice", "127.0.0.1").failures == 0


def test_locks_double_and_are_capped(api: Api, alice: User) -> None:
    from chalicelib.storage import users

    locks = [users.record_failed_login("alice", "10.9.9.9") for _ in range(12)]
    assert locks == [None] * 5 + [30, 60, 120, 240, 480, 900, 900]


def test_a_throttled_client_does_not_lock_out_other_clients(api: Api, alice: User) -> None:
    from chalicelib.storage import users

    fail_login(api, 6)
    assert users.login_state("alice", "127.0.0.1").locked_until is not None
    elsewhere = users.login_state("alice", "203.0.113.7")
    assert (elsewhere.failures, elsewhere.locked_until) == (0, None)
    assert elsewhere.credentials is not None


def test_expired_failure_counts_are_ignored_before_dynamodb_deletes_them(
    api: Api, alice: User
) -> None:
    from datetime import timedelta

    from chalicelib.storage import users
    from chalicelib.storage.table import LoginThrottleItem, utcnow

    fail_login(api, 6)
    throttle = LoginThrottleItem.get(*LoginThrottleItem.key("alice", "127.0.0.1"))
    throttle.update([LoginThrottleItem.expires_at.set(utcnow() - timedelta(seconds=1))])
    state = users.login_state("alice", "127.0.0.1")
    assert (state.failures, state.locked_until) == (0, None)
    assert api.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 200
