"""The app-wide middleware and CORS.

``middleware`` sees every response, including the ones Chalice makes itself
(405, 415): it rewrites Chalice's ``{"Code", "Message"}`` errors into the
contract's shape, adds ``X-Request-Id`` and the CORS headers, and writes the
one JSON access-log line per request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable

from chalice.app import Request, Response

from chalicelib import auth
from chalicelib.http.parsing import MAX_QUOTED_CHARS
from chalicelib.http.responses import json_response
from chalicelib.settings import get_settings

access_log = logging.getLogger("movies.access")

EXPOSED_HEADERS = "X-Request-Id, X-Next-Cursor, Link, Location, Retry-After, WWW-Authenticate"
PREFLIGHT_ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-Id"
PREFLIGHT_MAX_AGE_SECONDS = 600
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    started = time.perf_counter()
    request_id = _request_id(event)
    response = get_response(event)
    response = _contract_shaped(response)
    response.headers["X-Request-Id"] = request_id
    origin = get_settings().cors_allow_origin
    if origin:
        response.headers.setdefault("Access-Control-Allow-Origin", origin)
        response.headers.setdefault("Access-Control-Expose-Headers", EXPOSED_HEADERS)
    access_log.info(
        "request",
        extra={
            "fields": {
                "request_id": request_id,
                "method": event.method,
                "route": event.context.get("resourcePath"),
                "status": response.status_code,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": auth.logged_user_id(event.context),
            }
        },
    )
    return response


def preflight_headers(methods: Iterable[str]) -> dict[str, str]:
    """The answer to a CORS preflight (``OPTIONS``) for a path serving ``methods``.

    Read from the settings per request, like the origin on every other
    response: without ``CORS_ALLOW_ORIGIN`` it allows nothing cross-origin.
    Chalice answers preflights only for routes registered with ``cors=``, a
    ``CORSConfig`` fixed when the app is imported; the origin is a per-stage
    setting read at request time instead, so the answer is built here (used
    by ``devtools.gateway`` locally, and by the deploy template's mock
    ``OPTIONS`` integrations through ``cors_preflight_headers``).
    """
    return cors_preflight_headers(methods, get_settings().cors_allow_origin)


def cors_preflight_headers(methods: Iterable[str], origin: str | None) -> dict[str, str]:
    """``preflight_headers`` for an explicit ``origin`` (``None``: no CORS)."""
    headers = {"Allow": ", ".join(sorted({*methods, "OPTIONS"}))}
    if origin:
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": headers["Allow"],
                "Access-Control-Allow-Headers": PREFLIGHT_ALLOWED_HEADERS,
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
            }
        )
    return headers


def _request_id(request: Request) -> str:
    supplied = request.headers.get("x-request-id")
    if supplied and _REQUEST_ID.match(supplied):
        return str(supplied)
    return str(request.context.get("requestId") or uuid.uuid4())


def _contract_shaped(response: Response) -> Response:
    """Rewrite Chalice's own ``{"Code", "Message"}`` errors as ``{"detail"}``.

    Chalice's 415 quotes the request's ``Content-Type`` whole; like a bad
    path id, it is quoted only so far (``MAX_QUOTED_CHARS``).
    """
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        message = str(body["Message"])
        if len(message) > MAX_QUOTED_CHARS:
            message = message[:MAX_QUOTED_CHARS] + "..."
        detail = "Internal Server Error" if response.status_code >= 500 else message
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() != "content-type" and isinstance(value, str)
        }
        return json_response({"detail": detail}, response.status_code, headers)
    return response
