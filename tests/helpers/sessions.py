"""What the session tests share: logging in and refreshing through the API, reading and
ageing session items, and the contract's two 401 answers.

Time is moved by ageing a session item in the table (its ``rotated_at`` or
``expires_at``) rather than by waiting.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from chalicelib.settings import get_settings
from chalicelib.storage.table import SessionItem, UserItem
from tests.helpers.api import PASSWORD, Api, User, body
from tests.helpers.snapshots import table_items
from tests.helpers.table import dynamodb_client

INVALID_REFRESH = {"detail": "Invalid refresh token"}
BAD_CREDENTIALS = {"detail": "Could not validate credentials"}
TOKEN_FIELDS = {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}


def login(api: Api, user: User, user_agent: str | None = None) -> dict[str, Any]:
    headers = {"User-Agent": user_agent} if user_agent else {}
    response = api.post(
        "/login", {"username": user.username, "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 200, response.body
    tokens: dict[str, Any] = body(response)
    return tokens


def refresh(api: Api, refresh_token: str) -> Any:
    return api.post("/token/refresh", {"refresh_token": refresh_token})


def session_id(access_token: str) -> int:
    return int(jwt.decode(access_token, options={"verify_signature": False})["sid"])


def session_item(user: User, sid: int) -> dict[str, Any] | None:
    pk, sk = SessionItem.key(user.id, sid)
    answer = dynamodb_client().get_item(
        TableName=get_settings().table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}
    )
    item: dict[str, Any] | None = answer.get("Item")
    return item


def age_session(user: User, sid: int, **seconds_ago: int) -> None:
    """Move the session's ``rotated_at`` / ``expires_at`` (epoch seconds) into the past."""
    pk, sk = SessionItem.key(user.id, sid)
    now = int(time.time())
    names = {f"#{name}": name for name in seconds_ago}
    values = {f":{name}": {"N": str(now - ago)} for name, ago in seconds_ago.items()}
    dynamodb_client().update_item(
        TableName=get_settings().table_name,
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in seconds_ago),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def after_the_grace(user: User, sid: int) -> None:
    age_session(user, sid, rotated_at=get_settings().refresh_grace_seconds + 1)


def assert_invalid_refresh(response: Any) -> None:
    assert response.status_code == 401
    assert body(response) == INVALID_REFRESH
    assert response.headers["WWW-Authenticate"] == "Bearer"


def assert_access_refused(api: Api, access_token: str) -> None:
    response = api.get("/users/me", token=access_token)
    assert response.status_code == 401
    assert body(response) == BAD_CREDENTIALS
    assert response.headers["WWW-Authenticate"] == "Bearer"


def session_items(user: User) -> list[int]:
    """The ids of every session item of ``user`` in the table, live, expired or stale."""
    prefix = SessionItem.partition(user.id)
    return sorted(
        int(sk.removeprefix(SessionItem.PREFIX))
        for pk, sk in table_items()
        if pk == prefix and sk.startswith(SessionItem.PREFIX)
    )


def listed(api: Api, token: str) -> list[int]:
    """The session ids ``GET /users/me/sessions`` lists for the caller."""
    response = api.get("/users/me/sessions", token=token)
    assert response.status_code == 200, response.body
    return [session["id"] for session in body(response)]


def logins(api: Api, user: User, count: int) -> list[dict[str, Any]]:
    return [login(api, user) for _ in range(count)]


def profile_sessions(user: User) -> set[int]:
    profile = UserItem.get(*UserItem.key(user.id), consistent_read=True)
    return set(profile.sessions)
