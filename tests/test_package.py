"""The deploy template's additions, the IAM policies, and what the Lambda package holds.

The template tests check the merge template from the code; CI runs
``chalice package`` and cfn-lint on both stages (``make lint-template``). The
package tests build the real ``deployment.zip`` once (``chalice package``,
then ``devtools.lambda_package.prune``) and run each function from it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import gateway
from chalicelib.storage.table import table_definition, ttl_attribute_name
from devtools import lambda_package, package

STREAM_ARN = {"Fn::GetAtt": ["MoviesTable", "StreamArn"]}
TABLE_INDEX_KEYS = (
    "TableName",
    "BillingMode",
    "KeySchema",
    "AttributeDefinitions",
    "GlobalSecondaryIndexes",
)


@pytest.fixture(params=package.DEPLOYED_STAGES)
def stage(request: pytest.FixtureRequest) -> package.Stage:
    return package.load_stage(request.param)


def resources(stage: package.Stage) -> dict[str, Any]:
    resources: dict[str, Any] = package.merge_template(stage)["Resources"]
    return resources


def table(stage: package.Stage) -> dict[str, Any]:
    table: dict[str, Any] = resources(stage)[package.TABLE]
    return table


def responses(stage: package.Stage) -> dict[str, Any]:
    definition = resources(stage)[package.REST_API]["Properties"]["DefinitionBody"]
    responses: dict[str, Any] = definition["x-amazon-apigateway-gateway-responses"]
    return responses


def policy_file(stage: package.Stage, function: package.Function) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (package.CHALICE_DIR / stage.policy_file(function)).read_text()
    )
    return document


def table_grants(stage: package.Stage, function: package.Function) -> set[str]:
    """The DynamoDB actions ``function``'s policy file grants on the table and its indexes."""
    return {
        action
        for statement in policy_file(stage, function)["Statement"]
        if statement["Sid"] in ("Table", "Indexes")
        for action in statement["Action"]
    }


def storage_calls() -> set[str]:
    """The actions the storage code's calls need, by ``package.STORAGE_CALLS``."""
    source = "\n".join(
        path.read_text() for path in (package.PROJECT_DIR / "chalicelib" / "storage").glob("*.py")
    )
    return {
        action for pattern, action in package.STORAGE_CALLS.items() if re.search(pattern, source)
    }


def statements(stage: package.Stage) -> list[dict[str, Any]]:
    return [
        statement
        for function in package.FUNCTIONS
        for statement in policy_file(stage, function)["Statement"]
    ]


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


# ---------------------------------------------------------------- IAM


def test_each_function_uses_its_own_policy_file(stage: package.Stage) -> None:
    config = package.load_config()["stages"][stage.name]["lambda_functions"]
    for function in package.FUNCTIONS:
        assert config[function.name]["iam_policy_file"] == stage.policy_file(function)


def test_the_policy_files_are_the_generated_policies(stage: package.Stage) -> None:
    for function in package.FUNCTIONS:
        assert policy_file(stage, function) == package.policy(stage, function), (
            f"{stage.policy_file(function)} is stale: run `make policies`"
        )


def test_policies_grant_exactly_the_dynamodb_actions_the_storage_code_calls(
    stage: package.Stage,
) -> None:
    granted: set[str] = set()
    for function in package.FUNCTIONS:
        grants = table_grants(stage, function)
        index_queries = {"dynamodb:Query"} if function.queries_indexes else set()
        assert grants == set(function.table_actions) | index_queries
        granted |= grants
    assert granted == storage_calls()


def test_no_policy_grants_table_metadata_scans_or_wildcard_actions(stage: package.Stage) -> None:
    every_action = {action for statement in statements(stage) for action in statement["Action"]}
    assert every_action.isdisjoint({"dynamodb:DescribeTable", "dynamodb:Scan"})
    assert not any(action.endswith("*") for action in every_action)


def test_only_the_stream_handler_reads_the_stream_and_the_authorizer_only_gets_items(
    stage: package.Stage,
) -> None:
    def sids(function: package.Function) -> set[str]:
        return {statement["Sid"] for statement in policy_file(stage, function)["Statement"]}

    assert "TableStream" in sids(package.TABLE_STREAM)
    assert "TableStream" not in sids(package.API_HANDLER) | sids(package.JWT_AUTHORIZER)
    assert "Indexes" not in sids(package.JWT_AUTHORIZER)
    assert table_grants(stage, package.JWT_AUTHORIZER) == {"dynamodb:GetItem"}
    assert "JwtKey" not in sids(package.TABLE_STREAM)


def test_no_statement_grants_every_resource_except_x_ray(stage: package.Stage) -> None:
    for statement in statements(stage):
        if "*" in statement["Resource"]:
            assert statement["Sid"] == package.XRAY_STATEMENT
            assert set(statement["Action"]) <= set(package.XRAY_ACTIONS)


def test_x_ray_may_be_written_only_where_tracing_is_on(stage: package.Stage) -> None:
    traced = [s for s in statements(stage) if s["Sid"] == package.XRAY_STATEMENT]
    assert len(traced) == (len(package.FUNCTIONS) if stage.xray else 0)


def test_the_jwt_key_is_decrypted_only_through_ssm_for_its_parameter(
    stage: package.Stage,
) -> None:
    parameter = f"arn:aws:ssm:*:*:parameter{stage.jwt_secret_parameter}"
    for statement in statements(stage):
        if statement["Sid"] == "JwtKey":
            assert statement["Resource"] == [parameter]
        if statement["Sid"] == "JwtKeyDecrypt":
            assert statement["Condition"]["StringLike"] == {
                "kms:ViaService": "ssm.*.amazonaws.com",
                "kms:EncryptionContext:PARAMETER_ARN": parameter,
            }


# ---------------------------------------------------------------- checkov's asks


def test_api_gateway_logs_each_request_with_its_id_latency_and_status(
    stage: package.Stage,
) -> None:
    found = resources(stage)
    setting = found[package.REST_API]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": [package.ACCESS_LOGS, "Arn"]}
    line = json.loads(setting["Format"])  # one JSON object per request
    assert {key: line[key] for key in ("request_id", "status", "latency_ms", "route")} == {
        "request_id": "$context.requestId",
        "status": "$context.status",
        "latency_ms": "$context.responseLatency",
        "route": "$context.resourcePath",
    }
    group = found[package.ACCESS_LOGS]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == 365


def test_failed_stream_batches_are_bisected_bounded_and_kept_in_a_queue(
    stage: package.Stage,
) -> None:
    found = resources(stage)
    events = found[package.TABLE_STREAM.resource]["Properties"]["Events"]
    source = events[package.STREAM_EVENT]["Properties"]
    assert source["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [package.FAILURE_QUEUE, "Arn"]}}
    }
    assert source["BisectBatchOnFunctionError"] is True
    assert 0 < source["MaximumRetryAttempts"] <= 10
    assert source["MaximumRecordAgeInSeconds"] <= 86400  # the stream keeps records a day
    queue = found[package.FAILURE_QUEUE]["Properties"]
    assert queue["QueueName"] == f"movie-listing-api-{stage.name}-table_stream-failures"
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["KmsMasterKeyId"] == "alias/aws/sqs"


def test_only_the_stream_handler_may_send_to_the_failure_queue(stage: package.Stage) -> None:
    queue = f"arn:aws:sqs:*:*:{package.failure_queue_name(stage)}"
    for function in package.FUNCTIONS:
        sends = [
            s for s in policy_file(stage, function)["Statement"] if s["Sid"] == "FailedBatches"
        ]
        if function is package.TABLE_STREAM:
            assert sends == [
                {
                    "Sid": "FailedBatches",
                    "Effect": "Allow",
                    "Action": ["sqs:SendMessage"],
                    "Resource": [queue],
                }
            ]
        else:
            assert sends == []


def test_in_dev_every_function_has_reserved_concurrency_the_authorizer_as_much_as_the_api(
    stage: package.Stage,
) -> None:
    found = resources(stage)
    reserved = {
        function.name: found[function.resource]["Properties"].get("ReservedConcurrentExecutions")
        for function in package.FUNCTIONS
    }
    if stage.name != "dev":  # a reservation would cap the scale goal (its checkov waiver)
        assert set(reserved.values()) == {None}
        return
    assert all(value is not None and value > 0 for value in reserved.values())
    assert reserved["jwt_authorizer"] == reserved["api_handler"]


def test_every_checkov_waiver_is_in_the_resource_metadata_with_its_reason(
    stage: package.Stage,
) -> None:
    waived = {
        logical_id: {
            skip["id"]: skip["comment"] for skip in resource["Metadata"]["checkov"]["skip"]
        }
        for logical_id, resource in resources(stage).items()
        if "checkov" in resource.get("Metadata", {})
    }
    function_waivers = {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
    if stage.name not in package.RESERVED_CONCURRENCY:  # prod: a reservation would cap it
        function_waivers.add("CKV_AWS_115")
    expected = {
        **({} if stage.xray else {package.REST_API: {"CKV_AWS_73"}}),
        package.TABLE: {"CKV_AWS_119"},
        package.ACCESS_LOGS: {"CKV_AWS_158"},
        **{function.resource: function_waivers for function in package.FUNCTIONS},
    }
    assert {logical_id: set(skips) for logical_id, skips in waived.items()} == expected
    for skips in waived.values():
        assert all(len(reason) > 40 for reason in skips.values())


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


# ---------------------------------------------------------------- the Lambda package


@pytest.fixture(scope="module")
def deployment_zip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The dev stage's ``deployment.zip``, as ``make package`` builds it (both stages share it)."""
    out = tmp_path_factory.mktemp("package")
    package.package(package.load_stage("dev"), out)
    yield out / "deployment.zip"


@pytest.fixture(scope="module")
def imported(deployment_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    return lambda_package.imported_modules(deployment_zip, tmp_path_factory.mktemp("unzipped"))


def entries(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as opened:
        return opened.namelist()


def test_every_module_in_the_package_is_imported_by_some_function(
    deployment_zip: Path, imported: dict[str, set[str]]
) -> None:
    """Each function ran from the unzipped package alone, through its lazy imports too."""
    assert set(imported) == {function.name for function in package.FUNCTIONS}
    used = set().union(*imported.values())
    assert lambda_package.top_level_modules(deployment_zip) - used == set()
    assert used <= lambda_package.top_level_modules(deployment_zip)


def test_the_authorizer_and_the_stream_handler_load_no_web_or_hashing_code(
    imported: dict[str, set[str]],
) -> None:
    assert imported["jwt_authorizer"].isdisjoint({"pynamodb", "pydantic", "passlib", "argon2"})
    assert imported["table_stream"].isdisjoint({"pydantic", "passlib", "argon2", "jwt"})
    assert {"sentry_sdk", "passlib", "argon2", "email_validator"} <= imported["api_handler"]


def test_the_package_has_no_web_framework_wheel_data_or_pruned_module(
    deployment_zip: Path,
) -> None:
    firsts = {entry.split("/", 1)[0] for entry in entries(deployment_zip)}
    tops = lambda_package.top_level_modules(deployment_zip)
    assert tops.isdisjoint({"fastapi", "fastapi_offline", "starlette", "anyio", "opentelemetry"})
    assert tops.isdisjoint(lambda_package.UNUSED)
    assert not [first for first in firsts if first.endswith(".data")]
    assert not [first for first in firsts if first.startswith(("dnspython-", "pycparser-"))]


def test_the_package_ships_the_docs_assets_with_their_licences(deployment_zip: Path) -> None:
    names = set(entries(deployment_zip))
    for file in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert f"chalicelib/docs_assets/{file}" in names
    for licence in ("swagger-ui-dist/LICENSE", "swagger-ui-dist/NOTICE", "redoc/LICENSE"):
        assert f"chalicelib/docs_assets/licenses/{licence}" in names


def test_pruning_drops_the_modules_wheel_data_and_orphaned_dist_info(tmp_path: Path) -> None:
    archive = tmp_path / "deployment.zip"
    files = {
        "keep/__init__.py": "",
        "keep-1.0.dist-info/RECORD": "keep/__init__.py,,\n",
        "gone/__init__.py": "",
        "gone/sub.py": "",
        "gone-1.0.dist-info/RECORD": "gone/__init__.py,,\ngone/sub.py,,\n",
        "half/__init__.py": "",
        "_half_backend.so": "",
        "half-1.0.dist-info/RECORD": "half/__init__.py,,\n_half_backend.so,,\n",
        "tool-1.0.data/scripts/tool": "",
    }
    with zipfile.ZipFile(archive, "w") as opened:
        for name, text in files.items():
            opened.writestr(name, text)
    dropped = lambda_package.prune(archive, {"gone": "unused", "half": "unused"})
    assert dropped == ["gone", "gone-1.0.dist-info", "half", "tool-1.0.data"]
    assert set(entries(archive)) == {
        "keep/__init__.py",
        "keep-1.0.dist-info/RECORD",
        "_half_backend.so",
        "half-1.0.dist-info/RECORD",
    }


# ---------------------------------------------------------------- the authorizer's cache


def test_api_gateway_caches_an_authorizer_result_for_at_most_a_minute() -> None:
    """An ended session's access tokens keep working deployed for at most this long."""
    from chalice.deploy.swagger import TemplatedSwaggerGenerator

    from app import app

    swagger = TemplatedSwaggerGenerator().generate_swagger(app)
    authorizer = swagger["securityDefinitions"]["jwt_authorizer"]["x-amazon-apigateway-authorizer"]
    assert 0 < authorizer["authorizerResultTtlInSeconds"] <= 60
