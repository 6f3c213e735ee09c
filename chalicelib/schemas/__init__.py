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

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from chalicelib.errors import ValidationFailed

MAX_ID = 2**53 - 1
# For the API docs of fields stripped before their length is checked: not only whitespace.
NOT_BLANK = r"\S"


def _null_left_out(schema: dict[str, Any]) -> None:
    """The docs of a field that may be left out but not sent as ``null`` (``sent_fields``)."""
    options = [option for option in schema.pop("anyOf", ()) if option.get("type") != "null"]
    if len(options) == 1:
        schema.update({**options[0], **schema})
    elif options:
        schema["anyOf"] = options
    if "default" in schema and schema["default"] is None:
        del schema["default"]


NOT_NULL = Field(json_schema_extra=_null_left_out)
"""Mark an optional field whose ``null`` the route refuses, so the docs do not offer it."""


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
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
    # Every field is in every response, defaults included: say so in the docs.
    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )


class Message(ResponseModel):
    message: Literal["success"] = "success"


class HTTPError(ResponseModel):
    """Every error body: ``{"detail": "..."}``."""

    detail: str


class HealthStatus(ResponseModel):
    status: Literal["ok"] = "ok"
