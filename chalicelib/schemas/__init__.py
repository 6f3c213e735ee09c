"""Request and response models, one per operation, grouped by resource.

Request models declare every constraint on their fields and ignore fields a
client must not set (ids, owners, counters). Response models are built from
storage items on purpose, field by field: they are not the same thing, and a
password hash can never leak into one by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from chalicelib.errors import ValidationFailed

MAX_ID = 2**53 - 1


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Timestamp = Annotated[datetime, PlainSerializer(_iso_utc, return_type=str)]
"""ISO 8601 in UTC with a ``Z``: ``2024-08-14T20:16:31.070301Z``."""


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


def sent_fields(model: BaseModel, *, not_null: Iterable[str]) -> dict[str, Any]:
    """The fields the client sent, for a partial update; 422 if one that must
    keep a value was sent as ``null``."""
    sent = model.model_dump(exclude_unset=True)
    nulls = [name for name in not_null if name in sent and sent[name] is None]
    if nulls:
        raise ValidationFailed(
            [
                {
                    "type": "string_type",
                    "loc": ["body", name],
                    "msg": "Input should be a valid string",
                    "input": None,
                }
                for name in nulls
            ]
        )
    return sent


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Message(ResponseModel):
    message: Literal["success"] = "success"


class HTTPError(ResponseModel):
    """Every error body: ``{"detail": "..."}``."""

    detail: str


class HealthStatus(ResponseModel):
    status: Literal["ok"] = "ok"
