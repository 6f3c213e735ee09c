"""The authorizer's one DynamoDB call: is this session still live?

The authorizer function's imports stay lean (no PynamoDB, no pydantic; see
``tests/test_cold_start.py``), so this module reaches the table through a
plain botocore client, built once per container on the first check, and
imports nothing of the storage models. It owns the session's key format,
which ``table.SessionItem`` uses too, so the two cannot disagree.

One strongly consistent GetItem, projected to the expiry: a session that was
ended (its item deleted) or has expired (DynamoDB's TTL deletes items late,
so the expiry is checked here too) is not live.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from botocore.client import BaseClient

ID_WIDTH = 16
SESSION_PREFIX = "SESSION#"
EXPIRES_AT = "expires_at"  # the table's TTL attribute (``TableItem.expires_at``)
CONNECT_TIMEOUT_SECONDS = 1
READ_TIMEOUT_SECONDS = 2


class SessionCheckFailed(Exception):
    """DynamoDB could not answer (throttled, failing, silent) after botocore's retries."""


def user_partition(user_id: int) -> str:
    return f"USER#{user_id}"


def session_key(user_id: int, session_id: int) -> tuple[str, str]:
    """``USER#<id>`` / ``SESSION#<zero-padded session id>``: beside the user's profile.

    Session ids are time-ordered, so a descending Query of the partition's
    ``SESSION#`` range lists the user's sessions newest first.
    """
    return user_partition(user_id), f"{SESSION_PREFIX}{session_id:0{ID_WIDTH}d}"


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


def is_live(user_id: int, session_id: int, *, now: float | None = None) -> bool:
    """Whether the session exists and has not expired; ``SessionCheckFailed`` if unknown."""
    from botocore.exceptions import BotoCoreError, ClientError

    pk, sk = session_key(user_id, session_id)
    try:
        answer: dict[str, Any] = client().get_item(
            TableName=get_settings().table_name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=True,
            ProjectionExpression="#expires",
            ExpressionAttributeNames={"#expires": EXPIRES_AT},
        )
    except (BotoCoreError, ClientError) as exc:
        raise SessionCheckFailed(type(exc).__name__) from exc
    expires_at = answer.get("Item", {}).get(EXPIRES_AT, {}).get("N")
    return expires_at is not None and int(expires_at) > (time.time() if now is None else now)


def forget_client() -> None:
    """Build the client again on the next check (tests)."""
    client.cache_clear()
