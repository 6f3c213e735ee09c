"""Sessions: login and refresh, single use with reuse detection and its grace, races and faults.

Every rule through the real endpoints; time is moved by ageing the session
item in the table (its ``rotated_at`` or ``expires_at``), faults are injected
at the boto layer, races run from threads.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import jwt
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.retries import standard
from moto.core.botocore_stubber import MockRawResponse

from chalicelib import security
from chalicelib.settings import get_settings
from chalicelib.storage import session_check, sessions
from tests.helpers.api import PASSWORD, Api, User, body
from tests.helpers.faults import TRANSIENT, error_answer, install
from tests.helpers.sessions import (
    INVALID_REFRESH,
    TOKEN_FIELDS,
    after_the_grace,
    age_session,
    assert_access_refused,
    assert_invalid_refresh,
    login,
    refresh,
    session_id,
    session_item,
)
from tests.helpers.snapshots import table_items
from tests.helpers.table import app_hook

# ---------------------------------------------------------------- login and refresh


def test_a_refresh_token_is_long_random_and_stored_only_as_a_hash(api: Api, alice: User) -> None:
    tokens = login(api, alice)
    refresh_token = tokens["refresh_token"]
    assert len(refresh_token) >= 64
    assert refresh_token != login(api, alice)["refresh_token"]
    stored = json.dumps(list(table_items().values()))
    assert refresh_token not in stored
    assert refresh_token.split(".")[2] not in stored
    assert security.refresh_token_hash(refresh_token) in stored


def test_refresh_answers_a_new_pair_that_works(api: Api, alice: User) -> None:
    tokens = login(api, alice)
    response = refresh(api, tokens["refresh_token"])
    renewed = body(response)
    assert response.status_code == 200
    assert set(renewed) == TOKEN_FIELDS
    assert renewed["token_type"] == "bearer"
    assert renewed["expires_in"] == 15 * 60
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert session_id(renewed["access_token"]) == session_id(tokens["access_token"])
    assert body(api.get("/users/me", token=renewed["access_token"]))["id"] == alice.id
    assert refresh(api, renewed["refresh_token"]).status_code == 200


def test_refresh_takes_the_oauth2_form(api: Api, alice: User) -> None:
    refresh_token = login(api, alice)["refresh_token"]
    response = api.post(
        "/token/refresh",
        raw=f"grant_type=refresh_token&refresh_token={refresh_token}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.body
    assert set(body(response)) == TOKEN_FIELDS


def test_refresh_with_another_grant_type_is_422_without_echoing_the_token(
    api: Api, alice: User
) -> None:
    refresh_token = login(api, alice)["refresh_token"]
    response = api.post(
        "/token/refresh",
        raw=f"grant_type=password&refresh_token={refresh_token}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert error["loc"] == ["body", "grant_type"]
    assert refresh_token not in response.body.decode()


def test_refresh_without_a_token_is_422(api: Api) -> None:
    response = api.post("/token/refresh", {})
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == ["body", "refresh_token"]


@pytest.mark.parametrize(
    "make_token",
    [
        lambda user: "garbage",
        lambda user: "1.2.3.4",
        lambda user: "x" * 256,
        lambda user: security.new_refresh_token(user.id, 987654321).token,
        lambda user: security.new_refresh_token(424242, 1).token,
    ],
    ids=["garbage", "four-parts", "long", "unknown-session", "unknown-user"],
)
def test_unknown_or_malformed_refresh_tokens_are_401(
    api: Api, alice: User, make_token: Any
) -> None:
    assert_invalid_refresh(refresh(api, make_token(alice)))


def test_a_forged_token_for_a_real_session_is_401_and_leaves_the_session_alone(
    api: Api, alice: User
) -> None:
    tokens = login(api, alice)
    user_id, sid, secret, tag = tokens["refresh_token"].split(".")
    forged = f"{user_id}.{sid}.{'A' * len(secret)}.{tag}"
    assert_invalid_refresh(refresh(api, forged))
    assert refresh(api, tokens["refresh_token"]).status_code == 200


def test_an_expired_refresh_token_is_401_before_dynamodb_deletes_it(api: Api, alice: User) -> None:
    tokens = login(api, alice)
    sid = session_id(tokens["access_token"])
    age_session(alice, sid, expires_at=1)
    assert_invalid_refresh(refresh(api, tokens["refresh_token"]))
    assert sid not in [s["id"] for s in body(api.get("/users/me/sessions", token=alice.token))]


def test_no_access_token_outlives_its_session(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So the authorizer need not check a session's expiry: the token's own ``exp`` covers it."""
    monkeypatch.setenv("REFRESH_TOKEN_TTL_SECONDS", "600")  # shorter than an access token's 900
    get_settings.cache_clear()
    tokens = login(api, alice)
    renewed = body(refresh(api, tokens["refresh_token"]))
    for answer in (tokens, renewed):
        claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
        assert answer["expires_in"] == claims["exp"] - claims["iat"] <= 600
        assert claims["exp"] <= time.time() + answer["refresh_expires_in"] + 1


# ---------------------------------------------------------------- single use, reuse, grace


def test_a_used_refresh_token_is_refused_and_ends_the_session(api: Api, alice: User) -> None:
    tokens = login(api, alice)
    sid = session_id(tokens["access_token"])
    renewed = body(refresh(api, tokens["refresh_token"]))
    after_the_grace(alice, sid)

    assert_invalid_refresh(refresh(api, tokens["refresh_token"]))

    assert session_item(alice, sid) is None
    assert_invalid_refresh(refresh(api, renewed["refresh_token"]))
    assert_access_refused(api, renewed["access_token"])


def test_a_token_two_rotations_old_ends_the_session_even_within_the_grace(
    api: Api, alice: User
) -> None:
    first = login(api, alice)
    second = body(refresh(api, first["refresh_token"]))
    third = body(refresh(api, second["refresh_token"]))

    assert_invalid_refresh(refresh(api, first["refresh_token"]))

    assert_invalid_refresh(refresh(api, third["refresh_token"]))
    assert_access_refused(api, third["access_token"])


def test_within_the_grace_the_previous_token_gets_the_same_next_token(
    api: Api, alice: User
) -> None:
    """A client whose answer was lost presents the old token again: no harm done."""
    tokens = login(api, alice)
    first_answer = body(refresh(api, tokens["refresh_token"]))

    again = refresh(api, tokens["refresh_token"])

    assert again.status_code == 200
    assert body(again)["refresh_token"] == first_answer["refresh_token"]
    assert body(api.get("/users/me", token=body(again)["access_token"]))["id"] == alice.id
    assert refresh(api, first_answer["refresh_token"]).status_code == 200


def test_after_the_grace_the_previous_token_is_reuse(api: Api, alice: User) -> None:
    tokens = login(api, alice)
    sid = session_id(tokens["access_token"])
    first_answer = body(refresh(api, tokens["refresh_token"]))
    assert refresh(api, tokens["refresh_token"]).status_code == 200  # within the grace
    after_the_grace(alice, sid)

    assert_invalid_refresh(refresh(api, tokens["refresh_token"]))

    assert_invalid_refresh(refresh(api, first_answer["refresh_token"]))


# ---------------------------------------------------------------- races and faults


def test_concurrent_refreshes_with_one_token_rotate_it_once(api: Api, alice: User) -> None:
    tokens = login(api, alice)
    sid = session_id(tokens["access_token"])
    answers: list[Any] = []
    start = threading.Barrier(6)

    def race() -> None:
        start.wait()
        answers.append(refresh(api, tokens["refresh_token"]))

    threads = [threading.Thread(target=race) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = {body(a)["refresh_token"] for a in answers if a.status_code == 200}
    assert len(winners) == 1, winners
    assert all(body(a) == INVALID_REFRESH for a in answers if a.status_code != 200)
    [successor] = winners
    item = session_item(alice, sid)
    assert item is not None
    assert item["refresh_hash"]["S"] == security.refresh_token_hash(successor)
    assert refresh(api, successor).status_code == 200


def test_a_refresh_whose_answer_botocore_lost_lands_once_and_answers(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rotation lands, its answer times out, botocore resends it: the resend's
    condition fails, and the session read again says the rotation was ours."""
    tokens = login(api, alice)
    faults = install(monkeypatch)
    faults.fail("UpdateItem", TRANSIENT["read-timeout"], times=1, lands=True)

    response = refresh(api, tokens["refresh_token"])

    assert response.status_code == 200, response.body
    assert faults.attempts["UpdateItem"] == 2
    faults.clear()
    assert refresh(api, body(response)["refresh_token"]).status_code == 200


def test_a_client_whose_refresh_answer_never_arrived_is_not_stranded(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every attempt lands-then-fails: the client sees a 503, retries, and gets on."""
    tokens = login(api, alice)
    faults = install(monkeypatch)
    faults.fail("UpdateItem", TRANSIENT["internal-error"], times=4, lands=True)

    lost = refresh(api, tokens["refresh_token"])
    assert lost.status_code == 503
    assert lost.headers["Retry-After"]
    faults.clear()

    retried = refresh(api, tokens["refresh_token"])
    assert retried.status_code == 200, retried.body
    assert refresh(api, body(retried)["refresh_token"]).status_code == 200


def test_a_session_ended_while_it_refreshes_stays_ended(api: Api, alice: User) -> None:
    tokens = login(api, alice)
    sid = session_id(tokens["access_token"])

    def end_it_first(**_: Any) -> None:
        assert sessions.end(alice.id, sid)

    with app_hook("before-call.dynamodb.UpdateItem", end_it_first):
        response = refresh(api, tokens["refresh_token"])

    assert_invalid_refresh(response)
    assert session_item(alice, sid) is None
    assert_access_refused(api, tokens["access_token"])


def test_a_login_that_races_a_password_change_starts_no_session(api: Api, alice: User) -> None:
    """The login verified the old password; the change commits before its session does."""
    from chalicelib.storage import users

    changed: list[bool] = []

    def change_first(**_: Any) -> None:
        if not changed:
            changed.append(True)
            user = users.get_user(alice.id)
            assert user is not None
            users.change_password(user, security.hash_password("the new password"))

    with app_hook("before-call.dynamodb.TransactWriteItems", change_first):
        response = api.post("/login", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 401
    assert body(response) == {"detail": "Incorrect username or password"}
    started = [
        key for key in table_items() if key[0] == f"USER#{alice.id}" and "SESSION#" in key[1]
    ]
    assert len(started) == 1  # the fixture's own login only


def test_when_dynamodb_cannot_say_whether_a_session_is_live_the_answer_is_503(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttled through botocore's retries: not a 401 (the client would log in again)."""
    throttled = error_answer("ThrottlingException")
    attempts: list[str] = []

    def answer(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        attempts.append(request.url)
        status, text = throttled()
        headers = {"content-type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, MockRawResponse(text))  # type: ignore[arg-type]

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda *_: 0.0)
    events = session_check.client().meta.events
    events.register_first("before-send.dynamodb", answer)
    try:
        response = api.get("/users/me", token=alice.token)
    finally:
        events.unregister("before-send.dynamodb", answer)

    assert response.status_code == 503
    assert body(response) == {"detail": "Service temporarily unavailable; try again shortly"}
    assert response.headers["Retry-After"]
    assert len(attempts) == 3  # botocore's own retries, then the answer


def test_a_refresh_whose_rotation_is_lost_every_time_is_401_after_two_tries(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = login(api, alice)
    tries: list[int] = []

    def lost(*_: Any, **__: Any) -> None:
        tries.append(1)
        raise sessions.RotationLost()

    monkeypatch.setattr(sessions, "rotate", lost)
    assert_invalid_refresh(refresh(api, tokens["refresh_token"]))
    assert len(tries) == 2
