"""Declaring an operation: one decorator registers the route, guards it, and documents it.

``endpoint`` wraps each view. Chalice turns an exception raised in a view
into its own 500 before any middleware sees it, so the wrapper is where
domain errors become ``{"detail": ...}`` responses, where a DynamoDB that
stayed throttled or silent through botocore's retries becomes a 503 with
``Retry-After`` (``storage.engine.unavailable``; on a cached route as long
as the stage cache keeps it: ``gateway.retry_after_seconds``), and where any
other exception is logged with its trace and answered with a bare 500. It also
enforces authentication for protected routes (see ``chalicelib.auth``).

The declaration is kept as an ``Operation``, which ``chalicelib.openapi``
turns into the OpenAPI document: the document and the handler read the same
object, so the document cannot describe an input the route does not use.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalice.app import Blueprint, Request, Response
from pydantic import BaseModel

from chalicelib import auth, errors, failures, gateway
from chalicelib.errors import ApiError
from chalicelib.failures import Failure
from chalicelib.http.failures import api_error
from chalicelib.http.parsing import parse_body, parse_query, path_id
from chalicelib.http.responses import JSON, error_response
from chalicelib.storage.engine import out_of_reach

log = logging.getLogger("movies")

View = Callable[..., Response]
# What a route declares it may answer: an API error (class or instance), or a domain
# failure from storage, shown as its answer (``http.failures``).
Declared = type[ApiError] | ApiError | Failure


@dataclass(frozen=True)
class ResponseSpec:
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
    media_type: str = JSON
    schema: Mapping[str, Any] | None = None
    links: Mapping[str, Mapping[str, str]] | None = None


@dataclass(frozen=True)
class Operation:
    """What ``endpoint`` registered: the handler's inputs and the document's description.

    ``body`` and ``query`` are the models the handler parses, ``path_params``
    the ids it converts.
    """

    path: str
    methods: tuple[str, ...]
    view: Callable[..., Any]
    authenticated: bool
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    content_types: tuple[str, ...]
    responses: Mapping[int, ResponseSpec]
    errors: tuple[Declared, ...]
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

        def add(error: Declared) -> None:
            if isinstance(error, Failure):
                instance = api_error(error)
            elif isinstance(error, ApiError):
                instance = error
            else:
                instance = _example(error)
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
    responses: Mapping[int, ResponseSpec | Any],
    authenticated: bool = False,
    content_types: list[str] | None = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    errors: Sequence[Declared] = (),
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
    each success status to a ``ResponseSpec`` (or just its body model),
    ``errors`` lists the route's own error classes or instances, and the
    domain failures it can meet (the generic ones are derived, see
    ``Operation.error_statuses``); ``uses_table=False``
    for a route that never calls DynamoDB, so cannot be throttled (503).
    """

    def decorator(view: View) -> View:
        operation = Operation(
            path=path,
            methods=tuple(methods),
            view=view,
            authenticated=authenticated,
            body=body,
            query=query,
            content_types=tuple(content_types or [JSON]),
            responses={
                status: spec if isinstance(spec, ResponseSpec) else ResponseSpec(spec)
                for status, spec in responses.items()
            },
            errors=tuple(errors),
            uses_table=uses_table,
            path_params=tuple(re.findall(r"{(\w+)}", path)),
            summary=summary or view.__name__.replace("_", " ").capitalize(),
            description=inspect.getdoc(view),
            tags=tuple(tags or [view.__module__.rsplit(".", 1)[-1]]),
        )
        handler = _handler(bp, operation)
        _OPERATIONS[handler] = operation
        bp.route(path, **_route_options(operation, content_types))(handler)
        return view

    return decorator


def _handler(bp: Blueprint, operation: Operation) -> View:
    """The function Chalice calls: the view with its inputs parsed and its failures answered."""

    def handler(**raw_params: str) -> Response:
        try:
            response: Response = operation.view(
                **_arguments(operation, bp.current_request, raw_params)
            )
        except Exception as exc:  # every failure becomes a response here, or Chalice's 500
            failed = _failure_response(operation.path, exc)
            return _cacheable(failed, operation.path, bp.current_request.method)
        return response

    handler.__name__ = operation.view.__name__
    handler.__doc__ = operation.view.__doc__
    handler.__wrapped__ = operation.view  # type: ignore[attr-defined]
    return handler


def _arguments(operation: Operation, request: Request, raw_params: Mapping[str, str]) -> Any:
    """The view's keyword arguments: ``user_id``, the path ids, ``query``, ``body``."""
    arguments: dict[str, Any] = {}
    if operation.authenticated:
        arguments["user_id"] = auth.user_id_from_context(request.context)
    for name in operation.path_params:
        arguments[name] = path_id(name, raw_params[name])
    if operation.query is not None:
        arguments["query"] = parse_query(request, operation.query)
    if operation.body is not None:
        arguments["body"] = parse_body(request, operation.body)
    return arguments


def _failure_response(route: str, exc: Exception) -> Response:
    """An API error as itself, a domain failure as its answer, DynamoDB out of reach as 503,
    anything else as a logged 500."""
    if isinstance(exc, ApiError):
        return error_response(exc)
    if isinstance(exc, Failure):
        if isinstance(exc, failures.Unavailable):
            log.warning("dynamodb unavailable", extra={"fields": {"route": route}})
        return error_response(api_error(exc))
    if not out_of_reach(exc):
        log.error("unhandled error", exc_info=exc, extra={"fields": {"route": route}})
        return error_response(errors.InternalServerError())
    log.warning("dynamodb unavailable", extra={"fields": _failure(route, exc)})
    return error_response(errors.ServiceUnavailable())


def _cacheable(response: Response, path: str, method: str) -> Response:
    """A 503 that asks for as long a wait as the stage cache may keep it (1 s if uncached)."""
    if response.status_code == errors.ServiceUnavailable.status_code:
        response.headers["Retry-After"] = str(gateway.retry_after_seconds(path, method))
    return response


def _route_options(operation: Operation, content_types: list[str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {"methods": list(operation.methods)}
    if operation.authenticated:
        options["authorizer"] = auth.jwt_authorizer
    if content_types:
        options["content_types"] = content_types
    return options


def _failure(route: str, exc: Exception) -> dict[str, str]:
    """What the log says about a failed DynamoDB call: the error's name, never its text."""
    cause = getattr(exc, "cause", None) or exc
    code = getattr(exc, "cause_response_code", None)
    return {"route": route, "error": type(cause).__name__ + (f" {code}" if code else "")}


def _example(error_class: type[ApiError]) -> ApiError:
    """An instance to show in the docs, for classes whose constructor needs arguments."""
    if issubclass(error_class, (errors.TooManyRequests, errors.ServiceUnavailable)):
        return error_class(30)
    return error_class()
