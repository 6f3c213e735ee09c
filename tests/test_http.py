"""The HTTP rules every endpoint shares: error shapes, limits, ids and logs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.settings import get_settings
from tests.helpers.api import PASSWORD, Api, User, body, user_payload
from tests.helpers.table import app_hook


def test_health(api: Api) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}


def test_unknown_route_is_404_in_the_contract_shape(api: Api) -> None:
    for path in ("/nope", "/movies/1/nope"):
        response = api.get(path)
        assert response.status_code == 404
        assert body(response) == {"detail": "Not Found"}


def test_wrong_method_is_405(api: Api) -> None:
    response = api.delete("/signup")
    assert response.status_code == 405
    assert body(response) == {"detail": "Unsupported method: DELETE"}


def test_wrong_content_type_is_415(api: Api) -> None:
    response = api.post("/signup", raw=b"username=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert body(response) == {"detail": "Unsupported media type: text/plain"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{bad", "JSON decode error: Expecting property name enclosed in double quotes"),
        (b"", "Request body is empty; expected a JSON document"),
        (b"[" * 40 + b"]" * 40, "JSON nested deeper than 32 levels"),
    ],
)
def test_malformed_json_is_422_json_invalid(api: Api, raw: bytes, message: str) -> None:
    response = api.post("/signup", raw=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    [error] = body(response)["detail"]
    assert error["type"] == "json_invalid"
    assert error["loc"] == ["body", 0]
    assert error["msg"].startswith(message)


def test_a_json_body_that_is_not_an_object_is_422(api: Api) -> None:
    response = api.post("/signup", [1, 2])
    assert response.status_code == 422
    assert body(response)["detail"][0]["type"] == "model_type"
    assert body(response)["detail"][0]["loc"] == ["body"]


def test_oversized_body_is_413(api: Api) -> None:
    huge = json.dumps(user_payload("big", first_name="x" * (get_settings().max_body_bytes)))
    response = api.post("/signup", raw=huge.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert body(response) == {"detail": "Request body too large"}


def test_every_response_has_a_request_id_and_echoes_the_callers(api: Api) -> None:
    assert api.get("/health").headers["X-Request-Id"]
    assert api.get("/nope").headers["X-Request-Id"]
    mine = api.get("/health", headers={"X-Request-Id": "trace-123"})
    assert mine.headers["X-Request-Id"] == "trace-123"
    hostile = api.get("/health", headers={"X-Request-Id": "bad\nid" + "x" * 200})
    assert hostile.headers["X-Request-Id"] != "bad\nid" + "x" * 200


def test_an_unexpected_error_is_a_bare_500_with_the_trace_only_in_the_log(
    api: Api, alice: User, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(**_: Any) -> None:
        raise RuntimeError("disk on fire")

    with app_hook("before-call.dynamodb.GetItem", explode):
        response = api.get("/users/me", token=alice.token)
    assert response.status_code == 500
    assert body(response) == {"detail": "Internal Server Error"}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert "disk on fire" in error["exception"]
    assert error["route"] == "/users/me"


def test_one_json_access_line_per_request_without_secrets(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.post("/signup", user_payload("logged"))
    login = api.post("/login", {"username": "logged", "password": PASSWORD})
    token = body(login)["access_token"]
    api.get("/users/me", token=token)
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines()]
    access = [line for line in lines if line["logger"] == "movies.access"]
    assert [(line["method"], line["route"], line["status"]) for line in access] == [
        ("POST", "/signup", 200),
        ("POST", "/login", 200),
        ("GET", "/users/me", 200),
    ]
    assert access[2]["user_id"] == body(api.get("/users/me", token=token))["id"]
    assert all({"request_id", "latency_ms"} <= set(line) for line in access)
    assert PASSWORD not in out
    assert token not in out


def test_cors_origin_is_configurable_and_on_errors_too(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", "https://movies.example")
    get_settings.cache_clear()
    try:
        for path in ("/health", "/users/me", "/nope"):
            response = api.get(path)
            assert response.headers["Access-Control-Allow-Origin"] == "https://movies.example"
        exposed = api.get("/health").headers["Access-Control-Expose-Headers"]
        assert {"X-Next-Cursor", "Link", "X-Request-Id"} <= set(exposed.split(", "))
    finally:
        get_settings.cache_clear()
