"""Opaque page cursors: signed, expiring, and bound to the list they came from.

A cursor is DynamoDB's ``LastEvaluatedKey`` for one page, so the next page
starts where the last one ended and costs the same whatever its number. It
is wrapped as ``base64url(json).base64url(hmac)``: the client cannot forge
or alter it (400), reuse it on another list (400), or keep it forever (400
once expired).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from typing import Any

from chalicelib import errors, security
from chalicelib.settings import get_settings

PURPOSE = "page-cursor"
MAX_CURSOR_CHARS = 2048
# What ``decode`` answers, for the API docs of every route that takes a cursor.
ERRORS = (
    errors.BadRequest("Invalid cursor"),
    errors.BadRequest("Cursor belongs to a different list"),
    errors.BadRequest("Cursor expired"),
)


def encode(list_id: str, last_key: dict[str, Any] | None) -> str | None:
    """A cursor for the page after ``last_key`` on ``list_id`` (``None`` at the end)."""
    if not last_key:
        return None
    payload = json.dumps(
        {"l": list_id, "k": last_key, "e": int(time.time()) + get_settings().cursor_ttl_seconds},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,  # a key's letters as UTF-8 (1-4 bytes), not 6-12-byte escapes
    ).encode()
    signature = security.sign(payload, PURPOSE)
    return f"{_b64(payload)}.{_b64(signature)}"


def decode(list_id: str, cursor: str | None) -> dict[str, Any] | None:
    """The ``ExclusiveStartKey`` a cursor stands for; 400 if it is not one of ours."""
    if cursor is None:
        return None
    try:
        encoded_payload, encoded_signature = cursor.split(".")
        payload = _unb64(encoded_payload)
        signature = _unb64(encoded_signature)
    except (ValueError, binascii.Error):
        raise errors.BadRequest("Invalid cursor") from None
    if len(cursor) > MAX_CURSOR_CHARS or not hmac.compare_digest(
        signature, security.sign(payload, PURPOSE)
    ):
        raise errors.BadRequest("Invalid cursor")
    data = json.loads(payload)
    if data["l"] != list_id:
        raise errors.BadRequest("Cursor belongs to a different list")
    if data["e"] < time.time():
        raise errors.BadRequest("Cursor expired")
    last_key: dict[str, Any] = data["k"]
    return last_key


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
