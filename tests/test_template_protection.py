"""What stands in front of the API: per-method throttling, and a web ACL with rate rules.

These check the merge template from the code; CI runs ``chalice package``,
cfn-lint and checkov on both stages (``make lint-template``, ``make checkov``).
The throttling numbers are held to the capacity model's workload
(``bench.scale.Workload``), so the goal can never be capped by a limit.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import quote, unquote

import pytest

from app import app
from bench.scale import Workload
from chalicelib import gateway
from devtools import package
from tests.helpers.api import Api, User, body
from tests.helpers.comments import new_movie
from tests.helpers.template import resources


def settings(stage: package.Stage) -> dict[tuple[str, str], dict[str, Any]]:
    """The stage's method settings by (route, method), ``("*", "*")`` for the default."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for setting in resources(stage)[package.REST_API]["Properties"]["MethodSettings"]:
        path = setting["ResourcePath"]
        key = ("*" if path == "/*" else path[1:].replace("~1", "/"), setting["HttpMethod"])
        assert key not in found, f"{key}: one entry per method (a second would fight the first)"
        found[key] = setting
    return found


def limits(setting: dict[str, Any]) -> tuple[int, int]:
    return setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]


def web_acl(stage: package.Stage) -> dict[str, Any]:
    acl: dict[str, Any] = resources(stage)[package.WEB_ACL]
    return acl


def rule(stage: package.Stage, name: str) -> dict[str, Any]:
    (found,) = [r for r in web_acl(stage)["Properties"]["Rules"] if r["Name"] == name]
    return found


PROD, DEV = package.load_stage("prod"), package.load_stage("dev")
WORKLOAD = Workload()

# ---------------------------------------------------------------- throttling per method


def test_every_named_route_is_a_route_of_the_app() -> None:
    for path, method in package.route_throttles():
        assert method in app.routes[path], (path, method)


def test_every_method_setting_carries_its_throttling_and_its_cache(
    stage: package.Stage,
) -> None:
    found = settings(stage)
    default = {"prod": (10_000, 5_000), "dev": (500, 10)}  # AWS's account default; dev's cap
    assert limits(found[("*", "*")]) == default[stage.name]
    assert set(found) == {("*", "*"), *gateway.CACHED_ROUTES, *package.route_throttles()}
    for route, setting in found.items():
        rate, burst = limits(setting)
        assert rate > 0 and burst > 0, route
        assert setting["CachingEnabled"] is (route in gateway.CACHED_ROUTES), route
        assert setting["CacheDataEncrypted"] is True


def test_prod_allows_each_route_of_the_goal_twice_the_model_s_rate() -> None:
    """The goal's reads and rating changes fit, with room for a peak of twice them."""
    reads = {kind: WORKLOAD.reads * share for kind, share in WORKLOAD.read_mix.items()}
    changes = {kind: WORKLOAD.app_changes * share for kind, share in WORKLOAD.change_mix.items()}
    rating_path = "/movies/{movie_id}/ratings"
    goal = {
        ("/movies/{movie_id}", "GET"): reads["detail"],
        ("/movie/{movie_id}", "GET"): reads["detail"],
        ("/movies", "GET"): reads["movies page"] + reads["top rated page"] + reads["genre page"],
        ("/movies/search", "GET"): reads["search page"],
        ("/movies/user", "GET"): reads["my movies page"],
        ("/movies/{movie_id}/ratings/average", "GET"): reads["average"],
        ("/movies/{movie_id}/comments", "GET"): reads["comments page"],
        (rating_path, "GET"): reads["ratings page"],
        (rating_path, "POST"): changes["first"] + changes["re-rate"],
        (rating_path, "DELETE"): changes["delete"],
    }
    found = settings(PROD)
    for route, rate in goal.items():
        assert found[route]["ThrottlingRateLimit"] >= 2 * rate, route
        assert found[route]["ThrottlingBurstLimit"] >= rate / 2, route
    changes_allowed = sum(
        found[(rating_path, m)]["ThrottlingRateLimit"] for m in ("POST", "DELETE")
    )
    assert changes_allowed >= 2 * WORKLOAD.app_changes == 200_000
    assert found[(rating_path, "POST")]["ThrottlingRateLimit"] == 160_000


def test_password_routes_keep_at_most_a_hundred_functions_busy() -> None:
    found = settings(PROD)
    assert limits(found[("/login", "POST")]) == (1_000, 500)  # 0.1 s of argon2id each
    assert limits(found[("/signup", "POST")]) == (1_000, 500)
    assert limits(found[("/users/me/password", "PUT")]) == (500, 250)  # verify, then hash
    for route, seconds in package.HASHING_SECONDS.items():
        assert found[route]["ThrottlingRateLimit"] * seconds <= 100


def test_movie_changes_share_what_the_stream_consumer_has_left() -> None:
    found = settings(PROD)
    allowed = sum(found[route]["ThrottlingRateLimit"] for route in package.MOVIE_CHANGES)
    assert allowed == 490
    assert allowed <= package.CONSUMER_MOVIE_BATCHES - package.GOAL_MOVIE_BATCHES
    assert limits(found[("/movies", "POST")]) == (100, 50)
    assert limits(found[("/new_movies", "POST")]) == (30, 15)
    changing = {
        (path, method)
        for path, methods in app.routes.items()
        for method in methods
        if method in {"POST", "PUT", "PATCH", "DELETE"}
        and re.fullmatch(r"/(movies|new_movies|movie_update|movie_delete)(/\{movie_id\})?", path)
    }
    assert changing == set(package.MOVIE_CHANGES)  # every route that changes a movie


def test_dev_caps_every_method_at_what_its_reserved_functions_serve() -> None:
    """10 API functions at about 20 ms a request serve 500 requests a second, 10 at once."""
    reserved = package.RESERVED_CONCURRENCY["dev"]["api_handler"]
    assert DEV.throttle_cap == package.Throttle(rate=500, burst=10)
    assert DEV.throttle_cap.rate <= reserved / 0.020 and DEV.throttle_cap.burst <= reserved
    found = settings(DEV)
    for route, setting in found.items():
        rate, burst = limits(setting)
        assert rate <= 500 and burst <= 10, route
    assert limits(found[("/movies", "POST")]) == (100, 10)  # a limit under the cap stays
    assert limits(found[("/movies/{movie_id}", "GET")]) == (500, 10)
    assert PROD.throttle_cap is None


def test_a_stage_cap_comes_from_the_stage_config() -> None:
    config = package.load_config()
    config["stages"]["prod"]["api_throttling"] = {"rate_limit": 2_000, "burst_limit": 300}
    capped = package.load_stage("prod", config)
    assert capped.throttle_cap == package.Throttle(rate=2_000, burst=300)
    found = settings(capped)
    assert limits(found[("*", "*")]) == (2_000, 300)
    assert limits(found[("/login", "POST")]) == (1_000, 300)


def test_the_throttled_answer_is_the_contract_s_429() -> None:
    assert gateway.THROTTLED.status_code == 429
    assert json.loads(gateway.THROTTLED.body()) == {"detail": "Too many requests"}
    assert gateway.THROTTLED.headers == {"Retry-After": "1"}


# ---------------------------------------------------------------- the web ACL


def test_the_web_acl_is_regional_allows_by_default_and_reports_metrics(
    stage: package.Stage,
) -> None:
    acl = web_acl(stage)
    assert acl["Type"] == "AWS::WAFv2::WebACL"
    properties = acl["Properties"]
    assert properties["Scope"] == "REGIONAL"
    assert properties["DefaultAction"] == {"Allow": {}}
    assert properties["Name"] == f"movie-listing-api-{stage.name}"
    names = [r["Name"] for r in properties["Rules"]]
    assert names == ["requests-per-client", "deep-pages-per-client", "known-bad-inputs"]
    assert [r["Priority"] for r in properties["Rules"]] == [0, 1, 2]
    for visibility in [
        properties["VisibilityConfig"],
        *(r["VisibilityConfig"] for r in properties["Rules"]),
    ]:
        assert visibility["SampledRequestsEnabled"] is True
        assert visibility["CloudWatchMetricsEnabled"] is True
        assert visibility["MetricName"].startswith(f"movie-listing-api-{stage.name}-")


def test_every_client_address_is_limited_to_6000_requests_in_five_minutes(
    stage: package.Stage,
) -> None:
    found = rule(stage, "requests-per-client")
    assert found["Statement"] == {
        "RateBasedStatement": {"Limit": 6_000, "EvaluationWindowSec": 300, "AggregateKeyType": "IP"}
    }
    assert_blocks_with_the_contract_s_429(stage, found)


# Query strings as a client sends them; the deep ones are counted, whichever occurrence of
# a repeated argument the app reads, and however the digits are percent-encoded.
QUERIES = (
    "offset=0",
    "offset=99",
    "offset=100",
    "skip=9999",
    "limit=100",
    "limit=10&offset=10000",
    "offset=0&offset=10000",
    "offset=10000&offset=0",
    "offset=%31%30%30",
    "myoffset=1000",
)


def deep_page_rule_counts(stage: package.Stage, query: str) -> bool:
    """Whether the deep-page rule's statement matches ``query`` (WAF's regex, in Python's)."""
    statement = rule(stage, "deep-pages-per-client")["Statement"]["RateBasedStatement"]
    regex = statement["ScopeDownStatement"]["RegexMatchStatement"]["RegexString"]
    return re.search(regex, unquote(query)) is not None


@pytest.mark.parametrize("raw", ["1_0_0_0_0", "10_00", "100.0", " 100", "+100", "1e4"])
@pytest.mark.parametrize(
    ("path", "argument"),
    [("/movies", "offset"), ("/movies/{id}/comments", "skip"), ("/movies/{id}/ratings", "skip")],
)
def test_the_app_reads_no_deep_offset_the_rule_would_not_count(
    api: Api, alice: User, path: str, argument: str, raw: str
) -> None:
    """A value Python's ``int`` takes but the rule's digits do not match is refused, not read."""
    path = path.format(id=new_movie(api, alice))
    answer = api.get(f"{path}?{argument}={quote(raw)}")
    assert (answer.status_code, body(answer)) == (
        422,
        {
            "detail": [
                {
                    "type": "int_parsing",
                    "loc": ["query", argument],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": raw,
                }
            ]
        },
    )


def test_deep_offset_pages_are_limited_to_300_in_five_minutes_per_address(
    stage: package.Stage,
) -> None:
    statement = rule(stage, "deep-pages-per-client")["Statement"]["RateBasedStatement"]
    assert (statement["Limit"], statement["EvaluationWindowSec"]) == (300, 300)
    assert statement["AggregateKeyType"] == "IP"
    regex = statement["ScopeDownStatement"]["RegexMatchStatement"]
    assert regex["FieldToMatch"] == {"QueryString": {}}
    assert regex["TextTransformations"] == [{"Priority": 0, "Type": "URL_DECODE"}]
    counted = [query for query in QUERIES if deep_page_rule_counts(stage, query)]
    assert counted == [
        "offset=100",
        "skip=9999",
        "limit=10&offset=10000",
        "offset=0&offset=10000",
        "offset=10000&offset=0",
        "offset=%31%30%30",
    ]
    assert_blocks_with_the_contract_s_429(stage, rule(stage, "deep-pages-per-client"))


def assert_blocks_with_the_contract_s_429(stage: package.Stage, found: dict[str, Any]) -> None:
    response = found["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    assert response["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "300"}]
    body = web_acl(stage)["Properties"]["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    assert json.loads(body["Content"]) == {"detail": "Too many requests"}


def test_a_blocked_client_gets_the_stage_cors_origin_when_it_has_one() -> None:
    with_origin = dataclasses.replace(DEV, cors_allow_origin="https://app.example")
    for name in ("requests-per-client", "deep-pages-per-client"):
        headers = rule(with_origin, name)["Action"]["Block"]["CustomResponse"]["ResponseHeaders"]
        assert headers == [
            {"Name": "Retry-After", "Value": "300"},
            {"Name": "Access-Control-Allow-Origin", "Value": "https://app.example"},
        ]


def test_aws_known_bad_inputs_block_as_the_group_says_log4j_included(
    stage: package.Stage,
) -> None:
    """checkov's CKV_AWS_192: the group present, nothing excluded, no override to Count."""
    found = rule(stage, "known-bad-inputs")
    assert found["Statement"] == {
        "ManagedRuleGroupStatement": {
            "VendorName": "AWS",
            "Name": "AWSManagedRulesKnownBadInputsRuleSet",
        }
    }
    assert found["OverrideAction"] == {"None": {}}
    assert "Action" not in found


def test_a_request_the_web_acl_filters_answers_403_in_the_contract_s_shape(
    stage: package.Stage,
) -> None:
    definition = resources(stage)[package.REST_API]["Properties"]["DefinitionBody"]
    filtered = definition["x-amazon-apigateway-gateway-responses"]["WAF_FILTERED"]
    assert filtered["statusCode"] == "403"
    assert json.loads(filtered["responseTemplates"]["application/json"]) == {"detail": "Forbidden"}


def test_the_web_acl_is_associated_with_the_api_s_stage(stage: package.Stage) -> None:
    association = resources(stage)[package.WEB_ACL_ASSOCIATION]
    assert association["Type"] == "AWS::WAFv2::WebACLAssociation"
    assert association["Properties"] == {
        "ResourceArn": {
            "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::"
            "/restapis/${RestAPI}/stages/${RestAPI.Stage}"
        },
        "WebACLArn": {"Fn::GetAtt": [package.WEB_ACL, "Arn"]},
    }
    assert package.load_config()["stages"][stage.name]["api_gateway_stage"] == "api"


# ---------------------------------------------------------------- a 503 the cache may keep


@pytest.mark.parametrize(("path", "method"), gateway.CACHED_ROUTES)
def test_a_cached_route_s_503_asks_for_the_whole_cache_ttl(path: str, method: str) -> None:
    assert gateway.retry_after_seconds(path, method) == gateway.CACHE_TTL_SECONDS == 10


def test_an_uncached_route_s_503_asks_for_one_second() -> None:
    assert gateway.retry_after_seconds("/movies/{movie_id}", "GET") == 1
    assert gateway.retry_after_seconds("/movies/{movie_id}/comments", "POST") == 1
    assert gateway.retry_after_seconds("/movies", "POST") == 1
