"""CORS: the stage's origin on every response, and preflights answered from the same setting."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.settings import get_settings
from devtools.fuzz import dev_server, free_port
from tests.helpers.api import Api

ORIGIN = "https://movies.example"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


@pytest.fixture
def cors_origin(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", ORIGIN)
    get_settings.cache_clear()
    yield ORIGIN
    get_settings.cache_clear()


def test_a_preflight_allows_the_stage_origin_the_paths_methods_and_the_auth_header(
    api: Api, cors_origin: str
) -> None:
    response = api.request("OPTIONS", "/movies/7/ratings", headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == cors_origin
    assert response.headers["Access-Control-Allow-Methods"] == "DELETE, GET, OPTIONS, POST"
    allowed = response.headers["Access-Control-Allow-Headers"].split(", ")
    assert {"Authorization", "Content-Type"} <= set(allowed)
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert response.headers["X-Request-Id"]


def test_without_an_origin_a_preflight_allows_nothing_cross_origin(api: Api) -> None:
    response = api.request("OPTIONS", "/movies", headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["Allow"] == "GET, OPTIONS, POST"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_preflight_for_an_unknown_path_is_the_contracts_404(api: Api, cors_origin: str) -> None:
    response = api.request("OPTIONS", "/nope", headers=PREFLIGHT)
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == cors_origin


@pytest.fixture(scope="module")
def cors_server() -> Iterator[str]:
    log = ARTIFACTS / "cors-devserver.log"
    with dev_server(free_port(), log, {"CORS_ALLOW_ORIGIN": ORIGIN}) as url:
        yield url


def test_the_dev_server_answers_preflights_and_marks_responses(cors_server: str) -> None:
    request = urllib.request.Request(f"{cors_server}/login", method="OPTIONS", headers=PREFLIGHT)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
    with urllib.request.urlopen(f"{cors_server}/health", timeout=10) as response:
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
