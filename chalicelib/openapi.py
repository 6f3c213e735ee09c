"""The OpenAPI 3.1 document, built from the route table and the models routes use.

Nothing here is written by hand per route. Every route in ``app.routes`` was
registered through ``chalicelib.http.endpoint``, whose ``Operation`` names
the request models the handler parses, the ids it converts, the responses
and errors it can give; this module only renders those. A route registered
any other way makes ``build`` fail, so an undocumented route cannot ship
(``tests/test_openapi.py``).

Schemas come from pydantic (``models_json_schema``): request models in
validation mode, response models in serialization mode, all under
``components.schemas``. The error bodies are the contract's ``{"detail":
str}`` and FastAPI's ``HTTPValidationError``. Authentication is FastAPI's
``OAuth2PasswordBearer`` scheme, so Swagger UI's "Authorize" dialog logs in
through ``POST /login`` with the password form.

A body a route takes in more than one content type (login: the OAuth2 form
or JSON) gets one schema per content type, ``<Model>Form`` and
``<Model>Json``. They hold the same fields, but generators build one
request class per schema and choose the encoding by class: with one shared
schema, openapi-python-client's client sent the form and the JSON at once.
Schemas that no operation reaches are left out.
"""

from __future__ import annotations

import http
import json
import re
import typing
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from chalice import Chalice
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib import errors
from chalicelib.http.operations import Operation, ResponseSpec, operation_of
from chalicelib.http.parsing import MAX_ID
from chalicelib.schemas import HTTPError

OPENAPI_VERSION = "3.1.0"
TITLE = "Movie Listing API"
API_VERSION = "1.0.0"
DESCRIPTION = (
    "People sign up, log in with a JWT, list movies, rate them and discuss them in "
    "threaded comments.\n\n"
    "Log in with **Authorize** (the OAuth2 password form posts to `/login`), or send "
    '`Authorization: Bearer <access_token>`. Errors are `{"detail": ...}`; validation '
    "errors are 422 with FastAPI's list of `{type, loc, msg, input}`. Every path also "
    "answers with a trailing slash."
)
SECURITY_SCHEME = "OAuth2PasswordBearer"
REF = "#/components/schemas/{model}"
TAG_DESCRIPTIONS = {
    "Users": "Signup, login and the caller's own profile.",
    "Movies": "Movies, with the seed's paths and their REST aliases.",
    "Ratings": "One rating per user per movie, 1 to 10; the average from counters.",
    "Comments": "Threads of replies at any depth; author edits, owner moderation.",
    "Service": "Health, and these docs.",
}
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "The request's id: the caller's `X-Request-Id` if it sent a sane one.",
        "schema": {"type": "string"},
    },
    "Location": {"description": "The new resource's path.", "schema": {"type": "string"}},
    "X-Next-Cursor": {
        "description": "The next page's `cursor`; absent on the last page.",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'RFC 8288 `<...>; rel="next"` to the next page; absent on the last page.',
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWW-Authenticate": {
        "description": "`Bearer`: how to authenticate.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "How long the asset may be cached.",
        "schema": {"type": "string"},
    },
}
VALIDATION_ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "ValidationError": {
        "title": "ValidationError",
        "type": "object",
        "required": ["loc", "msg", "type"],
        "properties": {
            "loc": {
                "title": "Location",
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"title": "Message", "type": "string"},
            "type": {"title": "Error Type", "type": "string"},
            "input": {"title": "Input"},
            "ctx": {"title": "Context", "type": "object"},
        },
    },
    "HTTPValidationError": {
        "title": "HTTPValidationError",
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {
                "title": "Detail",
                "type": "array",
                "items": {"$ref": "#/components/schemas/ValidationError"},
            }
        },
    },
}
_JSON = "application/json"
# The name suffix of a request body's schema per content type, where a route takes several.
CONTENT_TYPE_SUFFIXES = {
    _JSON: "Json",
    "application/x-www-form-urlencoded": "Form",
    "multipart/form-data": "Multipart",
}


class UndocumentedRoute(RuntimeError):
    """A route was registered without ``chalicelib.http.endpoint``."""


def document_json(app: Chalice, prefix: str = "") -> str:
    """The document as JSON text; ``prefix`` is the stage path the API is served under."""
    return _cached_json(app, prefix)


@lru_cache(maxsize=8)
def _cached_json(app: Chalice, prefix: str) -> str:
    return json.dumps(build(app, prefix), separators=(",", ":"))


def build(app: Chalice, prefix: str = "") -> dict[str, Any]:
    """The OpenAPI document for every route of ``app``."""
    operations = list(_operations(app))
    definitions, refs = _schemas(op for _, _, op in operations)
    copies, body_refs = _per_content_type((op for _, _, op in operations), definitions, refs)
    definitions.update(copies)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation in operations:
        paths.setdefault(path, {})[method.lower()] = _operation(operation, method, refs, body_refs)
    schemas = _reachable({**definitions, **VALIDATION_ERROR_SCHEMAS}, paths)
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": TITLE, "version": API_VERSION, "description": DESCRIPTION},
        "tags": [{"name": name, "description": text} for name, text in TAG_DESCRIPTIONS.items()],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "oauth2",
                    "description": "The password form posted to `/login`; then a Bearer token.",
                    "flows": {
                        "password": {
                            "tokenUrl": f"{prefix}/login",
                            "refreshUrl": f"{prefix}/token/refresh",
                            "scopes": {},
                        }
                    },
                }
            },
            "headers": HEADERS,
        },
    }
    if prefix:
        document["servers"] = [{"url": prefix}]
    return document


def _operations(app: Chalice) -> Iterable[tuple[str, str, Operation]]:
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            operation = operation_of(entry.view_function)
            if operation is None:
                raise UndocumentedRoute(f"{method} {path} was not registered through endpoint()")
            yield path, method, operation


# ---------------------------------------------------------------- schemas

ModelKey = tuple[type[BaseModel], JsonSchemaMode]
BodyKey = tuple[Callable[..., Any], str]
"""An operation's view and one content type its body is sent in."""


def _schemas(
    operations: Iterable[Operation],
) -> tuple[dict[str, Any], dict[ModelKey, dict[str, Any]]]:
    """All models the operations use, as ``components.schemas`` and a ref per (model, mode)."""
    keys: dict[ModelKey, None] = {(HTTPError, "serialization"): None}
    for operation in operations:
        if operation.body is not None:
            keys[(operation.body, "validation")] = None
        for spec in operation.responses.values():
            model = _model_of(spec.body)
            if model is not None:
                keys[(model, "serialization")] = None
    refs, top = models_json_schema(list(keys), ref_template=REF)
    return top.get("$defs", {}), {key: refs[key] for key in keys}


def _per_content_type(
    operations: Iterable[Operation],
    definitions: dict[str, Any],
    refs: dict[ModelKey, dict[str, Any]],
) -> tuple[dict[str, Any], dict[BodyKey, dict[str, Any]]]:
    """The request body schema of every (model, content type) the operations take.

    A body taken in one content type is its model's schema; one taken in
    several gets a copy per content type. Returns the copies and the refs.
    """
    copies: dict[str, Any] = {}
    body_refs: dict[BodyKey, dict[str, Any]] = {}
    for operation in operations:
        if operation.body is None:
            continue
        ref = refs[(operation.body, "validation")]
        for media in operation.content_types:
            body_refs[(operation.view, media)] = ref
        if len(operation.content_types) < 2:
            continue
        name = ref["$ref"].rsplit("/", 1)[1]
        for media in operation.content_types:
            copy = name + _suffix(media)
            copies[copy] = {**definitions[name], "title": copy}
            body_refs[(operation.view, media)] = {"$ref": REF.format(model=copy)}
    return copies, body_refs


def _suffix(media_type: str) -> str:
    known = CONTENT_TYPE_SUFFIXES.get(media_type)
    if known:
        return known
    subtype = media_type.rsplit("/", 1)[-1]
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", subtype) if part)


def _reachable(schemas: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """The schemas that the paths refer to, directly or through other schemas."""
    found: set[str] = set()
    pending = _refs_in(paths)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending |= _refs_in(schemas[name])
    return {name: schema for name, schema in schemas.items() if name in found}


def _refs_in(value: Any) -> set[str]:
    prefix = REF.format(model="")
    text = json.dumps(value)
    return set(re.findall(rf'"\$ref": "{re.escape(prefix)}([^"]+)"', text))


def _model_of(body: Any) -> type[BaseModel] | None:
    """The model of a response body: ``Model``, ``list[Model]`` or ``None``."""
    if typing.get_origin(body) is list:
        (body,) = typing.get_args(body)
    if body is None:
        return None
    if isinstance(body, type) and issubclass(body, BaseModel):
        return body
    raise TypeError(f"cannot document a response body of {body!r}")


def _body_schema(body: Any, refs: dict[ModelKey, dict[str, Any]]) -> dict[str, Any]:
    model = _model_of(body)
    assert model is not None
    schema = refs[(model, "serialization")]
    if typing.get_origin(body) is list:
        return {"type": "array", "items": schema}
    return schema


# ---------------------------------------------------------------- operations


def _operation(
    operation: Operation,
    method: str,
    refs: dict[ModelKey, dict[str, Any]],
    body_refs: dict[BodyKey, dict[str, Any]],
) -> dict[str, Any]:
    name = operation.view.__name__
    result: dict[str, Any] = {
        "tags": list(operation.tags),
        "summary": operation.summary,
        "operationId": name if len(operation.methods) == 1 else f"{name}_{method.lower()}",
    }
    if operation.description:
        result["description"] = operation.description
    parameters = [*_path_parameters(operation), *_query_parameters(operation, refs)]
    if parameters:
        result["parameters"] = parameters
    if operation.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {
                media: {"schema": body_refs[(operation.view, media)]}
                for media in operation.content_types
            },
        }
    responses = {
        str(status): _success(status, spec, refs) for status, spec in operation.responses.items()
    }
    for status, examples in operation.error_statuses.items():
        responses[str(status)] = _failure(status, examples)
    result["responses"] = responses
    if operation.authenticated:
        result["security"] = [{SECURITY_SCHEME: []}]
    return result


def _path_parameters(operation: Operation) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": "A positive integer id, below 2**53.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for name in operation.path_params
    ]


def _query_parameters(
    operation: Operation, refs: dict[ModelKey, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One parameter per field of the query model, with the field's bounds."""
    if operation.query is None:
        return []
    schema = operation.query.model_json_schema(mode="validation", ref_template=REF)
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _without_null(field_schema),
        }
        field = operation.query.model_fields[name]
        if field.description:
            parameter["description"] = field.description
        parameters.append(parameter)
    return parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query string cannot carry ``null``: an optional parameter is simply left out."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [option for option in options if option.get("type") != "null"]
    rest = {
        key: value
        for key, value in schema.items()
        if key != "anyOf" and not (key == "default" and value is None)
    }
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _success(
    status: int, spec: ResponseSpec, refs: dict[ModelKey, dict[str, Any]]
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": spec.description or http.HTTPStatus(status).phrase,
        "headers": _headers(spec.headers),
    }
    if spec.schema is not None:
        response["content"] = {spec.media_type: {"schema": dict(spec.schema)}}
    elif spec.body is not None:
        response["content"] = {spec.media_type: {"schema": _body_schema(spec.body, refs)}}
    if spec.links:
        response["links"] = {
            target: {
                "operationId": target,
                "parameters": {name: f"$response.body#/{field}" for name, field in params.items()},
            }
            for target, params in spec.links.items()
        }
    return response


def _failure(status: int, examples: list[errors.ApiError]) -> dict[str, Any]:
    header_names = sorted({name for error in examples for name in error.headers})
    if status == errors.ValidationFailed.status_code:
        content: dict[str, Any] = {"schema": {"$ref": REF.format(model="HTTPValidationError")}}
        description = "Validation error: FastAPI's list of `{type, loc, msg, input}`"
    else:
        details = list(dict.fromkeys(str(error.detail) for error in examples))
        content = {
            "schema": {"$ref": REF.format(model=HTTPError.__name__)},
            "examples": {
                f"{status}-{index}": {"summary": detail, "value": {"detail": detail}}
                for index, detail in enumerate(details, 1)
            },
        }
        description = "; ".join(f"`{detail}`" for detail in details)
    return {
        "description": description,
        "headers": _headers(header_names),
        "content": {_JSON: content},
    }


def _headers(names: Iterable[str]) -> dict[str, Any]:
    everything = ["X-Request-Id", *names]
    return {name: {"$ref": f"#/components/headers/{name}"} for name in everything}
