"""API Gateway's stage cache: the public list pages only, keyed by everything they depend on."""

from __future__ import annotations

from typing import Any

import pytest

from app import app
from chalicelib import gateway
from chalicelib.http.operations import operation_of
from devtools import package


@pytest.fixture(params=package.DEPLOYED_STAGES)
def api(request: pytest.FixtureRequest) -> dict[str, Any]:
    patch = package.merge_template(package.load_stage(request.param))
    properties: dict[str, Any] = patch["Resources"][package.REST_API]["Properties"]
    return properties


def test_the_stage_has_a_cache_that_serves_only_the_public_list_pages(api: dict[str, Any]) -> None:
    assert api["CacheClusterEnabled"] is True
    every, *methods = api["MethodSettings"]
    # A stage cache turns caching on for every GET; the first setting turns it off again,
    # and so does every other method's own entry (its throttling) but the cached ones'.
    assert [every[name] for name in ("ResourcePath", "HttpMethod", "CachingEnabled")] == [
        "/*",
        "*",
        False,
    ]
    cached = [setting for setting in methods if setting["CachingEnabled"]]
    assert all(setting["CachingEnabled"] is False for setting in methods if setting not in cached)
    assert [(s["ResourcePath"], s["HttpMethod"]) for s in cached] == [
        ("/~1movies", "GET"),
        ("/~1movies~1search", "GET"),
        ("/~1movies~1{movie_id}~1comments", "GET"),
        ("/~1movies~1{movie_id}~1ratings", "GET"),
    ]
    for setting in cached:
        assert setting["CachingEnabled"] is True
        assert setting["CacheTtlInSeconds"] == gateway.CACHE_TTL_SECONDS == 10
    assert not [s for s in methods if s not in cached and "CacheTtlInSeconds" in s]
    assert all(setting["CacheDataEncrypted"] for setting in api["MethodSettings"])


def test_no_cached_route_names_the_caller_nor_is_the_detail_or_the_average_cached() -> None:
    for _, method, operation in package.cached_operations():
        assert method == "GET"
        assert not operation.authenticated
    cached = {path for path, _ in gateway.CACHED_ROUTES}
    assert not cached & {"/movies/user", "/movies/{movie_id}", "/movie/{movie_id}"}
    assert "/movies/{movie_id}/ratings/average" not in cached


def test_a_cached_page_is_keyed_by_its_path_ids_its_whole_query_and_the_callers_request_id(
    api: dict[str, Any],
) -> None:
    paths = api["DefinitionBody"]["paths"]
    for path, method in gateway.CACHED_ROUTES:
        view = app.routes[path][method].view_function
        operation = operation_of(view)
        assert operation is not None and operation.query is not None
        get = paths[path][method.lower()]
        keys = get["x-amazon-apigateway-integration"]["cacheKeyParameters"]
        expected = [
            *(f"method.request.path.{name}" for name in operation.path_params),
            *(f"method.request.querystring.{name}" for name in operation.query.model_fields),
            "method.request.header.X-Request-Id",
        ]
        assert keys == expected
        declared = {f"method.request.{p['in']}.{p['name']}" for p in get["parameters"]}
        declared = {key.replace(".query.", ".querystring.") for key in declared}
        assert declared == set(keys)  # API Gateway keys only by parameters the method declares


def test_the_comment_and_rating_pages_are_keyed_by_the_movie() -> None:
    keys = package.cached_paths()["/movies/{movie_id}/comments"]["get"]
    assert (
        "method.request.path.movie_id"
        in keys["x-amazon-apigateway-integration"]["cacheKeyParameters"]
    )


def test_caching_an_authenticated_route_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package, "CACHED_ROUTES", (("/movies/user", "GET"),))
    with pytest.raises(ValueError, match="only public endpoint routes may be cached"):
        package.cached_operations()


def test_the_stage_cache_is_no_longer_waived() -> None:
    for name in package.DEPLOYED_STAGES:
        waivers = package.stage_waivers(package.load_stage(name))
        assert "CKV_AWS_120" not in waivers.get(package.REST_API, {})
