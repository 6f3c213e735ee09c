"""HTTP plumbing: parse input into models, turn models and errors into responses.

Two layers wrap every request:

* ``endpoint`` wraps each view. Chalice turns an exception raised in a view
  into its own 500 before any middleware sees it, so this is where domain
  errors become ``{"detail": ...}`` responses, where a DynamoDB that stayed
  throttled or silent through botocore's retries becomes a 503 with
  ``Retry-After`` (``storage.engine.unavailable``), and where any other
  exception is logged with its trace and answered with a bare 500. It also
  enforces authentication for protected routes (see ``chalicelib.auth``).
* ``middleware`` wraps the whole app. It sees every response, including the
  ones Chalice makes itself (405, 415), rewrites Chalice's ``{"Code",
  "Message"}`` errors into the contract's shape, adds ``X-Request-Id`` and
  CORS headers, and writes the one JSON access-log line per request.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from chalice.app import Blueprint, Request, Response
from pydantic import BaseModel, ValidationError

from chalicelib import auth, errors
from chalicelib.errors import ApiError
from chalicelib.settings import get_settings
from chalicelib.storage.engine import unavailable

log = logging.getLogger("movies")
access_log = logging.getLogger("movies.access")

ModelT = TypeVar("ModelT", bound=BaseModel)
View = Callable[..., Response]

SECRET_FIELDS = frozenset({"password", "current_password", "new_password", "refresh_token"})
REDACTED = "********"
MAX_JSON_DEPTH = 32
MAX_ID = 2**53 - 1
MAX_QUOTED_CHARS = 100
EXPOSED_HEADERS = "X-Request-Id, X-Next-Cursor, Link, Location, Retry-After, WWW-Authenticate"
PREFLIGHT_ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-Id"
PREFLIGHT_MAX_AGE_SECONDS = 600
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"


# ---------------------------------------------------------------- responses


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
        headers={"Content-Type": _JSON, **(headers or {})},
    )


def next_page_headers(path: str, limit: int, cursor: str | None) -> dict[str, str]:
    """``X-Next-Cursor`` and an RFC 8288 ``Link: <...>; rel="next"`` (none on the last page)."""
    if cursor is None:
        return {}
    query = urlencode({"limit": limit, "cursor": cursor})
    return {"X-Next-Cursor": cursor, "Link": f'<{path}?{query}>; rel="next"'}


def empty_response(status_code: int = 204, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body="", status_code=status_code, headers=dict(headers or {}))


def error_response(error: errors.ApiError) -> Response:
    return json_response({"detail": error.detail}, error.status_code, error.headers)


# ---------------------------------------------------------------- parsing


def parse_body(request: Request, model: type[ModelT]) -> ModelT:
    """Validate the request's JSON (or form) body into ``model``.

    413 over the size limit, 422 for malformed JSON, 422 in FastAPI's list
    shape for anything the model rejects. Secrets are never echoed back.
    """
    raw_body = request.raw_body or b""
    raw = raw_body.encode() if isinstance(raw_body, str) else raw_body
    if len(raw) > get_settings().max_body_bytes:
        raise errors.PayloadTooLarge()
    content_type = (request.headers.get("content-type") or _JSON).split(";")[0].strip().lower()
    if content_type == _FORM:
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


# ---------------------------------------------------------------- routes


@dataclass(frozen=True)
class Reply:
    """One documented response: its body and the headers it carries.

    ``body`` is a response model, ``list[Model]``, or ``None`` for an empty
    body; ``schema`` replaces it with a raw JSON schema for bodies that are
    not models (the docs pages, their assets, the OpenAPI document itself).
    ``links`` name the operations (by view name) that take a field of this
    body as a path parameter: ``{"read_movie": {"movie_id": "id"}}``.
    """

    body: Any = None
    description: str = ""
    headers: tuple[str, ...] = ()
    media_type: str = _JSON
    schema: Mapping[str, Any] | None = None
    links: Mapping[str, Mapping[str, str]] | None = None


@dataclass(frozen=True)
class Operation:
    """What ``endpoint`` registered, as the OpenAPI document describes it.

    The same object drives the handler (``body`` and ``query`` are the
    models the handler parses, ``path_params`` the ids it converts), so the
    document cannot describe an input the route does not use.
    """

    path: str
    methods: tuple[str, ...]
    view: Callable[..., Any]
    authenticated: bool
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    content_types: tuple[str, ...]
    responses: Mapping[int, Reply]
    errors: tuple[type[ApiError] | ApiError, ...]
    uses_table: bool
    path_params: tuple[str, ...]
    summary: str
    description: str | None
    tags: tuple[str, ...]

    @property
    def error_statuses(self) -> dict[int, list[ApiError]]:
        """Every error status this operation can answer, with example errors.

        The generic ones follow from the declaration: 422 with any input,
        401 when authenticated, 413 and 415 with a body, 500 always, 503
        (DynamoDB throttled us) unless it never touches the table.
        Route-specific ones come from ``errors``.
        """
        found: dict[int, list[ApiError]] = {}

        def add(error: type[ApiError] | ApiError) -> None:
            instance = error if isinstance(error, ApiError) else _example(error)
            found.setdefault(instance.status_code, []).append(instance)

        if self.body or self.query or self.path_params:
            add(errors.ValidationFailed([]))
        if self.authenticated:
            add(errors.NotAuthenticated())
            add(errors.NotAuthenticated("Could not validate credentials"))
        if self.body:
            add(errors.PayloadTooLarge)
            add(errors.UnsupportedMediaType)
        for error in self.errors:
            add(error)
        add(errors.InternalServerError)
        if self.uses_table:
            add(errors.ServiceUnavailable)
        return dict(sorted(found.items()))


_OPERATIONS: dict[Callable[..., Any], Operation] = {}


def operation_of(handler: Callable[..., Any]) -> Operation | None:
    """The ``Operation`` behind a route's view function, if ``endpoint`` made it."""
    return _OPERATIONS.get(handler)


def endpoint(
    bp: Blueprint,
    path: str,
    *,
    methods: list[str],
    responses: Mapping[int, Reply | Any],
    authenticated: bool = False,
    content_types: list[str] | None = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    errors: Sequence[type[ApiError] | ApiError] = (),
    uses_table: bool = True,
    summary: str | None = None,
    tags: Sequence[str] | None = None,
) -> Callable[[View], View]:
    """Register ``view`` on ``bp`` at ``path``, guarded, parsed, error-mapped and documented.

    The handler, in this order: answers 401 unless the JWT authorizer
    accepted the token (``authenticated``), passing ``user_id``; turns every
    path parameter into a positive id (``path_id``); parses ``query`` and
    ``body`` into their models, passing ``query=`` and ``body=``. The
    declaration is also what ``GET /openapi.json`` shows: ``responses`` maps
    each success status to a ``Reply`` (or just its body model), ``errors``
    lists the route's own error classes or instances (the generic ones are
    derived, see ``Operation.error_statuses``); ``uses_table=False`` for a
    route that never calls DynamoDB, so cannot be throttled (503).
    """
    path_params = tuple(re.findall(r"{(\w+)}", path))

    def decorator(view: View) -> View:
        def handler(**raw_params: str) -> Response:
            request = bp.current_request
            try:
                kwargs: dict[str, Any] = {}
                if authenticated:
                    kwargs["user_id"] = auth.user_id_from_context(request.context)
                for name in path_params:
                    kwargs[name] = path_id(name, raw_params[name])
                if query is not None:
                    kwargs["query"] = parse_query(request, query)
                if body is not None:
                    kwargs["body"] = parse_body(request, body)
                return view(**kwargs)
            except ApiError as exc:
                return error_response(exc)
            except Exception as exc:
                busy = unavailable(exc)
                if busy is None:
                    log.exception("unhandled error", extra={"fields": {"route": path}})
                    return _server_error()
                log.warning("dynamodb unavailable", extra={"fields": _failure(path, exc)})
                return error_response(busy)

        handler.__name__ = view.__name__
        handler.__doc__ = view.__doc__
        handler.__wrapped__ = view  # type: ignore[attr-defined]
        options: dict[str, Any] = {"methods": methods}
        if authenticated:
            options["authorizer"] = auth.jwt_authorizer
        if content_types:
            options["content_types"] = content_types
        _OPERATIONS[handler] = Operation(
            path=path,
            methods=tuple(methods),
            view=view,
            authenticated=authenticated,
            body=body,
            query=query,
            content_types=tuple(content_types or [_JSON]),
            responses={
                status: reply if isinstance(reply, Reply) else Reply(reply)
                for status, reply in responses.items()
            },
            errors=tuple(errors),
            uses_table=uses_table,
            path_params=path_params,
            summary=summary or view.__name__.replace("_", " ").capitalize(),
            description=inspect.getdoc(view),
            tags=tuple(tags or [view.__module__.rsplit(".", 1)[-1]]),
        )
        bp.route(path, **options)(handler)
        return view

    return decorator


def _failure(route: str, exc: Exception) -> dict[str, str]:
    """What the log says about a failed DynamoDB call: the error's name, never its text."""
    cause = getattr(exc, "cause", None) or exc
    code = getattr(exc, "cause_response_code", None)
    return {"route": route, "error": type(cause).__name__ + (f" {code}" if code else "")}


def _server_error() -> Response:
    # Outside ``endpoint``, whose ``errors`` parameter hides the module.
    return error_response(errors.InternalServerError())


def _example(error_class: type[ApiError]) -> ApiError:
    """An instance to show in the docs, for classes whose constructor needs arguments."""
    if issubclass(error_class, (errors.TooManyRequests, errors.ServiceUnavailable)):
        return error_class(30)
    return error_class()


# ---------------------------------------------------------------- middleware


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
