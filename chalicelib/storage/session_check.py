"""The authorizer's one DynamoDB call: is this session still live?

The authorizer function's imports stay lean (no PynamoDB, no pydantic; see
``tests/test_cold_start.py``), so this module reaches the table through a
plain botocore client, built once per container on the first check, and
imports nothing of the storage models. It owns the key formats of the
user's profile and sessions and the name of the profile's session map,
which ``table.UserItem`` and ``table.SessionItem`` use too, so they cannot
disagree.

The truth of liveness is the user's profile (``USER#<id>`` / ``PROFILE``):
its map ``sessions`` holds one entry per live session, keyed by the session
id. The check is one strongly consistent GetItem of the profile, projected
to the token's entry (``sessions.<sid>``): live if and only if the entry is
there. Ending sessions removes entries (one write, however many), and a
deleted profile ends every session of its user at once. The profile stays
under 4 KB with the map full (``table.UserItem.MAX_SESSIONS``), so the read
is one read unit.

Why no expiry is checked here: a session's refresh token expires
``REFRESH_TOKEN_TTL_SECONDS`` after the session's last login or refresh,
and every access token is issued by one of those, with a lifetime of its own
that ``accounts`` caps at the session's remaining lifetime. So no access
token outlives the session it names; the token's ``exp``, which the
authorizer checks before this call, covers time. Refresh, which does extend
a session, checks the session item's ``expires_at`` itself.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from botocore.client import BaseClient

ID_WIDTH = 16
SESSION_PREFIX = "SESSION#"
PROFILE_SK = "PROFILE"
SESSIONS_MAP = "sessions"  # the profile's map of live session ids (``UserItem.sessions``)
CONNECT_TIMEOUT_SECONDS = 1
READ_TIMEOUT_SECONDS = 2


class SessionCheckFailed(Exception):
    """DynamoDB could not answer (throttled, failing, silent) after botocore's retries."""


def user_partition(user_id: int) -> str:
    return f"USER#{user_id}"


def profile_key(user_id: int) -> tuple[str, str]:
    """``USER#<id>`` / ``PROFILE``: the user, and the map of their live sessions."""
    return user_partition(user_id), PROFILE_SK


def session_key(user_id: int, session_id: int) -> tuple[str, str]:
    """``USER#<id>`` / ``SESSION#<zero-padded session id>``: beside the user's profile.

    Session ids are time-ordered, so the partition's ``SESSION#`` range
    lists the user's sessions oldest first.
    """
    return user_partition(user_id), f"{SESSION_PREFIX}{session_id:0{ID_WIDTH}d}"


def map_key(session_id: int) -> str:
    """The session's entry name in the profile's ``sessions`` map."""
    return str(session_id)


@lru_cache(maxsize=1)
def client() -> BaseClient:
    """The container's DynamoDB client (``AWS_ENDPOINT_URL_DYNAMODB`` if set, else AWS)."""
    from botocore.config import Config
    from botocore.session import get_session

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 3},
    )
    return get_session().create_client("dynamodb", region_name=get_settings().region, config=config)


def is_live(user_id: int, session_id: int) -> bool:
    """Whether the user's profile lists the session; ``SessionCheckFailed`` if unknown."""
    from botocore.exceptions import BotoCoreError, ClientError

    pk, sk = profile_key(user_id)
    entry = map_key(session_id)
    try:
        answer: dict[str, Any] = client().get_item(
            TableName=get_settings().table_name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=True,
            ProjectionExpression="#sessions.#sid",
            ExpressionAttributeNames={"#sessions": SESSIONS_MAP, "#sid": entry},
        )
    except (BotoCoreError, ClientError) as exc:
        raise SessionCheckFailed(type(exc).__name__) from exc
    listed = answer.get("Item", {}).get(SESSIONS_MAP, {}).get("M", {})
    return entry in listed


def forget_client() -> None:
    """Build the client again on the next check (tests)."""
    client.cache_clear()
