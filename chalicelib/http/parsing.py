"""Request parsing: bodies (JSON or form), query strings and path ids into models, or 4xx.

Every rejection is a 422 in FastAPI's list shape (``{"detail": [{"type",
"loc", "msg", "input"}]}``), so the original project's clients read ours the
same way; secrets are never echoed back in ``input``.
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib import errors
from chalicelib.http.responses import FORM, JSON
from chalicelib.settings import get_settings

ModelT = TypeVar("ModelT", bound=BaseModel)

SECRET_FIELDS = frozenset({"password", "current_password", "new_password", "refresh_token"})
REDACTED = "********"
MAX_JSON_DEPTH = 32
MAX_ID = 2**53 - 1
MAX_QUOTED_CHARS = 100


def parse_body(request: Request, model: type[ModelT]) -> ModelT:
    """Validate the request's JSON (or form) body into ``model``.

    413 over the size limit, 422 for malformed JSON, 422 in FastAPI's list
    shape for anything the model rejects.
    """
    raw_body = request.raw_body or b""
    raw = raw_body.encode() if isinstance(raw_body, str) else raw_body
    if len(raw) > get_settings().max_body_bytes:
        raise errors.PayloadTooLarge()
    content_type = (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()
    if content_type == FORM:
        data: Any = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    else:
        data = _decode_json(raw)
    return validate(model, data, location="body")


def parse_query(request: Request, model: type[ModelT]) -> ModelT:
    return validate(model, dict(request.query_params or {}), location="query")


def path_id(name: str, raw: str) -> int:
    """A positive, JavaScript-safe integer id from a path segment, or 422."""
    if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 16:
        value = int(raw)
        if 0 < value <= MAX_ID:
            return value
    raise errors.ValidationFailed(
        [
            {
                "type": "int_parsing",
                "loc": ["path", name],
                "msg": f"Input should be a positive integer below 2**53 ({MAX_ID})",
                "input": raw[:MAX_QUOTED_CHARS],
            }
        ]
    )


def validate(model: type[ModelT], data: Any, *, location: str) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.ValidationFailed(_fastapi_errors(exc, location)) from None


def _decode_json(raw: bytes) -> Any:
    if not raw.strip():
        raise _json_invalid("Request body is empty; expected a JSON document")
    try:
        data = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        raise _json_invalid(f"JSON decode error: {exc}") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise _json_invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def _not_json(constant: str) -> Any:
    """Python reads ``NaN`` and ``Infinity``; JSON has neither (RFC 8259), and echoed in
    a 422's ``input`` they would make the error itself invalid JSON."""
    raise ValueError(f"{constant} is not a JSON value")


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"number {number[:20]} is out of range")
    return value


def _json_invalid(message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(
        [{"type": "json_invalid", "loc": ["body", 0], "msg": message, "input": {}}]
    )


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _fastapi_errors(exc: ValidationError, location: str) -> list[dict[str, Any]]:
    result = []
    for error in exc.errors(include_url=False):
        loc = [location, *error["loc"]]
        item: dict[str, Any] = {
            "type": error["type"],
            "loc": loc,
            "msg": error["msg"],
            "input": _redact(error.get("input"), loc),
        }
        if "ctx" in error:
            item["ctx"] = {key: _plain(value) for key, value in error["ctx"].items()}
        result.append(item)
    return result


def _redact(value: Any, loc: list[Any]) -> Any:
    if any(part in SECRET_FIELDS for part in loc):
        return REDACTED
    if isinstance(value, dict):
        return {
            key: REDACTED if key in SECRET_FIELDS else _redact(item, [])
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item, []) for item in value]
    return value


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
