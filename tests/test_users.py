"""Signup and the caller's profile, as the contract specifies them.

Logging in, and the lock after repeated failures, is in ``test_login.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tests.helpers.api import PASSWORD, Api, User, body, user_payload


@pytest.mark.parametrize(
    ("username", "phone_number", "email", "expected_status"),
    [
        ("testuser1", "+12345678901", "testuser1@example.com", 200),
        ("testuser2", "12345678901", "testuser2@example.com", 200),
        ("testuser3", "7544", "testuser3@example.com", 422),
        ("testuser4", "789P", "testuser4@example.com", 422),
        ("testuser5", "+12345678901", "correctemail@example.com", 200),
        ("testuser6", "+12345678901", "incorrectemail", 422),
    ],
)
def test_signup_seed_cases(
    api: Api, username: str, phone_number: str, email: str, expected_status: int
) -> None:
    payload = user_payload(username, phone_number=phone_number, email=email)
    response = api.post("/signup", payload)
    assert response.status_code == expected_status
    data = body(response)
    if expected_status == 422:
        assert data["detail"]
        assert all({"type", "loc", "msg"} <= set(error) for error in data["detail"])
        assert all(error["loc"][0] == "body" for error in data["detail"])
    else:
        for field in ("username", "first_name", "last_name", "phone_number", "email"):
            assert data[field] == payload[field]


def test_signup_returns_the_user_without_any_password(api: Api) -> None:
    response = api.post("/signup", user_payload("carol"))
    data = body(response)
    assert response.status_code == 200
    assert set(data) == {
        "id",
        "username",
        "first_name",
        "last_name",
        "phone_number",
        "email",
        "created_at",
        "updated_at",
    }
    assert 0 < data["id"] < 2**53
    assert data["created_at"].endswith("Z")
    assert PASSWORD not in response.body.decode()


def test_signup_reports_exactly_which_field_is_invalid(api: Api) -> None:
    response = api.post("/signup", user_payload("x", phone_number="7544"))
    assert response.status_code == 422
    locs = [error["loc"] for error in body(response)["detail"]]
    assert locs == [["body", "username"], ["body", "phone_number"]]


def test_signup_phone_number_spaces_are_removed(api: Api) -> None:
    response = api.post("/signup", user_payload("dave", phone_number="+1 234 567 8901"))
    assert response.status_code == 200
    assert body(response)["phone_number"] == "+12345678901"


def test_signup_names_are_stripped_and_not_blank(api: Api) -> None:
    ok = api.post("/signup", user_payload("erin", first_name="  Erin "))
    assert body(ok)["first_name"] == "Erin"
    blank = api.post("/signup", user_payload("frank", last_name="   "))
    assert blank.status_code == 422
    assert body(blank)["detail"][0]["loc"] == ["body", "last_name"]
    assert body(blank)["detail"][0]["type"] == "string_too_short"


@pytest.mark.parametrize("username", ["ab", "a" * 51, "has space", "at@sign", "ünï"])
def test_signup_rejects_bad_usernames(api: Api, username: str) -> None:
    response = api.post("/signup", user_payload("ok", username=username))
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == ["body", "username"]


def test_signup_missing_field_is_fastapi_shaped_and_never_echoes_the_password(api: Api) -> None:
    payload = user_payload("gina")
    del payload["email"]
    response = api.post("/signup", payload)
    assert response.status_code == 422
    assert body(response)["detail"] == [
        {
            "type": "missing",
            "loc": ["body", "email"],
            "msg": "Field required",
            "input": {**payload, "password": "********"},
        }
    ]
    assert PASSWORD not in response.body.decode()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Value error, Password must be at least 8 bytes of UTF-8"),
        ("x" * 73, "Value error, Password must be at most 72 bytes of UTF-8"),
        ("é" * 37, "Value error, Password must be at most 72 bytes of UTF-8"),
    ],
)
def test_signup_password_is_8_to_72_bytes_and_never_echoed(
    api: Api, password: str, message: str
) -> None:
    response = api.post("/signup", user_payload("hank", password=password))
    assert response.status_code == 422
    error = body(response)["detail"][0]
    assert error["loc"] == ["body", "password"]
    assert error["msg"] == message
    assert error["input"] == "********"
    assert password not in response.body.decode()


def test_a_72_byte_multibyte_password_works_end_to_end(api: Api) -> None:
    password = "é" * 36  # 72 bytes
    assert api.post("/signup", user_payload("ivan", password=password)).status_code == 200
    login = api.post("/login", {"username": "ivan", "password": password})
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"username": "ALICE", "email": "new@example.com"}, "Username already registered"),
        ({"username": "new-name", "email": "Alice@Example.com"}, "Email already registered"),
    ],
)
def test_signup_names_are_unique_ignoring_case(
    api: Api, alice: User, changes: dict[str, str], detail: str
) -> None:
    response = api.post("/signup", user_payload("other", **changes))
    assert response.status_code == 409
    assert body(response) == {"detail": detail}


def test_concurrent_signups_for_one_name_have_exactly_one_winner(api: Api) -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def sign_up(n: int) -> None:
        barrier.wait()
        response = api.post("/signup", user_payload("racer", email=f"racer{n}@example.com"))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 7


# ---------------------------------------------------------------- profile


def test_read_me(api: Api, alice: User) -> None:
    response = api.get("/users/me", token=alice.token)
    assert response.status_code == 200
    assert body(response) == alice.profile


def test_update_me_changes_only_the_fields_sent(api: Api, alice: User) -> None:
    response = api.put("/users/me", {"first_name": " Alicia "}, token=alice.token)
    data = body(response)
    assert response.status_code == 200
    assert data["first_name"] == "Alicia"
    assert data["last_name"] == alice.profile["last_name"]
    assert data["updated_at"] > alice.profile["updated_at"]


def test_rename_keeps_the_session_and_releases_the_old_names(
    api: Api, alice: User, make_user: Callable[[str], User]
) -> None:
    response = api.put(
        "/users/me", {"username": "alicia", "email": "alicia@example.com"}, token=alice.token
    )
    assert response.status_code == 200
    assert body(api.get("/users/me", token=alice.token))["username"] == "alicia"
    assert api.post("/login", {"username": "alicia", "password": PASSWORD}).status_code == 200
    old = api.post("/login", {"username": "alice", "password": PASSWORD})
    assert old.status_code == 401
    assert body(old) == {"detail": "Incorrect username or password"}
    assert make_user("alice").username == "alice"  # the old name is free again


def test_changing_only_the_case_of_the_username_keeps_the_claim(api: Api, alice: User) -> None:
    response = api.put("/users/me", {"username": "Alice"}, token=alice.token)
    assert body(response)["username"] == "Alice"
    assert api.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 200
    taken = api.post("/signup", user_payload("ALICE", email="x@example.com"))
    assert taken.status_code == 409


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"username": "BOB"}, "Username already registered"),
        ({"email": "bob@example.com"}, "Email already registered"),
    ],
)
def test_update_me_into_a_taken_name_is_409_and_changes_nothing(
    api: Api, alice: User, bob: User, changes: dict[str, str], detail: str
) -> None:
    response = api.put("/users/me", {**changes, "first_name": "Changed"}, token=alice.token)
    assert response.status_code == 409
    assert body(response) == {"detail": detail}
    assert body(api.get("/users/me", token=alice.token)) == alice.profile


def test_concurrent_renames_into_one_name_have_exactly_one_winner(
    api: Api, make_user: Callable[[str], User]
) -> None:
    racers = [make_user(f"user{n}") for n in range(6)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(racers))

    def rename(user: User) -> None:
        barrier.wait()
        statuses.append(api.put("/users/me", {"username": "prize"}, token=user.token).status_code)

    threads = [threading.Thread(target=rename, args=(user,)) for user in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 5
    owners = [u for u in racers if body(api.get("/users/me", token=u.token))["username"] == "prize"]
    assert len(owners) == 1


def test_update_me_refuses_null_for_a_field(api: Api, alice: User) -> None:
    response = api.put("/users/me", {"username": None}, token=alice.token)
    assert response.status_code == 422
    assert body(response)["detail"] == [
        {
            "type": "string_type",
            "loc": ["body", "username"],
            "msg": "Input should be a valid string",
            "input": None,
        }
    ]


def test_change_password(api: Api, alice: User) -> None:
    new = "a brand new secret"
    response = api.put(
        "/users/me/password",
        {"current_password": PASSWORD, "new_password": new},
        token=alice.token,
    )
    assert response.status_code == 200
    assert body(response) == {"message": "success"}
    assert api.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 401
    for login in ("alice", "alice@example.com"):
        assert api.post("/login", {"username": login, "password": new}).status_code == 200


def test_change_password_needs_the_current_one(api: Api, alice: User) -> None:
    response = api.put(
        "/users/me/password",
        {"current_password": "not it at all", "new_password": "another secret"},
        token=alice.token,
    )
    assert response.status_code == 400
    assert body(response) == {"detail": "Current password is incorrect"}
    assert api.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 200


def test_change_password_validates_the_new_one_without_echoing_it(api: Api, alice: User) -> None:
    response = api.put(
        "/users/me/password",
        {"current_password": PASSWORD, "new_password": "short"},
        token=alice.token,
    )
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == ["body", "new_password"]
    assert body(response)["detail"][0]["input"] == "********"
