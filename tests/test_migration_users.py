"""Migrated users: they log in with their old passwords, renamed where the API would refuse
their names, and the first login replaces bcrypt with argon2id.

The original's database runs in a throwaway cluster (tests/helpers/pgcluster.py)
and holds every awkward case its data may (tests/helpers/original_data.py); the
migration writes into the tests' moto table, and everything is checked
through the API as a client would see it.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from chalicelib import security
from devtools.migrate.report import Report
from tests.helpers.api import Api, CallCounter, body
from tests.helpers.migration import login, token
from tests.helpers.original_data import World
from tests.helpers.snapshots import table_items
from tests.helpers.table import app_hook, dynamodb_client

# ---------------------------------------------------------------- users


def test_every_user_logs_in_with_their_old_password(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, report = migrated
    renamed = {c.id: c.details["new"] for c in report.changes if c.kind == "username_renamed"}
    for role, user in world.users.items():
        if user.password is None:
            continue
        name = renamed.get(user.id, user.username)
        me = api.get("/users/me", token=token(api, name, user.password))
        assert me.status_code == 200, role
        assert body(me)["id"] == user.id


def test_renamed_users_log_in_with_their_email_too(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, report = migrated
    renamed = {c.id: c.details for c in report.changes if c.kind == "username_renamed"}
    assert {details["old"]: details["new"] for details in renamed.values()} == {
        "Ada": "Ada-2",
        "grace hopper": "grace_hopper",
        "Zoë": "Zoe",
        "bo": "bo_6",
        "al@home": "al_home",
    }
    for user in world.users.values():
        if user.id in renamed and user.password is not None:
            assert login(api, user.email, user.password).status_code == 200, user.username
            old_name = login(api, user.username, user.password)
            assert old_name.status_code in (401, 422), user.username


def test_an_email_taken_ignoring_case_goes_to_the_renamed_user(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, report = migrated
    hopper, grace = world.users["grace hopper"], world.users["grace"]
    [replaced] = [c for c in report.changes if c.kind == "email_replaced"]
    assert (replaced.id, replaced.details["kept_by_user"]) == (grace.id, hopper.id)
    assert login(api, "GRACE@example.com", "cobol cobol").status_code == 200
    me = api.get("/users/me", token=token(api, "grace", "another grace"))
    assert body(me)["email"] == f"user-{grace.id}@migrated.invalid"
    wrong = login(api, "grace@example.com", "another grace")
    assert (wrong.status_code, body(wrong)) == (401, {"detail": "Incorrect username or password"})


def test_a_password_longer_than_72_bytes_still_works(
    api: Api, migrated: tuple[World, Report]
) -> None:
    zoe = migrated[0].users["zoë"]
    assert zoe.password is not None and len(zoe.password.encode()) > 72
    assert login(api, "Zoe", zoe.password).status_code == 200
    assert login(api, "Zoe", zoe.password).status_code == 200  # after the rehash too


def test_a_hash_that_is_not_bcrypt_lets_nobody_in_and_is_reported(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, report = migrated
    broken = world.users["no hash"]
    assert any(c.kind == "password_hash_unrecognised" and c.id == broken.id for c in report.changes)
    answer = login(api, "broken", "not-a-hash")
    assert (answer.status_code, body(answer)) == (401, {"detail": "Incorrect username or password"})


def test_profiles_are_cleaned_as_the_api_would_store_them(
    api: Api, migrated: tuple[World, Report]
) -> None:
    linus = body(api.get("/users/me", token=token(api, "linus", "penguins!")))
    assert (linus["first_name"], linus["phone_number"]) == ("Linus", "+12345678901")
    margaret = body(api.get("/users/me", token=token(api, "margaret", "apollo11")))
    assert margaret["phone_number"] == "7544"


def test_users_local_timestamps_become_utc(api: Api, migrated: tuple[World, Report]) -> None:
    winter = body(api.get("/users/me", token=token(api, "winter", "snow snow")))
    assert winter["created_at"].startswith("2024-01-15T14:00:00")  # 09:00 EST
    assert winter["updated_at"].startswith("2024-07-01T13:00:00")  # 09:00 EDT
    ada = body(api.get("/users/me", token=token(api, "linus", "penguins!")))
    created = dt.datetime.fromisoformat(ada["created_at"].replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=10)


# ---------------------------------------------------------------- passwords


def _hashes(user_id: int, username: str, email: str) -> list[str]:
    items = table_items()
    keys = [(f"USER#{user_id}", "PROFILE"), (f"USERNAME#{username}", "USERNAME")]
    keys.append((f"EMAIL#{email.lower()}", "EMAIL"))
    return [items[key]["password_hash"]["S"] for key in keys]


def test_the_first_login_replaces_bcrypt_with_argon2id_in_two_calls(
    api: Api, migrated: tuple[World, Report], dynamodb_calls: CallCounter
) -> None:
    ada = migrated[0].users["ada"]
    assert all(h.startswith("$2b$12$") for h in _hashes(ada.id, "ada", ada.email))
    dynamodb_calls.reset()
    assert login(api, "ada", "ada's old password").status_code == 200
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert all(h.startswith("$argon2id$") for h in _hashes(ada.id, "ada", ada.email))
    claims = [table_items()[key] for key in _claim_keys("ada", ada.email)]
    assert [("username" in claim, "email" in claim) for claim in claims] == [(False, False)] * 2
    dynamodb_calls.reset()
    assert login(api, "ada@example.com", "ada's old password").status_code == 200
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert all(h.startswith("$argon2id$") for h in _hashes(ada.id, "ada", ada.email))


def _claim_keys(username: str, email: str) -> list[tuple[str, str]]:
    return [(f"USERNAME#{username}", "USERNAME"), (f"EMAIL#{email.lower()}", "EMAIL")]


def _replace_hash_before_the_login_writes(
    user_id: int, username: str, email: str, password: str
) -> Any:
    """A hook: the first time login sends its transaction, another request replaces the hash."""
    done: list[bool] = []
    new_hash = security.hash_password(password)

    def replace(**_: Any) -> None:
        if done:
            return
        done.append(True)
        profile = ((f"USER#{user_id}", "PROFILE"), "SET password_hash = :h")
        claims = [
            (key, "SET password_hash = :h REMOVE username, email")
            for key in _claim_keys(username, email)
        ]
        for (pk, sk), expression in [profile, *claims]:
            dynamodb_client().update_item(
                TableName=os.environ["TABLE_NAME"],
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression=expression,
                ExpressionAttributeValues={":h": {"S": new_hash}},
            )

    return replace


def test_two_first_logins_at_once_both_get_in(
    api: Api, migrated: tuple[World, Report], dynamodb_calls: CallCounter
) -> None:
    """The login whose upgrade lost checks the password against the winner's hash."""
    ada = migrated[0].users["ada"]
    hook = _replace_hash_before_the_login_writes(ada.id, "ada", ada.email, "ada's old password")
    with app_hook("before-call.dynamodb.TransactWriteItems", hook):
        dynamodb_calls.reset()
        answer = login(api, "ada", "ada's old password")
    assert answer.status_code == 200, answer.body
    assert dynamodb_calls.calls == {"BatchGetItem": 2, "TransactWriteItems": 2}
    me = api.get("/users/me", token=body(answer)["access_token"])
    assert body(me)["id"] == ada.id


def test_a_password_changed_during_the_first_login_starts_no_session(
    api: Api, migrated: tuple[World, Report]
) -> None:
    ada = migrated[0].users["ada"]
    hook = _replace_hash_before_the_login_writes(ada.id, "ada", ada.email, "a brand new password")
    with app_hook("before-call.dynamodb.TransactWriteItems", hook):
        answer = login(api, "ada", "ada's old password")
    assert (answer.status_code, body(answer)) == (401, {"detail": "Incorrect username or password"})
    assert not [key for key in table_items() if key[1].startswith("SESSION#")]
    assert login(api, "ada", "a brand new password").status_code == 200


def test_after_failed_logins_the_upgrade_also_forgets_them_in_the_same_write(
    api: Api, migrated: tuple[World, Report], dynamodb_calls: CallCounter
) -> None:
    assert login(api, "linus", "wrong password").status_code == 401
    dynamodb_calls.reset()
    assert login(api, "linus", "penguins!").status_code == 200
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert not [key for key in table_items() if key[0].startswith("LOGIN#")]


def test_wrong_or_odd_passwords_against_bcrypt_are_401(
    api: Api, migrated: tuple[World, Report]
) -> None:
    for password in ("ada's old passworD", "ada\x00", "", "é" * 100):
        answer = login(api, "ada", password)
        assert (answer.status_code, body(answer)) == (
            401,
            {"detail": "Incorrect username or password"},
        ), password
