"""The table's stream, delivered to the app's stream consumer as Lambda would.

The capacity model has to charge the background work too: what the stream
consumer does per batch. ``StreamTap`` reads the records the recorded
requests produced from the embedded engine's stream (moto implements
DescribeStream, GetShardIterator and GetRecords), keeps those the deployed
event source mapping's filter lets through, and invokes the consumer with
them as one batch, through ``chalice.test.Client``'s Lambda client. The
mapping's settings (function, batch size, batching window, filter) are read
from the code that deploys it: the Chalice event source and the deploy
template's patch of it (``devtools.package.stream_source_patch``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from chalice.app import Chalice, DynamoDBEventConfig
from chalice.test import Client

POLLS_PER_SECOND = 4
"""Lambda polls a stream shard four times a second when no batching window is set."""

_MISSING = object()


@dataclass(frozen=True)
class StreamMapping:
    """How Lambda delivers the table's stream to the consumer."""

    function: str
    batch_size: int
    window_seconds: float
    filters: tuple[Mapping[str, Any], ...]

    def passes(self, record: Mapping[str, Any]) -> bool:
        """Whether the mapping's filter criteria let ``record`` through (no filter: all)."""
        return not self.filters or any(matches(pattern, record) for pattern in self.filters)

    def batches_per_second(self, changes_per_second: float) -> float:
        """How often one movie's records reach the consumer, at most.

        The batching window holds records back until it ends (or the batch is
        full); without one Lambda polls a few times a second. Never more often
        than the records come.
        """
        if changes_per_second <= 0:
            return 0.0
        per_window = 1 / self.window_seconds if self.window_seconds else POLLS_PER_SECOND
        return min(changes_per_second, max(per_window, changes_per_second / self.batch_size))


def stream_mapping(app: Chalice) -> StreamMapping | None:
    """The deployed mapping of the table's stream (``None``: the app has no consumer)."""
    from devtools.package import stream_source_patch

    sources = [source for source in app.event_sources if isinstance(source, DynamoDBEventConfig)]
    if not sources:
        return None
    (source,) = sources
    patch = stream_source_patch()
    criteria = patch.get("FilterCriteria", {}).get("Filters", [])
    return StreamMapping(
        function=source.name,
        batch_size=int(patch.get("BatchSize", source.batch_size)),
        window_seconds=float(
            patch.get("MaximumBatchingWindowInSeconds", source.maximum_batching_window_in_seconds)
        ),
        filters=tuple(json.loads(entry["Pattern"]) for entry in criteria),
    )


# ---------------------------------------------------------------- filter patterns


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Lambda's event filtering: every field of ``pattern`` must match ``event``."""
    for name, rule in pattern.items():
        value = event.get(name, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(rule, Mapping):
            if not matches(rule, value):
                return False
        elif not any(_matches_one(choice, value) for choice in rule):
            return False
    return True


def _matches_one(rule: Any, value: Any) -> bool:
    if not isinstance(rule, Mapping):
        return bool(value == rule)
    if "exists" in rule:
        return (value is not _MISSING) == bool(rule["exists"])
    if "prefix" in rule:
        return isinstance(value, str) and value.startswith(rule["prefix"])
    if "anything-but" in rule:
        excluded = rule["anything-but"]
        excluded = excluded if isinstance(excluded, list) else [excluded]
        return value is not _MISSING and value not in excluded
    raise ValueError(f"filter rule not modelled here: {rule!r}")


# ---------------------------------------------------------------- the tap


class StreamTap:
    """Reads the table's stream from where it last stopped (moto, in-process)."""

    def __init__(self, table_name: str, region: str) -> None:
        dynamodb = boto3.client("dynamodb", region_name=region)
        self._arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._streams = boto3.client(
            "dynamodbstreams",
            region_name=region,
            endpoint_url=f"https://streams.dynamodb.{region}.amazonaws.com",
        )
        self._iterators: dict[str, str] = {}

    def skip(self) -> None:
        """Forget what is in the stream so far (setup the model does not charge)."""
        self.records()

    def records(self) -> list[dict[str, Any]]:
        """The records written since the last call, in order, shaped as Lambda sends them."""
        found: list[dict[str, Any]] = []
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            found += self._read_shard(shard["ShardId"])
        return [_as_lambda_sends(record, self._arn) for record in found]

    def _read_shard(self, shard_id: str) -> list[dict[str, Any]]:
        iterator = (
            self._iterators.get(shard_id)
            or self._streams.get_shard_iterator(
                StreamArn=self._arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )
        found: list[dict[str, Any]] = []
        while iterator:
            page = self._streams.get_records(ShardIterator=iterator)
            self._iterators[shard_id] = iterator = page.get("NextShardIterator", "")
            if not page["Records"]:
                break
            found += page["Records"]
        return found


def _as_lambda_sends(record: Mapping[str, Any], arn: str) -> dict[str, Any]:
    """botocore parsed the creation time into a datetime; Lambda sends epoch seconds."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": change, "eventSourceARN": arn}


def deliver(client: Client, mapping: StreamMapping, records: Sequence[Mapping[str, Any]]) -> int:
    """Invoke the consumer once with the records its filter passes; how many it got."""
    passed = [dict(record) for record in records if mapping.passes(record)]
    if passed:
        client.lambda_.invoke(mapping.function, {"Records": passed})
    return len(passed)
