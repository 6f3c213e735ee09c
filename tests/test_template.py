"""The deploy template's additions: the table, gateway responses, functions, CORS, caching.

These check the merge template from the code; CI runs ``chalice package``
and cfn-lint on both stages (``make lint-template``). What checkov asks of
the template is in ``test_template_checkov.py``, the IAM policies and the
Lambda package in ``test_package.py``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from chalicelib import gateway
from chalicelib.storage.table import table_definition, ttl_attribute_name
from devtools import package
from tests.helpers.template import resources

STREAM_ARN = {"Fn::GetAtt": ["MoviesTable", "StreamArn"]}
TABLE_INDEX_KEYS = (
    "TableName",
    "BillingMode",
    "KeySchema",
    "AttributeDefinitions",
    "GlobalSecondaryIndexes",
)


def table(stage: package.Stage) -> dict[str, Any]:
    table: dict[str, Any] = resources(stage)[package.TABLE]
    return table


def responses(stage: package.Stage) -> dict[str, Any]:
    definition = resources(stage)[package.REST_API]["Properties"]["DefinitionBody"]
    responses: dict[str, Any] = definition["x-amazon-apigateway-gateway-responses"]
    return responses


# ---------------------------------------------------------------- the table


def test_the_table_has_the_keys_and_indexes_of_the_models(stage: package.Stage) -> None:
    expected = table_definition(stage.table_name)
    properties = table(stage)["Properties"]
    assert {key: properties[key] for key in TABLE_INDEX_KEYS} == {
        key: expected[key] for key in TABLE_INDEX_KEYS
    }
    assert properties["StreamSpecification"] == {
        "StreamViewType": expected["StreamSpecification"]["StreamViewType"]
    }


def test_the_table_is_the_stage_table_on_demand(stage: package.Stage) -> None:
    config = package.load_config()["stages"][stage.name]
    properties = table(stage)["Properties"]
    assert properties["TableName"] == config["environment_variables"]["TABLE_NAME"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


def test_the_table_expires_items_and_is_recoverable_and_encrypted(stage: package.Stage) -> None:
    properties = table(stage)["Properties"]
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": ttl_attribute_name(),
        "Enabled": True,
    }
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}


def test_only_the_prod_table_is_protected_from_deletion() -> None:
    prod = table(package.load_stage("prod"))
    dev = table(package.load_stage("dev"))
    assert prod["Properties"]["DeletionProtectionEnabled"] is True
    assert (prod["DeletionPolicy"], prod["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert dev["Properties"]["DeletionProtectionEnabled"] is False
    assert (dev["DeletionPolicy"], dev["UpdateReplacePolicy"]) == ("Delete", "Delete")


# ---------------------------------------------------------------- gateway responses


def test_every_gateway_response_has_its_status_and_contract_body(stage: package.Stage) -> None:
    found = responses(stage)
    assert set(found) == {response.response_type for response in gateway.ALL}
    for response in gateway.ALL:
        rendered = found[response.response_type]
        if response.status_code is None:  # the catch-alls keep API Gateway's own status
            assert "statusCode" not in rendered
        else:
            assert rendered["statusCode"] == str(response.status_code)
        body = rendered["responseTemplates"]["application/json"]
        assert json.loads(body) == {"detail": response.detail}
        parameters = rendered["responseParameters"]
        for name, value in response.headers.items():
            assert parameters[f"gatewayresponse.header.{name}"] == f"'{value}'"
        assert parameters["gatewayresponse.header.X-Request-Id"] == "context.requestId"


def test_a_401_from_the_gateway_asks_for_a_bearer_token(stage: package.Stage) -> None:
    unauthorized = responses(stage)["UNAUTHORIZED"]
    assert unauthorized["statusCode"] == "401"
    assert unauthorized["responseParameters"]["gatewayresponse.header.WWW-Authenticate"] == (
        "'Bearer'"
    )
    assert responses(stage)["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"


def test_gateway_responses_carry_the_stage_cors_origin_only_when_set(
    stage: package.Stage,
) -> None:
    header = "gatewayresponse.header.Access-Control-Allow-Origin"
    without = responses(dataclasses.replace(stage, cors_allow_origin=None))
    with_origin = responses(dataclasses.replace(stage, cors_allow_origin="https://app.example"))
    for response in gateway.ALL:
        assert header not in without[response.response_type]["responseParameters"]
        assert (
            with_origin[response.response_type]["responseParameters"][header]
            == "'https://app.example'"
        )


# ---------------------------------------------------------------- functions


def test_the_table_has_no_local_secondary_index(stage: package.Stage) -> None:
    """An LSI would pin each movie's item collection to one partition (and 10 GB)."""
    assert "LocalSecondaryIndexes" not in table(stage)["Properties"]


def test_the_stream_handler_gets_the_records_it_acts_on_in_batches(
    stage: package.Stage,
) -> None:
    events = resources(stage)[package.TABLE_STREAM.resource]["Properties"]["Events"]
    source = events[package.STREAM_EVENT]["Properties"]
    assert source["Stream"] == STREAM_ARN
    patterns = [json.loads(f["Pattern"]) for f in source["FilterCriteria"]["Filters"]]
    assert patterns == [
        {"eventName": ["MODIFY"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "RATING#C#"}]}}}},
        {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"sk": {"S": ["MOVIE"]}}}},
        {"eventName": ["REMOVE"], "dynamodb": {"Keys": {"sk": {"S": ["MOVIE"]}}}},
        {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "CLEANUP#"}]}}}},
        {
            "eventName": ["INSERT", "MODIFY"],
            "dynamodb": {"Keys": {"sk": {"S": ["SESSIONS_ENDED"]}}},
        },
    ]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (source["BatchSize"], source["MaximumBatchingWindowInSeconds"]) == (10_000, 20)


def test_every_function_knows_the_stream_and_has_its_chalice_deploy_name() -> None:
    dev = package.load_stage("dev")
    names = {}
    for function in package.FUNCTIONS:
        properties = resources(dev)[function.resource]["Properties"]
        assert properties["Environment"]["Variables"]["TABLE_STREAM_ARN"] == STREAM_ARN
        names[function.name] = properties["FunctionName"]
    assert names == {
        "api_handler": "movie-listing-api-dev",
        "jwt_authorizer": "movie-listing-api-dev-jwt_authorizer",
        "table_stream": "movie-listing-api-dev-table_stream",
    }


def test_tracing_is_on_in_prod_and_off_in_dev() -> None:
    prod, dev = package.load_stage("prod"), package.load_stage("dev")
    assert (prod.xray, dev.xray) == (True, False)
    assert resources(prod)[package.REST_API]["Properties"]["TracingEnabled"] is True
    assert resources(dev)[package.REST_API]["Properties"]["TracingEnabled"] is False


def test_deployed_stages_name_the_jwt_key_parameter_never_the_key(stage: package.Stage) -> None:
    variables = package.load_config()["stages"][stage.name]["environment_variables"]
    assert variables["JWT_SECRET_PARAMETER"].startswith(f"/movie-listing-api/{stage.name}/")
    assert "JWT_SECRET" not in variables


# ---------------------------------------------------------------- CORS preflights


def definition(stage: package.Stage) -> dict[str, Any]:
    body: dict[str, Any] = resources(stage)[package.REST_API]["Properties"]["DefinitionBody"]
    return body


def test_without_a_cors_origin_the_api_answers_no_preflights(stage: package.Stage) -> None:
    assert stage.cors_allow_origin is None
    paths = definition(stage).get("paths", {})
    assert not [path for path, operations in paths.items() if "options" in operations]


def test_with_a_cors_origin_every_path_answers_preflights_without_lambda(
    stage: package.Stage,
) -> None:
    from app import app

    cors_stage = dataclasses.replace(stage, cors_allow_origin="https://movies.example")
    paths = definition(cors_stage)["paths"]
    assert set(paths) == set(app.routes)
    for path, methods in app.routes.items():
        operation = paths[path]["options"]
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["type"] == "mock"
        assert "security" not in operation  # a preflight carries no token
        parameters = integration["responses"]["default"]["responseParameters"]
        assert parameters["method.response.header.Access-Control-Allow-Origin"] == (
            "'https://movies.example'"
        )
        allowed = parameters["method.response.header.Access-Control-Allow-Methods"]
        assert set(allowed.strip("'").split(", ")) == {*methods, "OPTIONS"}
        declared = operation["responses"]["204"]["headers"]
        assert {f"method.response.header.{name}" for name in declared} == set(parameters)


# ---------------------------------------------------------------- the authorizer's cache


def test_api_gateway_caches_an_authorizer_result_for_at_most_a_minute() -> None:
    """An ended session's access tokens keep working deployed for at most this long."""
    from chalice.deploy.swagger import TemplatedSwaggerGenerator

    from app import app

    swagger = TemplatedSwaggerGenerator().generate_swagger(app)
    authorizer = swagger["securityDefinitions"]["jwt_authorizer"]["x-amazon-apigateway-authorizer"]
    assert 0 < authorizer["authorizerResultTtlInSeconds"] <= 60
