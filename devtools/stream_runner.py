"""The table's stream into the stream handler, locally, as Lambda's event source mapping does.

On AWS, the event source mapping polls each shard of the table's stream,
keeps the records its filter passes, gathers them into batches (up to the
batch size, or for up to the batching window), invokes the function, and
when it fails retries: the whole batch if the function raised, or from the
lowest sequence number it reported in ``batchItemFailures``. Records are
delivered at least once, in order within a shard, and a batch that keeps
failing is given up after a number of retries (on AWS, to the failure
destination). ``StreamRunner`` does the same against the embedded engine's
stream (moto implements DescribeStream, GetShardIterator and GetRecords),
so ``make run`` and the tests see what the deployed API would: list
counters that catch up, and deleted movies' comments and ratings gone.

``make run`` runs it in a background thread (``start``); the tests call
``drain`` to deliver everything there is, synchronously, and ``redeliver``
to hand a batch over again as Lambda may.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import streams
from chalicelib.storage.changes import FILTER_PATTERNS

log = logging.getLogger("devtools.stream_runner")

Record = dict[str, Any]
Handler = Callable[[dict[str, Any]], Any]
MAX_RETRIES = 5
POLL_SECONDS = 0.2


def matches(pattern: Mapping[str, Any], value: Any) -> bool:
    """Whether a record passes one of Lambda's filter patterns (the part of the syntax used here).

    A pattern is a dict of fields, each either a nested pattern or a list
    of accepted values: exact strings or numbers, or ``{"prefix": ...}``.
    """
    if not isinstance(value, Mapping):
        return False
    for name, wanted in pattern.items():
        if name not in value:
            return False
        if isinstance(wanted, Mapping):
            if not matches(wanted, value[name]):
                return False
        elif not any(_accepts(option, value[name]) for option in wanted):
            return False
    return True


def _accepts(option: Any, value: Any) -> bool:
    if isinstance(option, Mapping) and "prefix" in option:
        return isinstance(value, str) and value.startswith(option["prefix"])
    return bool(option == value)


@dataclass
class StreamRunner:
    """Polls a DynamoDB stream and feeds a Lambda-style handler batches of filtered records."""

    client: Any  # a boto3 "dynamodbstreams" client
    stream_arn: str
    handler: Handler
    batch_size: int = streams.BATCH_SIZE
    window_seconds: float = streams.LOCAL_BATCHING_WINDOW_SECONDS
    max_retries: int = MAX_RETRIES
    patterns: Iterable[Mapping[str, Any]] = FILTER_PATTERNS
    retry_delay_seconds: float = 0.0
    clock: Callable[[], float] = time.monotonic
    checkpoints: dict[str, str] = field(default_factory=dict)  # shard: last sequence read
    pending: dict[str, list[Record]] = field(default_factory=dict)
    waiting_since: dict[str, float] = field(default_factory=dict)
    delivered: list[list[Record]] = field(default_factory=list)
    given_up: list[list[Record]] = field(default_factory=list)

    # -------------------------------------------------------- reading the stream

    def poll(self) -> int:
        """Read every new record of every shard; keep those the filter passes. How many read.

        Each poll asks for a fresh iterator after the last sequence number read,
        as Lambda checkpoints by sequence number: an iterator is not kept
        between polls (on AWS they expire; in moto, one made before a cancelled
        transaction's rollback goes on reading a copy of the stream that no
        longer grows).
        """
        read = 0
        shards = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in shards["Shards"]:
            read += self._read_shard(shard["ShardId"])
        return read

    def _iterator(self, shard_id: str) -> str:
        position: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if shard_id in self.checkpoints:
            position = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "SequenceNumber": self.checkpoints[shard_id],
            }
        answer = self.client.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, **position
        )
        return str(answer["ShardIterator"])

    def _read_shard(self, shard_id: str) -> int:
        read = 0
        iterator: str | None = self._iterator(shard_id)
        while iterator is not None:
            answer = self.client.get_records(ShardIterator=iterator, Limit=1000)
            iterator = answer.get("NextShardIterator")
            records = answer["Records"]
            if not records:
                break
            read += len(records)
            self.checkpoints[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
            kept = [self._as_lambda_gets_it(r) for r in records]
            kept = [r for r in kept if any(matches(p, r) for p in self.patterns)]
            if kept:
                self.pending.setdefault(shard_id, []).extend(kept)
                self.waiting_since.setdefault(shard_id, self.clock())
        return read

    def _as_lambda_gets_it(self, record: Record) -> Record:
        """boto3 parses the creation time into a datetime; Lambda sends epoch seconds."""
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = created.timestamp()
        return {**record, "dynamodb": dynamodb, "eventSourceARN": self.stream_arn}

    # -------------------------------------------------------- delivering batches

    def due(self, shard_id: str) -> bool:
        """A full batch is waiting, or the first waiting record has waited out the window."""
        waiting = self.pending.get(shard_id, [])
        if len(waiting) >= self.batch_size:
            return True
        started = self.waiting_since.get(shard_id)
        if not waiting or started is None:
            return False
        return self.clock() - started >= self.window_seconds

    def deliver_due(self) -> int:
        """Deliver every batch that is due; how many were delivered."""
        count = 0
        for shard_id in list(self.pending):
            while self.due(shard_id):
                self.deliver(shard_id)
                count += 1
        return count

    def deliver(self, shard_id: str) -> None:
        """Hand the shard's next batch to the handler, retrying as Lambda does until done."""
        waiting = self.pending[shard_id]
        batch, self.pending[shard_id] = waiting[: self.batch_size], waiting[self.batch_size :]
        if self.pending[shard_id]:
            self.waiting_since[shard_id] = self.clock()
        else:
            self.waiting_since.pop(shard_id, None)
        retries = 0
        while batch:
            failed_from = self._invoke(batch)
            if failed_from is None:
                return
            if retries == self.max_retries:
                log.error("stream batch given up", extra={"fields": {"records": len(batch)}})
                self.given_up.append(batch[failed_from:])
                return
            retries += 1
            batch = batch[failed_from:]
            time.sleep(self.retry_delay_seconds)

    def _invoke(self, batch: list[Record]) -> int | None:
        """Run the handler on ``batch``; the index to retry from, or ``None`` if all went well."""
        self.delivered.append(batch)
        try:
            answer = self.handler({"Records": batch})
        except Exception:  # Lambda retries a batch whose function raised, whole
            log.exception("stream batch failed")
            return 0
        failures = (answer or {}).get("batchItemFailures") or []
        if not failures:
            return None
        failed = {int(failure["itemIdentifier"]) for failure in failures}
        numbers = [int(record["dynamodb"]["SequenceNumber"]) for record in batch]
        return numbers.index(min(failed & set(numbers))) if failed & set(numbers) else 0

    def drain(self) -> int:
        """Deliver everything the stream holds now, window or not; how many batches (tests)."""
        batches = 0
        while True:
            self.poll()
            if not any(self.pending.values()):
                return batches
            for shard_id in list(self.pending):
                while self.pending[shard_id]:
                    self.deliver(shard_id)
                    batches += 1

    def redeliver(self, batch: list[Record]) -> Any:
        """Hand ``batch`` to the handler again, as an at-least-once delivery may (tests)."""
        self.delivered.append(batch)
        return self.handler({"Records": batch})

    # -------------------------------------------------------- in the background

    def run(self, stop: threading.Event, poll_seconds: float = POLL_SECONDS) -> None:
        """Poll and deliver until ``stop`` is set; errors are logged and polling goes on."""
        while not stop.is_set():
            try:
                self.poll()
                self.deliver_due()
            except Exception:  # a dev server keeps serving; the next poll tries again
                log.exception("stream polling failed")
            stop.wait(poll_seconds)

    def start(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), daemon=True, name="stream")
        thread.start()
        return thread, stop


def table_stream_arn(dynamodb: Any, table_name: str) -> str:
    """The table's current stream, from a boto3 ``dynamodb`` client."""
    return str(dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"])
