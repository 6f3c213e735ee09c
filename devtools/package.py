"""The deploy artefacts, built from the code so that they cannot drift from it.

``python -m devtools.package --stage dev --out dist/dev`` writes
``dist/dev/merge-template.json`` and runs ``chalice package --merge-template``
with it, which leaves ``dist/dev/sam.json`` (a SAM template) and
``dist/dev/deployment.zip`` (the Lambda code) for ``aws cloudformation
package`` and ``deploy`` (docs/DEPLOY.md). The merge template adds what
Chalice does not make, each part derived from the code or from the stage in
``.chalice/config.json``:

* ``MoviesTable``, from ``table_definition()``: on demand, the stream, TTL
  on ``ttl_attribute_name()``, point-in-time recovery, encryption with the
  AWS managed KMS key; in protected stages (prod) deletion protection and
  ``Retain`` policies, elsewhere ``Delete``.
* The gateway responses of ``chalicelib.gateway.ALL``, as the API
  definition's ``x-amazon-apigateway-gateway-responses``. Not as
  ``AWS::ApiGateway::GatewayResponse`` resources: Chalice's API is a SAM API
  whose definition is re-imported on every change, which drops responses
  kept beside it and does not redeploy the stage when they change
  (serverless-application-model issues 390 and 623). In the definition they
  are part of every deployment.
* The stream handler's event source, pointed at the table's ``StreamArn``,
  filtered to what ``storage.changes`` acts on (counter shards' changes,
  movies' removals, the marker of sessions ended together), batched over
  ``streams.BATCHING_WINDOW_SECONDS``, and reporting partial batch failures;
  ``TABLE_STREAM_ARN`` in every function's environment; API Gateway tracing
  where the stage turns on ``xray``.
* Fixed function names (those ``chalice deploy`` would give), so that the
  IAM policies can name each function's log group.
* The stage's method settings: API Gateway's cache for
  ``chalicelib.gateway.CACHED_ROUTES`` and throttling per method
  (``route_throttles``, within the stage's ``api_throttling`` cap), one
  entry per method; and an AWS WAF web ACL on the stage (``firewall``):
  rate rules per client address, AWS's known-bad-inputs rules.

``deployment.zip`` is then pruned of the modules no function imports
(``devtools/lambda_package.py``).

``python -m devtools.package --write-policies`` writes each deployed stage's
per-function IAM policies into ``.chalice/`` from ``FUNCTIONS``, which says
which storage call needs which DynamoDB action; ``tests/test_package.py``
fails when the files and ``FUNCTIONS`` disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib import gateway, streams
from chalicelib.gateway import CACHE_TTL_SECONDS, CACHED_ROUTES
from chalicelib.http.middleware import cors_preflight_headers
from chalicelib.http.operations import Operation, operation_of
from chalicelib.storage.changes import FILTER_PATTERNS
from chalicelib.storage.table import table_definition, ttl_attribute_name
from devtools import lambda_package

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_DIR = PROJECT_DIR / ".chalice"
CONFIG_FILE = CHALICE_DIR / "config.json"
DEPLOYED_STAGES = ("dev", "prod")
PROTECTED_STAGES = frozenset({"prod"})
MERGE_TEMPLATE = "merge-template.json"
PACKAGED_TEMPLATE = "sam.json"
# Chalice needs a region to package, but uses it only for service principals'
# DNS suffix, which is the same in every region of the standard partition.
PACKAGING_REGION = "us-east-1"

# Logical ids in the template Chalice generates (checked by ``check_merged``).
TABLE = "MoviesTable"
REST_API = "RestAPI"
STREAM_EVENT = "TableStreamDynamodbEventSource"
STREAM_ARN = {"Fn::GetAtt": [TABLE, "StreamArn"]}

POLICY_VERSION = "2012-10-17"
STREAM_READ_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
# X-Ray has no resource-level permissions: "*" is the only Resource these
# actions accept, and the one "*" in the policies.
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
XRAY_STATEMENT = "Tracing"


@dataclass(frozen=True)
class Function:
    """One Lambda function Chalice makes, and what it may touch.

    ``table_actions`` maps each DynamoDB action the function needs on the
    table to the storage calls that need it. ``TransactWriteItems`` has no
    action of its own: each Put, Update, Delete and ConditionCheck in a
    transaction is authorised as PutItem, UpdateItem, DeleteItem and
    ConditionCheckItem. DescribeTable is never needed: PynamoDB 6 takes the
    table's metadata from the models.
    """

    name: str  # Chalice's name: the key under "lambda_functions" in config.json
    resource: str  # its logical id in Chalice's template
    table_actions: Mapping[str, str] = field(default_factory=dict)
    queries_indexes: bool = False
    reads_stream: bool = False
    reads_jwt_key: bool = False
    sends_failed_batches: bool = False


API_HANDLER = Function(
    name="api_handler",
    resource="APIHandler",
    table_actions={
        "dynamodb:BatchGetItem": "Model.batch_get (users.login_state)",
        "dynamodb:ConditionCheckItem": "ConditionCheck in transactions (engine.Transaction.check)",
        "dynamodb:DeleteItem": (
            "Delete in transactions (movies.delete_movie and its counter shards;"
            " sessions.end: logout, ending a session)"
        ),
        "dynamodb:GetItem": "Model.get (engine.item_or_none): every read by key",
        "dynamodb:PutItem": "Put in transactions (movies.create_movie and its counter shards)",
        "dynamodb:Query": "Model.query: a movie's item collection (comments, shards, ratings)",
        "dynamodb:UpdateItem": (
            "Model.update (movies.update_movie, comments.edit_comment,"
            " users.record_failed_login); Update in transactions"
        ),
    },
    queries_indexes=True,  # Index.query: GSI1 (its shards) and GSI2 movie lists
    reads_jwt_key=True,  # signs tokens and cursors
)
JWT_AUTHORIZER = Function(
    name="jwt_authorizer",
    resource="JwtAuthorizer",
    # One consistent GetItem of the session's entry in its user's profile (botocore, not PynamoDB).
    table_actions={"dynamodb:GetItem": "client.get_item (session_check.is_live)"},
    reads_jwt_key=True,  # checks tokens
)
TABLE_STREAM = Function(
    name="table_stream",
    resource="TableStream",
    table_actions={
        "dynamodb:BatchWriteItem": "engine.batch_delete (changes.clean_up)",
        "dynamodb:ConditionCheckItem": "ConditionCheck in transactions (session_cleanup.clean)",
        "dynamodb:DeleteItem": (
            "Model.delete and Delete in a transaction (changes.clean_up: the cleanup marker;"
            " session_cleanup.clean: stale sessions)"
        ),
        "dynamodb:PutItem": (
            "Model.save and Put in a transaction (changes.clean_up: the next step's marker)"
        ),
        "dynamodb:Query": ("Model.query (changes.clean_up, ratings.counters, sessions.partition)"),
        "dynamodb:UpdateItem": "Model.update (changes.recount)",
    },
    reads_stream=True,
    sends_failed_batches=True,  # the event source mapping's on-failure queue
)
FUNCTIONS = (API_HANDLER, JWT_AUTHORIZER, TABLE_STREAM)

# How chalicelib/storage reaches DynamoDB: a pattern of its source, and the
# action that call needs. The test that the policies grant exactly the
# actions found there is a tripwire: a new kind of call (a BatchGetItem, a
# Scan) fails it until ``FUNCTIONS`` and the policy files say who may make it.
STORAGE_CALLS: dict[str, str] = {
    r"\.batch_get\(|\.batch_get_item\(": "dynamodb:BatchGetItem",
    r"\.batch_write\(|\.batch_write_item\(": "dynamodb:BatchWriteItem",
    r"\.check\(|\.condition_check\(": "dynamodb:ConditionCheckItem",
    r"\.delete\(|\.delete_item\(": "dynamodb:DeleteItem",
    r"\.describe_table\(|\.count\(": "dynamodb:DescribeTable",
    r"\bmodel\.get\(|Item\.get\(|\.get_item\(|TransactGet": "dynamodb:GetItem",
    r"\.save\(|\btx\.put\(|\.put_item\(": "dynamodb:PutItem",
    r"\.query\(": "dynamodb:Query",
    r"\.scan\(": "dynamodb:Scan",
    r"\.update\(|\.update_item\(": "dynamodb:UpdateItem",
}


@dataclass(frozen=True)
class Throttle:
    """API Gateway's token bucket for a method: ``rate`` requests a second, ``burst`` at once."""

    rate: int
    burst: int

    @classmethod
    def at(cls, rate: int) -> Throttle:
        """``rate`` with a burst of half of it, the ratio of AWS's account default."""
        return cls(rate, max(1, rate // 2))

    def within(self, cap: Throttle | None) -> Throttle:
        if cap is None:
            return self
        return Throttle(min(self.rate, cap.rate), min(self.burst, cap.burst))


@dataclass(frozen=True)
class Stage:
    """A deployed stage, as ``.chalice/config.json`` describes it.

    ``throttle_cap``, from the stage's ``api_throttling`` (``rate_limit``,
    ``burst_limit``), is the most any of its methods may take; none in prod.
    """

    name: str
    app_name: str
    table_name: str
    jwt_secret_parameter: str
    cors_allow_origin: str | None
    xray: bool
    throttle_cap: Throttle | None = None

    @property
    def protected(self) -> bool:
        return self.name in PROTECTED_STAGES

    def function_name(self, function: Function) -> str:
        """The name ``chalice deploy`` gives ``function``; the template uses it too."""
        base = f"{self.app_name}-{self.name}"
        return base if function is API_HANDLER else f"{base}-{function.name}"

    def policy_file(self, function: Function) -> str:
        return f"policy-{self.name}-{function.name}.json"


def load_config(path: Path = CONFIG_FILE) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(path.read_text())
    return config


def load_stage(name: str, config: Mapping[str, Any] | None = None) -> Stage:
    """The stage ``name`` of the Chalice config (top-level values as defaults)."""
    config = load_config() if config is None else config
    stage = config["stages"][name]
    env = {**config.get("environment_variables", {}), **stage.get("environment_variables", {})}
    return Stage(
        name=name,
        app_name=config["app_name"],
        table_name=env["TABLE_NAME"],
        jwt_secret_parameter=env["JWT_SECRET_PARAMETER"],
        cors_allow_origin=env.get("CORS_ALLOW_ORIGIN") or None,
        xray=bool(stage.get("xray", config.get("xray", False))),
        throttle_cap=_throttle(stage.get("api_throttling")),
    )


def _throttle(setting: Mapping[str, int] | None) -> Throttle | None:
    if setting is None:
        return None
    return Throttle(rate=int(setting["rate_limit"]), burst=int(setting["burst_limit"]))


# ---------------------------------------------------------------- merge template


def merge_template(stage: Stage) -> dict[str, Any]:
    """What ``chalice package --merge-template`` adds to Chalice's own template."""
    resources: dict[str, Any] = {TABLE: table_resource(stage), REST_API: rest_api_patch(stage)}
    for function in FUNCTIONS:
        resources[function.resource] = function_patch(stage, function)
    resources[TABLE_STREAM.resource]["Properties"]["Events"] = {
        STREAM_EVENT: {"Properties": stream_source_patch()}
    }
    harden(stage, resources)
    resources.update(firewall(stage))
    return {
        "Resources": resources,
        "Outputs": {"TableName": {"Value": {"Ref": TABLE}}},
    }


def table_resource(stage: Stage) -> dict[str, Any]:
    """``AWS::DynamoDB::Table`` from the CreateTable request the code uses everywhere."""
    properties = table_definition(stage.table_name)
    stream = properties.pop("StreamSpecification")  # CloudFormation takes only the view type
    properties.update(
        {
            "StreamSpecification": {"StreamViewType": stream["StreamViewType"]},
            "TimeToLiveSpecification": {"AttributeName": ttl_attribute_name(), "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "DeletionProtectionEnabled": stage.protected,
        }
    )
    policy = "Retain" if stage.protected else "Delete"  # what deleting the stack does to it
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": properties,
    }


def gateway_responses(stage: Stage) -> dict[str, Any]:
    """``x-amazon-apigateway-gateway-responses`` for every response in ``gateway.ALL``."""
    return {
        response.response_type: gateway_response(response, stage.cors_allow_origin)
        for response in gateway.ALL
    }


def gateway_response(response: gateway.GatewayResponse, cors_origin: str | None) -> dict[str, Any]:
    headers = {name: _static(value) for name, value in response.headers.items()}
    if cors_origin:
        headers["Access-Control-Allow-Origin"] = _static(cors_origin)
    headers["X-Request-Id"] = "context.requestId"
    rendered: dict[str, Any] = {
        "responseParameters": {f"gatewayresponse.header.{k}": v for k, v in headers.items()},
        "responseTemplates": {"application/json": response.body().decode()},
    }
    if response.status_code is not None:
        rendered["statusCode"] = str(response.status_code)
    return rendered


def _static(value: str) -> str:
    """A literal header value, which API Gateway wants in single quotes."""
    if "'" in value:
        raise ValueError(f"a gateway response header cannot contain a quote: {value!r}")
    return f"'{value}'"


def rest_api_patch(stage: Stage) -> dict[str, Any]:
    definition: dict[str, Any] = {"x-amazon-apigateway-gateway-responses": gateway_responses(stage)}
    paths: dict[str, Any] = cached_paths()
    if stage.cors_allow_origin:
        for path, operations in preflight_paths(stage.cors_allow_origin).items():
            paths.setdefault(path, {}).update(operations)
    definition["paths"] = paths
    return {
        "Properties": {
            "TracingEnabled": stage.xray,
            "DefinitionBody": definition,
            "CacheClusterEnabled": True,
            "CacheClusterSize": CACHE_CLUSTER_SIZE,
            "MethodSettings": method_settings(stage),
        }
    }


# ---------------------------------------------------------------- the stage cache

# Which public list pages API Gateway's stage cache serves and for how long live in
# ``chalicelib.gateway`` (CACHED_ROUTES, CACHE_TTL_SECONDS), where the app reads them too.
CACHE_CLUSTER_SIZE = "0.5"  # GB, the smallest: pages of at most 100 items, a short TTL
# The request header that also keys the cache. The contract echoes a caller's own
# X-Request-Id, so a cached answer must not carry another caller's: a client that sends
# one gets an answer of its own (and bypasses the cache, as any client can by varying its
# query; see docs/PERFORMANCE.md), and the clients that send none share one.
CACHE_KEY_HEADERS: tuple[str, ...] = ("X-Request-Id",)


def cached_operations() -> list[tuple[str, str, Operation]]:
    """The cached routes with their endpoint declarations; refuses a route that names a user."""
    from app import app

    found = []
    for path, method in CACHED_ROUTES:
        operation = operation_of(app.routes[path][method].view_function)
        if operation is None or operation.authenticated:
            raise ValueError(f"{method} {path}: only public endpoint routes may be cached")
        found.append((path, method, operation))
    return found


def cache_key_parameters(operation: Operation) -> list[tuple[str, str]]:
    """What keys a cached answer, as (location, name): the path ids, the query, a header."""
    query = list(operation.query.model_fields) if operation.query is not None else []
    return [
        *(("path", name) for name in operation.path_params),
        *(("querystring", name) for name in query),
        *(("header", name) for name in CACHE_KEY_HEADERS),
    ]


def cached_paths() -> dict[str, Any]:
    """Each cached operation's request parameters and its integration's cache keys.

    API Gateway keys a cached answer by the method's path only, unless the
    integration names the parameters to key it by, which the method must
    declare. The query parameters are the endpoint's query model's fields,
    so a new one is a cache key at once.
    """
    paths: dict[str, Any] = {}
    for path, method, operation in cached_operations():
        keys = cache_key_parameters(operation)
        parameters = [
            {
                "name": name,
                "in": "query" if where == "querystring" else where,
                "required": where == "path",
                "type": "string",
            }
            for where, name in keys
        ]
        paths.setdefault(path, {})[method.lower()] = {
            "parameters": parameters,
            "x-amazon-apigateway-integration": {
                "cacheKeyParameters": [f"method.request.{where}.{name}" for where, name in keys],
            },
        }
    return paths


def method_settings(stage: Stage) -> list[dict[str, Any]]:
    """One entry per method: its cache (off but for the cached pages) and its throttling.

    The first entry (``/*`` ``*``) is the stage's default: caching off (a
    stage cache turns it on for every GET) and ``DEFAULT_THROTTLE``. Every
    method the stage cache serves or ``route_throttles`` names has one entry
    of its own with all of its settings, so that none is left to a default.
    """
    throttles = route_throttles()
    routes = dict.fromkeys([*CACHED_ROUTES, *throttles])
    every = _method_setting("/*", "*", DEFAULT_THROTTLE.within(stage.throttle_cap), cached=False)
    return [every] + [
        _method_setting(
            "/" + path.replace("/", "~1"),
            method,
            throttles.get((path, method), DEFAULT_THROTTLE).within(stage.throttle_cap),
            cached=(path, method) in CACHED_ROUTES,
        )
        for path, method in routes
    ]


def _method_setting(path: str, method: str, throttle: Throttle, *, cached: bool) -> dict[str, Any]:
    setting: dict[str, Any] = {
        "ResourcePath": path,
        "HttpMethod": method,
        "CachingEnabled": cached,
        "CacheDataEncrypted": True,
        "ThrottlingRateLimit": throttle.rate,
        "ThrottlingBurstLimit": throttle.burst,
    }
    if cached:
        setting["CacheTtlInSeconds"] = CACHE_TTL_SECONDS
    return setting


# ---------------------------------------------------------------- throttling

# API Gateway's stage and method limits count every client together (a per-client limit
# needs API keys; the web ACL below limits per address instead): they bound what one
# route can take of the account's request quota, of Lambda's concurrency and of
# DynamoDB, whoever sends it. The account's own quota per region (10,000 requests a
# second, a burst of 5,000, by default; raised through Service Quotas) applies on top
# and is lower than the goal's 400,000 a second: raise it with the traffic.

# Every method not named below: what AWS gives an account by default, so that no one
# ordinary route (a profile, a session, a comment, the docs) can take more than that.
DEFAULT_THROTTLE = Throttle(10_000, 5_000)

# The goal's rate of each route it names, in requests a second: bench.scale.Workload's
# 100,000 rating changes (40% first ratings and 40% re-rates are POSTs, 20% deletes)
# and 300,000 reads (30% details, 18% GET /movies pages: 10% plain, 5% top rated,
# 3% of a genre; 5% searches, 5% owners' lists, 15% averages, 12% comment pages, 15%
# rating pages). The seed's detail path is allowed what the detail is.
# tests/test_template_protection.py holds these to the model's workload.
GOAL_RATES: dict[tuple[str, str], int] = {
    ("/movies/{movie_id}", "GET"): 90_000,
    ("/movie/{movie_id}", "GET"): 90_000,
    ("/movies", "GET"): 54_000,
    ("/movies/search", "GET"): 15_000,
    ("/movies/user", "GET"): 15_000,
    ("/movies/{movie_id}/ratings/average", "GET"): 45_000,
    ("/movies/{movie_id}/comments", "GET"): 36_000,
    ("/movies/{movie_id}/ratings", "GET"): 45_000,
    ("/movies/{movie_id}/ratings", "POST"): 80_000,
    ("/movies/{movie_id}/ratings", "DELETE"): 20_000,
}
# Each is allowed twice its goal rate: the goal fits with room for a peak of twice it.
GOAL_HEADROOM = 2

# Password hashing: argon2id takes about 0.1 s of a 512 MB function (docs/PERFORMANCE.md),
# a password change two of them. Each of these routes may keep at most HASHING_CONCURRENCY
# functions busy (as many as Lambda keeps unreserved in any account), so a flood of
# logins is answered 429 instead of taking the concurrency every other route needs.
HASHING_CONCURRENCY = 100
HASHING_SECONDS: dict[tuple[str, str], float] = {
    ("/signup", "POST"): 0.1,
    ("/login", "POST"): 0.1,
    ("/users/me/password", "PUT"): 0.2,
}

# Every change to a movie is work for the stream consumer (its list entries, or its
# cleanup), which has room for CONSUMER_MOVIE_BATCHES a second (bound by the hottest
# list key: docs/PERFORMANCE.md, "Discovery") of which the goal's rating changes take
# GOAL_MOVIE_BATCHES. The routes that change a movie share what is left: 100 a second
# each, 30 each for the seed's three (490 in all, about 8 million movie changes a day).
CONSUMER_MOVIE_BATCHES = 1_000
GOAL_MOVIE_BATCHES = 503
MOVIE_CHANGES: dict[tuple[str, str], int] = {
    ("/movies", "POST"): 100,
    ("/movies/{movie_id}", "PUT"): 100,
    ("/movies/{movie_id}", "PATCH"): 100,
    ("/movies/{movie_id}", "DELETE"): 100,
    ("/new_movies", "POST"): 30,
    ("/movie_update/{movie_id}", "PUT"): 30,
    ("/movie_delete/{movie_id}", "DELETE"): 30,
}


def route_throttles() -> dict[tuple[str, str], Throttle]:
    """The methods whose limits are not the default: the goal's, the hashing, the movie changes."""
    throttles = {route: Throttle.at(rate * GOAL_HEADROOM) for route, rate in GOAL_RATES.items()}
    for route, seconds in HASHING_SECONDS.items():
        throttles[route] = Throttle.at(round(HASHING_CONCURRENCY / seconds))
    throttles.update({route: Throttle.at(rate) for route, rate in MOVIE_CHANGES.items()})
    return throttles


def preflight_paths(origin: str) -> dict[str, Any]:
    """An ``OPTIONS`` mock integration per path, answering CORS preflights.

    API Gateway answers them itself (no Lambda call, no authorizer) with
    the same headers the app's ``chalicelib.http.middleware.preflight_headers`` gives locally.
    """
    from app import app

    return {
        path: {"options": preflight_operation(cors_preflight_headers(methods, origin))}
        for path, methods in app.routes.items()
    }


def preflight_operation(headers: Mapping[str, str]) -> dict[str, Any]:
    return {
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "responses": {
            "204": {
                "description": "CORS preflight",
                "headers": {name: {"type": "string"} for name in headers},
            }
        },
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "passthroughBehavior": "when_no_match",
            "requestTemplates": {"application/json": '{"statusCode": 204}'},
            "responses": {
                "default": {
                    "statusCode": "204",
                    "responseParameters": {
                        f"method.response.header.{name}": _static(value)
                        for name, value in headers.items()
                    },
                }
            },
        },
    }


def function_patch(stage: Stage, function: Function) -> dict[str, Any]:
    return {
        "Properties": {
            "FunctionName": stage.function_name(function),
            "Environment": {"Variables": {"TABLE_STREAM_ARN": STREAM_ARN}},
        }
    }


def stream_source_patch() -> dict[str, Any]:
    """The table's real stream, in batches, delivering only what the handler acts on.

    The handler answers ``batchItemFailures``, so Lambda retries from the
    first failed record instead of the whole batch.
    """
    filters = [{"Pattern": json.dumps(pattern)} for pattern in FILTER_PATTERNS]
    return {
        "Stream": STREAM_ARN,
        "BatchSize": streams.BATCH_SIZE,
        "MaximumBatchingWindowInSeconds": streams.BATCHING_WINDOW_SECONDS,
        "FilterCriteria": {"Filters": filters},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }


# ---------------------------------------------------------------- the web ACL

WEB_ACL = "ApiFirewall"
WEB_ACL_ASSOCIATION = "ApiFirewallAssociation"
# AWS WAF counts a rate-based rule's requests per client address over a sliding window
# (60, 120, 300 or 600 s) and blocks an address while its count is over the limit.
RATE_WINDOW_SECONDS = 300
# Every request of one address. A person reading and rating makes well under one request
# a second, and the model's raters at most one change a second; 20 a second for five
# minutes on end is a script, or some twenty people busy at once behind one NAT address.
CLIENT_RATE_LIMIT = 6_000
# Pages with an offset (or skip) of 100 or more, per address: the reads the stage cache
# cannot hold for a hostile client. Such a page reads every row it skips from each of
# GET /movies' two index shards (offset 10,000 at limit 100: about 20,000 movie items,
# 1,000 read units and more), and every new offset is a new cache key. A seed client
# walking all 10,000 rows a page of 100 at a time asks 100 of them; one a second for five
# minutes, three such walks, is more than an honest one needs.
DEEP_PAGE_RATE_LIMIT = 300
# In the whole query string (URL-decoded): an ``offset`` or ``skip`` whose value starts
# with three digits, that is 100 and deeper. The app takes plain decimal digits only
# (``chalicelib.schemas.pages.decimal_digits``), so every deep offset it reads is
# spelled so; and matching anywhere in the query string counts a repeated argument
# whichever occurrence the app reads (the last).
DEEP_PAGE_PATTERN = "(^|&)(offset|skip)=[0-9]{3}"
TOO_MANY_REQUESTS = "too-many-requests"  # the custom response body's key
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"


def firewall(stage: Stage) -> dict[str, Any]:
    """An AWS WAF web ACL on the API's stage: rate rules per client address, known bad inputs.

    A blocked address gets the contract's 429 (the body of API Gateway's own
    throttling answer) with ``Retry-After`` set to the rule's window; a request
    AWS's known-bad-inputs rules match (Log4Shell lookups, Java deserialisation,
    exploitable paths) gets WAF's 403 as the ``WAF_FILTERED`` gateway response.
    """
    rules = [
        _rate_rule(stage, "requests-per-client", 0, CLIENT_RATE_LIMIT),
        _rate_rule(stage, "deep-pages-per-client", 1, DEEP_PAGE_RATE_LIMIT, _deep_page()),
        {
            "Name": "known-bad-inputs",
            "Priority": 2,
            "OverrideAction": {"None": {}},  # the group's own Block actions stand
            "Statement": {
                "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": KNOWN_BAD_INPUTS}
            },
            "VisibilityConfig": _visibility(stage, "known-bad-inputs"),
        },
    ]
    web_acl = {
        "Type": "AWS::WAFv2::WebACL",
        "Properties": {
            "Name": f"{stage.app_name}-{stage.name}",
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "CustomResponseBodies": {
                TOO_MANY_REQUESTS: {
                    "ContentType": "APPLICATION_JSON",
                    "Content": gateway.THROTTLED.body().decode(),
                }
            },
            "Rules": rules,
            "VisibilityConfig": _visibility(stage, "all"),
        },
    }
    association = {
        "Type": "AWS::WAFv2::WebACLAssociation",
        "Properties": {
            # The stage SAM makes of Chalice's API (``RestAPI.Stage`` is its name).
            "ResourceArn": {
                "Fn::Sub": (
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}::"
                    "/restapis/${RestAPI}/stages/${RestAPI.Stage}"
                )
            },
            "WebACLArn": {"Fn::GetAtt": [WEB_ACL, "Arn"]},
        },
    }
    return {WEB_ACL: web_acl, WEB_ACL_ASSOCIATION: association}


def _rate_rule(
    stage: Stage, name: str, priority: int, limit: int, scope: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Limit": limit,
        "EvaluationWindowSec": RATE_WINDOW_SECONDS,
        "AggregateKeyType": "IP",
    }
    if scope is not None:
        statement["ScopeDownStatement"] = scope
    headers = [{"Name": "Retry-After", "Value": str(RATE_WINDOW_SECONDS)}]
    if stage.cors_allow_origin:
        headers.append({"Name": "Access-Control-Allow-Origin", "Value": stage.cors_allow_origin})
    return {
        "Name": name,
        "Priority": priority,
        "Action": {
            "Block": {
                "CustomResponse": {
                    "ResponseCode": gateway.THROTTLED.status_code,
                    "CustomResponseBodyKey": TOO_MANY_REQUESTS,
                    "ResponseHeaders": headers,
                }
            }
        },
        "Statement": {"RateBasedStatement": statement},
        "VisibilityConfig": _visibility(stage, name),
    }


def _deep_page() -> dict[str, Any]:
    """A request with an ``offset`` or ``skip`` of three digits or more (``DEEP_PAGE_PATTERN``)."""
    return {
        "RegexMatchStatement": {
            "RegexString": DEEP_PAGE_PATTERN,
            "FieldToMatch": {"QueryString": {}},
            "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}],
        }
    }


def _visibility(stage: Stage, metric: str) -> dict[str, Any]:
    """CloudWatch metrics (AWS/WAFV2) and the console's sampled requests, per rule."""
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": f"{stage.app_name}-{stage.name}-{metric}",
    }


# ---------------------------------------------------------------- checkov

ACCESS_LOGS = "ApiAccessLogs"
FAILURE_QUEUE = "TableStreamFailures"
LOG_RETENTION_DAYS = 365
# One JSON object per request in the access log: API Gateway's request id (also the
# app's X-Request-Id unless the caller sent one), the route, the status and the latencies.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "request_id": "$context.requestId",
        "extended_request_id": "$context.extendedRequestId",
        "time": "$context.requestTimeEpoch",
        "ip": "$context.identity.sourceIp",
        "method": "$context.httpMethod",
        "route": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "latency_ms": "$context.responseLatency",
        "integration_latency_ms": "$context.integrationLatency",
        "response_bytes": "$context.responseLength",
        "error": "$context.error.responseType",
        "principal": "$context.authorizer.principalId",
    },
    separators=(",", ":"),
)
# Concurrency each function may take at most, per stage: a runaway (a flood of requests,
# a retry storm) then throttles instead of taking the account's whole Lambda concurrency
# and DynamoDB's on-demand bill with it. The authorizer runs at most once per request.
# Only in dev: in prod any reservation small enough to matter caps the scale goal
# (PROD_CONCURRENCY_WAIVER), so the account's concurrency quota is the ceiling there.
RESERVED_CONCURRENCY = {
    "dev": {"api_handler": 10, "jwt_authorizer": 10, "table_stream": 2},
}
PROD_CONCURRENCY_WAIVER = {
    "CKV_AWS_115": (
        "A reservation is a ceiling: at about 20 ms a request, 200 concurrent API functions"
        " serve about 10,000 requests a second, a tenth of the 100,000 rating changes a"
        " second the table is laid out for, and the stream handler runs one batch per"
        " stream shard at once, so capping it below the shard count lets the lists' copy"
        " fall behind without bound. In prod the account's concurrency quota is the"
        " ceiling, watched with CloudWatch alarms on throttles and on the stream's"
        " iterator age; dev keeps its reservations."
    ),
}
# How the stream handler gives up on a batch: halve it to isolate the record that
# fails, retry each half a bounded number of times, never past the stream's 24 hours,
# then send the batch's description to the queue (kept for 14 days) and move on.
STREAM_FAILURE_HANDLING = {
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 10,
    "MaximumRecordAgeInSeconds": 86400,
}
QUEUE_RETENTION_SECONDS = 14 * 24 * 3600

# The findings of checkov this template does not fix, with the reason, put in the
# Metadata of each resource they concern so that every waiver is in the template.
FUNCTION_WAIVERS = {
    "CKV_AWS_116": (
        "A dead-letter queue catches failed asynchronous invocations; nothing invokes these"
        " functions asynchronously: API Gateway calls the API and the authorizer"
        " synchronously, and the stream handler's failed batches go to its event source"
        f" mapping's on-failure queue ({FAILURE_QUEUE})."
    ),
    "CKV_AWS_117": (
        "The functions reach only DynamoDB and SSM, through their public endpoints with"
        " IAM and TLS; there is no private resource to reach, and a VPC would add NAT or"
        " interface endpoints (cost) and ENI set-up to cold starts for nothing."
    ),
    "CKV_AWS_173": (
        "The environment holds no secret (stage, table name, the JWT key's parameter name;"
        " the key itself is an SSM SecureString); Lambda encrypts it at rest with its"
        " AWS managed key, which is enough for names."
    ),
}
WAIVERS: dict[str, dict[str, str]] = {
    TABLE: {
        "CKV_AWS_119": (
            "Encrypted at rest with the AWS managed key (aws/dynamodb). A customer managed"
            " key adds a key policy to keep right, a monthly cost and a way to lock the API"
            " out of its own data; take one when a compliance regime asks for customer"
            " control of the key."
        ),
    },
    ACCESS_LOGS: {
        "CKV_AWS_158": (
            "CloudWatch Logs encrypts every log group at rest; these lines hold request ids,"
            " routes, statuses and client addresses, never bodies or tokens, so a customer"
            " managed key would add a key policy and cost without protecting a secret."
        ),
    },
    **{function.resource: FUNCTION_WAIVERS for function in FUNCTIONS},
}


def stage_waivers(stage: Stage) -> dict[str, dict[str, str]]:
    waivers = dict(WAIVERS)
    if not stage.xray:
        untraced = f"Tracing is off in {stage.name} by choice (xray in config.json)."
        waivers[REST_API] = {**WAIVERS.get(REST_API, {}), "CKV_AWS_73": untraced}
    if stage.name not in RESERVED_CONCURRENCY:
        for function in FUNCTIONS:
            waivers[function.resource] = {**waivers[function.resource], **PROD_CONCURRENCY_WAIVER}
    return waivers


def failure_queue_name(stage: Stage) -> str:
    return f"{stage.app_name}-{stage.name}-table_stream-failures"


def harden(stage: Stage, resources: dict[str, Any]) -> None:
    """What checkov asks for that matters here, and the waivers for the rest, into ``resources``.

    API Gateway's access log (one JSON line per request) in a log group kept a year;
    the stream handler's on-failure queue and retry bounds; reserved concurrency in dev.
    """
    resources[ACCESS_LOGS] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Retain" if stage.protected else "Delete",
        "UpdateReplacePolicy": "Retain" if stage.protected else "Delete",
        "Properties": {
            "LogGroupName": f"/aws/apigateway/{stage.app_name}-{stage.name}/access",
            "RetentionInDays": LOG_RETENTION_DAYS,
        },
    }
    resources[REST_API]["Properties"]["AccessLogSetting"] = {
        "DestinationArn": {"Fn::GetAtt": [ACCESS_LOGS, "Arn"]},
        "Format": ACCESS_LOG_FORMAT,
    }
    resources[FAILURE_QUEUE] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": failure_queue_name(stage),
            "MessageRetentionPeriod": QUEUE_RETENTION_SECONDS,
            # SQS's AWS managed key: its key policy lets the account's principals that may
            # use the queue use the key through SQS, so the role needs no KMS grant.
            "KmsMasterKeyId": "alias/aws/sqs",
        },
    }
    stream_source = resources[TABLE_STREAM.resource]["Properties"]["Events"][STREAM_EVENT]
    stream_source["Properties"].update(
        {
            **STREAM_FAILURE_HANDLING,
            "DestinationConfig": {
                "OnFailure": {"Destination": {"Fn::GetAtt": [FAILURE_QUEUE, "Arn"]}}
            },
        }
    )
    for function in FUNCTIONS:
        reserved = RESERVED_CONCURRENCY.get(stage.name, {}).get(function.name)
        if reserved is not None:
            resources[function.resource]["Properties"]["ReservedConcurrentExecutions"] = reserved
    for logical_id, waivers in stage_waivers(stage).items():
        skips = [{"id": check, "comment": reason} for check, reason in sorted(waivers.items())]
        resources[logical_id].setdefault("Metadata", {})["checkov"] = {"skip": skips}


# ---------------------------------------------------------------- IAM


def policy(stage: Stage, function: Function) -> dict[str, Any]:
    """The least-privilege policy of ``function`` in ``stage``.

    ARNs leave region and account as ``*`` (the file cannot know them) and
    name everything else.
    """
    table = _arn("dynamodb", f"table/{stage.table_name}")
    statements: list[dict[str, Any]] = []
    if function.table_actions:
        statements.append(_statement("Table", function.table_actions, [table]))
    if function.queries_indexes:
        statements.append(_statement("Indexes", ["dynamodb:Query"], [f"{table}/index/*"]))
    if function.reads_stream:
        statements.append(_statement("TableStream", STREAM_READ_ACTIONS, [f"{table}/stream/*"]))
    if function.reads_jwt_key:
        statements.extend(_jwt_key_statements(stage.jwt_secret_parameter))
    if function.sends_failed_batches:
        queue = _arn("sqs", failure_queue_name(stage))
        statements.append(_statement("FailedBatches", ["sqs:SendMessage"], [queue]))
    group = _arn("logs", f"log-group:/aws/lambda/{stage.function_name(function)}")
    statements.append(_statement("Logs", LOG_ACTIONS, [group, f"{group}:*"]))
    if stage.xray:
        statements.append(_statement(XRAY_STATEMENT, XRAY_ACTIONS, ["*"]))
    return {"Version": POLICY_VERSION, "Statement": statements}


def _jwt_key_statements(parameter_name: str) -> list[dict[str, Any]]:
    """Read the one SecureString, and decrypt it only through SSM, only for it."""
    parameter = _arn("ssm", "parameter/" + parameter_name.lstrip("/"))
    decrypt_condition = {
        "StringLike": {
            "kms:ViaService": "ssm.*.amazonaws.com",
            "kms:EncryptionContext:PARAMETER_ARN": parameter,
        }
    }
    return [
        _statement("JwtKey", ["ssm:GetParameter"], [parameter]),
        _statement("JwtKeyDecrypt", ["kms:Decrypt"], [_arn("kms", "key/*")], decrypt_condition),
    ]


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:*:*:{resource}"


def _statement(
    sid: str,
    actions: Mapping[str, str] | tuple[str, ...] | list[str],
    resources: list[str],
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def write_policies(stages: tuple[str, ...] = DEPLOYED_STAGES) -> list[Path]:
    """Write every deployed stage's per-function policy files; return their paths."""
    config = load_config()
    written = []
    for name in stages:
        stage = load_stage(name, config)
        for function in FUNCTIONS:
            path = CHALICE_DIR / stage.policy_file(function)
            path.write_text(json.dumps(policy(stage, function), indent=2) + "\n")
            written.append(path)
    return written


# ---------------------------------------------------------------- packaging


def package(stage: Stage, out: Path) -> Path:
    """Write the merge template into ``out`` and run ``chalice package`` there."""
    out.mkdir(parents=True, exist_ok=True)
    merge = out / MERGE_TEMPLATE
    merge.write_text(json.dumps(merge_template(stage), indent=2) + "\n")
    command = [
        str(Path(sys.executable).with_name("chalice")),
        "package",
        "--stage",
        stage.name,
        "--merge-template",
        str(merge),
        str(out),
    ]
    env = dict(os.environ)
    if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
        env["AWS_DEFAULT_REGION"] = PACKAGING_REGION
    subprocess.run(command, cwd=PROJECT_DIR, env=env, check=True)
    lambda_package.prune(out / "deployment.zip")  # what no function imports
    packaged = out / PACKAGED_TEMPLATE
    check_merged(json.loads(packaged.read_text()), merge_template(stage))
    return packaged


def check_merged(packaged: Mapping[str, Any], merge: Mapping[str, Any]) -> None:
    """Fail if a patch found no resource of Chalice's to merge into (a renamed id)."""
    resources = packaged["Resources"]
    for logical_id in merge["Resources"]:
        if "Type" not in resources.get(logical_id, {}):
            raise RuntimeError(
                f"{logical_id} is not in Chalice's template: "
                "the merge template patched nothing (did Chalice rename it?)"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.package", description=__doc__)
    parser.add_argument("--stage", choices=DEPLOYED_STAGES, default="dev")
    parser.add_argument("--out", type=Path, help="output directory (default: dist/<stage>)")
    parser.add_argument(
        "--write-policies",
        action="store_true",
        help="write .chalice/policy-<stage>-<function>.json for every deployed stage, then stop",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.write_policies:
        for path in write_policies():
            print(f"wrote {path.relative_to(PROJECT_DIR)}")  # noqa: T201
        return 0
    out = args.out or PROJECT_DIR / "dist" / args.stage
    packaged = package(load_stage(args.stage), out)
    code = packaged.with_name("deployment.zip")
    print(f"{packaged} and {code} ({code.stat().st_size / 1e6:.1f} MB)")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
