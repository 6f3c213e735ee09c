"""The API docs: one OpenAPI 3.1 document from the route table, and the pages that show it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice import Chalice
from chalice.app import Request
from openapi_spec_validator import validate

from app import app
from chalicelib import openapi
from chalicelib.http.middleware import EXPOSED_HEADERS
from chalicelib.http.operations import endpoint, operation_of
from chalicelib.http.parsing import MAX_ID
from chalicelib.routes import docs
from tests.helpers.api import Api, User, body


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    parsed: dict[str, Any] = body(response)
    return parsed


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method.lower()]
    return found


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_and_method_of_the_app_is_documented(document: dict[str, Any]) -> None:
    routes = {(method, path) for path, methods in app.routes.items() for method in methods}
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert documented == routes
    assert len(routes) > 25


def test_a_route_registered_without_endpoint_cannot_be_documented() -> None:
    other = Chalice(app_name="other")

    @other.route("/undocumented")
    def undocumented() -> dict[str, str]:
        return {}

    with pytest.raises(openapi.UndocumentedRoute, match="GET /undocumented"):
        openapi.build(other)


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_the_declared_body_model_is_the_one_the_handler_parses(document: dict[str, Any]) -> None:
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            declared = operation_of(entry.view_function)
            assert declared is not None
            request_body = operation(document, method, path).get("requestBody")
            if declared.body is None:
                assert request_body is None, (method, path)
                continue
            content = request_body["content"]
            assert set(content) == set(declared.content_types), (method, path)
            for media, suffix in openapi.CONTENT_TYPE_SUFFIXES.items():
                if media in content:
                    name = declared.body.__name__ + (suffix if len(content) > 1 else "")
                    assert content[media]["schema"] == {"$ref": f"#/components/schemas/{name}"}


def test_login_takes_the_oauth2_form_and_json(document: dict[str, Any]) -> None:
    login = operation(document, "POST", "/login")
    assert set(login["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert set(login["responses"]) >= {"200", "401", "422", "429", "500"}
    schemas = document["components"]["schemas"]
    form, json_body = schemas["LoginRequestForm"], schemas["LoginRequestJson"]
    assert (form["title"], json_body["title"]) == ("LoginRequestForm", "LoginRequestJson")
    assert {**form, "title": None} == {**json_body, "title": None}
    assert form["required"] == ["username", "password"]
    assert "LoginRequest" not in schemas  # only the two copies are used
    assert "Retry-After" in login["responses"]["429"]["headers"]
    assert "security" not in login


def test_protected_operations_use_fastapis_oauth2_password_bearer(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme == {
        "type": "oauth2",
        "description": scheme["description"],
        "flows": {"password": {"tokenUrl": "/login", "refreshUrl": "/token/refresh", "scopes": {}}},
    }
    me = operation(document, "GET", "/users/me")
    assert me["security"] == [{"OAuth2PasswordBearer": []}]
    unauthorized = me["responses"]["401"]
    assert "WWW-Authenticate" in unauthorized["headers"]
    assert {
        example["value"]["detail"]
        for example in unauthorized["content"]["application/json"]["examples"].values()
    } == {"Not authenticated", "Could not validate credentials"}
    assert "security" not in operation(document, "GET", "/movies")


def test_path_ids_are_positive_integers_below_2_53(document: dict[str, Any]) -> None:
    [parameter] = operation(document, "GET", "/movies/{movie_id}")["parameters"]
    assert parameter == {
        "name": "movie_id",
        "in": "path",
        "required": True,
        "description": parameter["description"],
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


def test_query_parameters_carry_their_bounds(document: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in operation(document, "GET", "/movies")["parameters"]}
    assert parameters["limit"]["schema"] | {"title": None} == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 10,
        "title": None,
    }
    assert parameters["offset"]["schema"]["maximum"] == 10_000
    assert parameters["cursor"]["schema"]["type"] == "string"
    assert not any(p["required"] for p in parameters.values())
    ratings = operation(document, "GET", "/movies/{movie_id}/ratings")
    assert {p["name"] for p in ratings["parameters"]} == {"movie_id", "skip", "limit", "cursor"}


def test_every_response_has_its_status_schema_and_headers(document: dict[str, Any]) -> None:
    create = operation(document, "POST", "/movies")["responses"]
    assert create["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MoviePublic"
    }
    assert "Location" in create["201"]["headers"]
    assert set(create) == {"201", "401", "413", "415", "422", "500", "503"}
    deleted = operation(document, "DELETE", "/movies/{movie_id}")["responses"]
    assert "content" not in deleted["204"]
    assert {"403", "404"} <= set(deleted)
    ratings = operation(document, "GET", "/movies/{movie_id}/ratings")["responses"]["200"]
    assert ratings["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/RatingPublic"},
    }
    assert {"X-Next-Cursor", "Link", "X-Request-Id"} <= set(ratings["headers"])
    for path_item in document["paths"].values():
        for op in path_item.values():
            assert "500" in op["responses"]
            for response in op["responses"].values():
                assert "X-Request-Id" in response["headers"]
    assert set(EXPOSED_HEADERS.split(", ")) <= set(document["components"]["headers"])


def test_errors_show_the_real_details_and_validation_errors_fastapis_shape(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["HTTPError"]["required"] == ["detail"]
    assert schemas["HTTPValidationError"]["properties"]["detail"]["items"] == {
        "$ref": "#/components/schemas/ValidationError"
    }
    update = operation(document, "PUT", "/movies/{movie_id}")["responses"]
    assert update["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HTTPValidationError"
    }
    details = [
        example["value"]["detail"]
        for example in update["403"]["content"]["application/json"]["examples"].values()
    ]
    assert details == ["Not authorized to modify this movie"]
    seed_read = operation(document, "GET", "/movie/{movie_id}")["responses"]["404"]
    assert "Movie not found!" in seed_read["description"]


def test_response_schemas_say_what_responses_hold(api: Api, alice: User) -> None:
    """The documented response model validates a real response (spot check; make fuzz does all)."""
    document = body(api.get("/openapi.json"))
    me = body(api.get("/users/me", token=alice.token))
    schema = document["components"]["schemas"]["UserPublic"]
    assert set(me) == set(schema["properties"]) == set(schema["required"])
    assert schema["properties"]["created_at"]["format"] == "date-time"
    assert "password" not in json.dumps(schema)


def test_request_schemas_document_what_validation_enforces(document: dict[str, Any]) -> None:
    user = document["components"]["schemas"]["UserCreate"]["properties"]
    assert re.fullmatch(user["phone_number"]["pattern"].strip("^$"), "+1 234 567 8901")
    assert (user["password"]["minLength"], user["password"]["maxLength"]) == (8, 72)
    update = document["components"]["schemas"]["UserUpdate"]["properties"]
    assert update["username"]["type"] == "string"  # null is refused, so not offered
    movie_update = document["components"]["schemas"]["MovieUpdate"]["properties"]
    assert {"type": "null"} in movie_update["description"]["anyOf"]  # null clears it


def test_the_document_names_urls_under_the_stage_prefix() -> None:
    document = openapi.build(app, "/api")
    assert document["servers"] == [{"url": "/api"}]
    flow = document["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flow["password"]["tokenUrl"] == "/api/login"


def request_at(path: str, resource_path: str) -> Request:
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": {},
            "pathParameters": None,
            "requestContext": {"httpMethod": "GET", "path": path, "resourcePath": resource_path},
            "stageVariables": None,
            "body": None,
            "isBase64Encoded": False,
        }
    )


@pytest.mark.parametrize(
    ("path", "prefix"),
    [("/docs", ""), ("/docs/", ""), ("/api/docs", "/api"), ("/v1/docs/", "/v1")],
)
def test_the_stage_prefix_comes_from_the_request(path: str, prefix: str) -> None:
    assert docs.stage_prefix(request_at(path, "/docs")) == prefix


ASSET_REF = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"}),
        ("/redoc", {"/docs/assets/redoc.standalone.js"}),
    ],
)
def test_the_pages_load_their_assets_from_the_api_itself(
    api: Api, page: str, assets: set[str]
) -> None:
    response = api.get(page)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.body.decode()
    assert '"/openapi.json"' in html
    urls = ASSET_REF.findall(html)
    assert {url.split("?")[0] for url in urls} == assets
    assert not re.search(r"https?://", html)
    for url in urls:
        asset = api.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert asset.headers["Content-Type"].startswith(("text/javascript", "text/css"))
        assert len(asset.body) > 100_000


def test_asset_urls_change_with_their_content() -> None:
    url = docs.asset_url("", docs.SWAGGER_JS)
    assert re.fullmatch(r"/docs/assets/swagger-ui-bundle\.js\?v=[0-9a-f]{16}", url)
    assert url != docs.asset_url("", docs.REDOC_JS).replace("redoc.standalone", "swagger-ui-bundle")


def test_swagger_ui_is_version_5_which_renders_openapi_3_1() -> None:
    assert re.search(r'"5\.\d+\.\d+"', docs.asset_text(docs.SWAGGER_JS.file))


def test_a_route_can_declare_every_part_of_its_documentation() -> None:
    """``endpoint`` records its declaration on the handler Chalice routes to."""
    other = Chalice(app_name="other")
    from chalice.app import Blueprint

    bp = Blueprint(__name__)

    @endpoint(bp, "/things/{thing_id}", methods=["GET"], responses={204: None}, tags=["T"])
    def read_thing(thing_id: int) -> Any:
        """Reads a thing."""
        raise AssertionError("not called")

    other.register_blueprint(bp)
    built = openapi.build(other)["paths"]["/things/{thing_id}"]["get"]
    assert built["tags"] == ["T"]
    assert built["summary"] == "Read thing"
    assert built["description"] == "Reads a thing."
    assert set(built["responses"]) == {"204", "422", "500", "503"}


def test_links_lead_to_real_operations_and_fill_their_path_ids(document: dict[str, Any]) -> None:
    """Links say where a new resource's id goes next (Schemathesis follows them)."""
    by_id = {op["operationId"]: op for ops in document["paths"].values() for op in ops.values()}
    schemas = document["components"]["schemas"]
    links = [
        (response, link)
        for ops in document["paths"].values()
        for op in ops.values()
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) > 20
    for response, link in links:
        target = by_id[link["operationId"]]
        path_ids = {p["name"] for p in target["parameters"] if p["in"] == "path"}
        assert set(link["parameters"]) == path_ids, link
        ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for expression in link["parameters"].values():
            field = expression.removeprefix("$response.body#/")
            assert field in schemas[ref]["properties"], (ref, field)
    created = operation(document, "POST", "/movies")["responses"]["201"]["links"]
    assert created["read_movie"]["parameters"] == {"movie_id": "$response.body#/id"}


def test_any_body_taken_in_several_content_types_gets_a_schema_for_each() -> None:
    """Generators make one request class per schema and pick the encoding by class."""
    from chalice.app import Blueprint

    from chalicelib.schemas.users import PasswordChange

    other = Chalice(app_name="other")
    bp = Blueprint(__name__)
    media_types = ["application/x-www-form-urlencoded", "application/json", "text/x-yaml"]

    @endpoint(
        bp,
        "/both",
        methods=["POST"],
        body=PasswordChange,
        content_types=media_types,
        responses={204: None},
    )
    def both(body: PasswordChange) -> Any:
        raise AssertionError("not called")

    @endpoint(bp, "/json", methods=["PUT"], body=PasswordChange, responses={204: None})
    def json_only(body: PasswordChange) -> Any:
        raise AssertionError("not called")

    other.register_blueprint(bp)
    document = openapi.build(other)
    refs = {
        media: content["schema"]["$ref"].rsplit("/", 1)[1]
        for media, content in document["paths"]["/both"]["post"]["requestBody"]["content"].items()
    }
    assert refs == {
        "application/x-www-form-urlencoded": "PasswordChangeForm",
        "application/json": "PasswordChangeJson",
        "text/x-yaml": "PasswordChangeXYaml",
    }
    json_only_body = document["paths"]["/json"]["put"]["requestBody"]["content"]
    assert json_only_body == {
        "application/json": {"schema": {"$ref": "#/components/schemas/PasswordChange"}}
    }
    schemas = document["components"]["schemas"]
    assert {**schemas["PasswordChangeForm"], "title": "PasswordChange"} == schemas["PasswordChange"]
    validate(document)


def test_every_schema_in_the_document_is_used(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    for name in document["components"]["schemas"]:
        assert f'"#/components/schemas/{name}"' in text, name
