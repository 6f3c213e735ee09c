"""Responses: JSON bodies, empty answers, errors in the contract's shape, paging headers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from chalice.app import Response
from pydantic import BaseModel

from chalicelib import errors

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def json_response(
    body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response from a model, a list of models or plain data."""
    if isinstance(body, BaseModel):
        text = body.model_dump_json()
    elif isinstance(body, list) and body and isinstance(body[0], BaseModel):
        text = "[" + ",".join(item.model_dump_json() for item in body) + "]"
    else:
        text = json.dumps(body, separators=(",", ":"), default=str)
    return Response(
        body=text,
        status_code=status_code,
        headers={"Content-Type": JSON, **(headers or {})},
    )


def empty_response(status_code: int = 204, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body="", status_code=status_code, headers=dict(headers or {}))


def error_response(error: errors.ApiError) -> Response:
    """``{"detail": ...}`` with the error's status and headers (``Retry-After``, ...)."""
    return json_response({"detail": error.detail}, error.status_code, error.headers)


def next_page_headers(path: str, limit: int, cursor: str | None) -> dict[str, str]:
    """``X-Next-Cursor`` and an RFC 8288 ``Link: <...>; rel="next"`` (none on the last page)."""
    if cursor is None:
        return {}
    query = urlencode({"limit": limit, "cursor": cursor})
    return {"X-Next-Cursor": cursor, "Link": f'<{path}?{query}>; rel="next"'}
