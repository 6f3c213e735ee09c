"""What checkov asks of the deploy template, and every waiver with its reason."""

from __future__ import annotations

import json

from devtools import package
from tests.helpers.template import policy_file, resources

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
