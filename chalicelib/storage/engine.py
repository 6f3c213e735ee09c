"""The shared machinery: the connection, ids, and transactions that retry.

Transactions are the only multi-item writes. ``Transaction`` labels every
action, so a cancelled transaction says *which* condition failed
(``ConditionFailed.labels``) instead of a list index.

Retries happen in two layers, never both for one failure. botocore retries
every call itself: PynamoDB sets its "standard" mode, 4 attempts with
full-jitter backoff (from 1 s when throttled, 25 ms otherwise), on
throttling, 5xx answers and timeouts, resending the same request, so a
transaction's ``ClientRequestToken`` makes a resend of one that did land
harmless. What reaches the app after that is final: ``unavailable`` turns
it into a 503 with ``Retry-After`` (``chalicelib.http``). botocore does not
retry a cancelled transaction, so ``commit`` retries the cancellations that
ask for it (``TransactionConflict``, a throttled item) with the same token,
and ``batch_get`` asks again for unprocessed keys; both with backoff, a
bounded number of times.
"""

from __future__ import annotations

import itertools
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib import failures
from chalicelib.settings import get_settings
from chalicelib.storage.table import TableItem, configure, forget_configuration

T = TypeVar("T")
ItemT = TypeVar("ItemT", bound=TableItem)
U = TypeVar("U")

ID_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
ID_RANDOM_BITS = 12
MAX_ATTEMPTS = 6
BASE_DELAY_SECONDS = 0.025
MAX_DELAY_SECONDS = 0.5
RETRYABLE_REASONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
# Answers botocore has already retried by the time PynamoDB raises them (any 5xx too).
UNAVAILABLE_ERRORS = frozenset(
    {
        "TransactionInProgressException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)

sleep: Callable[[float], None] = time.sleep
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dynamodb")


@lru_cache(maxsize=1)
def table_connection() -> TableConnection:
    """The one connection every model and transaction uses (built on first use)."""
    return configure(get_settings())


def connection() -> Connection:
    return table_connection().connection


def build_client() -> None:
    """Build the botocore client here, before calls fan out to other threads.

    PynamoDB builds it on first use from a per-thread botocore session, so
    the first calls of a fresh process made from two threads at once would
    each build one (about 90 ms apiece on a whole core).
    """
    _ = connection().client


def at_once(*calls: Callable[[], T]) -> list[T]:
    """Run ``calls`` concurrently, so a request waits for one round trip; their results.

    Waits for every call even when one fails: a call left running would
    outlive the request (in Lambda, into the next one), still retrying.
    Calls must not themselves use ``at_once`` (the pool is small and shared).
    """
    if len(calls) <= 1:
        return [call() for call in calls]
    build_client()
    futures: list[Future[T]] = [_pool.submit(call) for call in calls]
    wait(futures)
    return [future.result() for future in futures]


def both(first: Callable[[], T], second: Callable[[], U]) -> tuple[T, U]:
    """``at_once`` for two calls of different types."""
    build_client()
    one, two = _pool.submit(first), _pool.submit(second)
    pending: list[Future[Any]] = [one, two]
    wait(pending)
    return one.result(), two.result()


def reset() -> None:
    """Forget the connection, so the next call reads the settings again (tests)."""
    table_connection.cache_clear()
    forget_configuration()


def new_id() -> int:
    """A time-ordered id below 2**53: 41 bits of milliseconds, 12 random bits.

    No shared counter item (which every create would write); a clash is
    possible only within one millisecond (1 in 4,096) and is caught by the
    ``attribute_not_exists`` condition on the write, which retries.
    """
    millis = int(time.time() * 1000) - ID_EPOCH_MS
    return (millis << ID_RANDOM_BITS) | secrets.randbits(ID_RANDOM_BITS)


class ConditionFailed(Exception):
    """A transaction was cancelled because these labelled conditions failed."""

    def __init__(self, labels: set[str]) -> None:
        self.labels = labels
        super().__init__(", ".join(sorted(labels)))


@dataclass
class Transaction:
    """A TransactWrite whose actions carry names.

    DynamoDB reports cancellation reasons in request order, and PynamoDB
    orders the request as condition checks, deletes, puts, updates; the
    labels are kept in that same order.
    """

    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    _checks: list[tuple[str, Callable[[TransactWrite], None]]] = field(default_factory=list)
    _deletes: list[tuple[str, Callable[[TransactWrite], None]]] = field(default_factory=list)
    _puts: list[tuple[str, Callable[[TransactWrite], None]]] = field(default_factory=list)
    _updates: list[tuple[str, Callable[[TransactWrite], None]]] = field(default_factory=list)

    def check(
        self, label: str, model: type[TableItem], key: tuple[str, str], condition: Condition
    ) -> None:
        self._checks.append(
            (label, lambda tx: tx.condition_check(model, *key, condition=condition))
        )

    def delete(self, label: str, item: TableItem, condition: Condition | None = None) -> None:
        self._deletes.append((label, lambda tx: tx.delete(item, condition=condition)))

    def put(self, label: str, item: TableItem, condition: Condition | None = None) -> None:
        self._puts.append((label, lambda tx: tx.save(item, condition=condition)))

    def update(
        self,
        label: str,
        item: TableItem,
        actions: Sequence[Action],
        condition: Condition | None = None,
    ) -> None:
        self._updates.append(
            (label, lambda tx: tx.update(item, actions=list(actions), condition=condition))
        )

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self._checks + self._deletes + self._puts + self._updates]

    def commit(self) -> None:
        """Write all actions or none; ``ConditionFailed`` names the failed ones.

        A cancellation DynamoDB asks to retry (a conflict with another
        transaction, a throttled item) is sent again with the same token,
        after a backoff; ``failures.Unavailable`` once the tries run out.
        """
        retry(self._send, again=_cancelled_for_a_retry, exhausted=failures.Unavailable)

    def _send(self) -> None:
        try:
            with TransactWrite(connection=connection(), client_request_token=self.token) as tx:
                for _, add in self._checks + self._deletes + self._puts + self._updates:
                    add(tx)
        except TransactWriteError as exc:
            failed = self._failed_labels(exc)
            if failed:
                raise ConditionFailed(failed) from exc
            raise

    def _failed_labels(self, exc: TransactWriteError) -> set[str]:
        reasons = exc.cancellation_reasons or []
        return {
            label
            for label, reason in zip(self.labels, reasons, strict=False)
            if reason is not None and reason.code == "ConditionalCheckFailed"
        }


def backoff(attempt: int) -> None:
    """Sleep a random time up to an exponentially growing cap (full jitter)."""
    sleep(random.uniform(0, min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt)))


def _cancelled_for_a_retry(exc: Exception) -> bool:
    """A cancellation DynamoDB asks to retry (a conflict, a throttled item); botocore does not."""
    if not isinstance(exc, TransactWriteError):
        return False
    reasons = exc.cancellation_reasons or []
    return any(reason is not None and reason.code in RETRYABLE_REASONS for reason in reasons)


def condition_failed(exc: PynamoDBException) -> bool:
    """Whether a single-item write was refused by its condition.

    Not ``exc.cause_response_code``: PynamoDB's property raises
    ``AttributeError`` when the cause is a timeout, which has no answer.
    """
    cause = exc.cause
    return (
        isinstance(cause, ClientError)
        and cause.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


def out_of_reach(exc: BaseException) -> bool:
    """Whether ``exc`` is DynamoDB having stayed throttled, failing or silent.

    botocore has retried these already (see the module's docstring), so the
    caller should come back later rather than the app retrying again now
    (``failures.Unavailable`` says the same of the app's own retries).
    """
    cause = exc.cause if isinstance(exc, PynamoDBException) else exc
    if isinstance(cause, HTTPClientError | BotocoreConnectionError):
        return True
    if isinstance(cause, ClientError):
        error = cause.response.get("Error", {})
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.get("Code") in UNAVAILABLE_ERRORS or status >= 500 or _backfilling(error)
    return False


def _backfilling(error: dict[str, Any]) -> bool:
    """An index still being built: DynamoDB refuses to read it (a new GSI, after an upgrade)."""
    return error.get("Code") == "ValidationException" and "backfilling" in str(
        error.get("Message", "")
    )


def retry(
    attempt: Callable[[], T],
    *,
    again: Callable[[Exception], bool],
    tries: int = MAX_ATTEMPTS,
    pause: bool = True,
    exhausted: Callable[[], Exception] | None = None,
) -> T:
    """Run ``attempt`` until it returns, at most ``tries`` times: the one retry loop.

    An exception that ``again`` accepts runs it again, after a full-jitter
    ``backoff`` unless ``pause`` is off; any other goes up at once. When the
    tries run out, ``exhausted()`` is raised from the last exception, or
    without ``exhausted`` the last exception itself goes up.
    """
    for number in range(tries):
        try:
            return attempt()
        except Exception as exc:
            if not again(exc):
                raise
            if number == tries - 1:
                if exhausted is None:
                    raise
                raise exhausted() from exc
            if pause:
                backoff(number)
    raise ValueError(f"tries must be at least 1, not {tries}")


def with_fresh_ids(attempt: Callable[[], T], *, clash_label: str, tries: int = 3) -> T:
    """Run ``attempt`` again, at once, if its new id clashed with an existing item."""

    def clashed(exc: Exception) -> bool:
        return isinstance(exc, ConditionFailed) and exc.labels == {clash_label}

    return retry(attempt, again=clashed, tries=tries, pause=False)


def retry_on_race(attempt: Callable[[], T], *, tries: int = MAX_ATTEMPTS) -> T:
    """Re-run a read-then-write ``attempt`` whose guard lost a race.

    ``attempt`` raises ``RaceLost`` when a condition that pinned what it read
    failed: something changed in between, so read again and retry.
    """
    return retry(
        attempt,
        again=lambda exc: isinstance(exc, RaceLost),
        tries=tries,
        exhausted=failures.Unavailable,
    )


class RaceLost(Exception):
    """What a read-then-write read was changed before the write landed."""


def updated(item: TableItem, actions: Sequence[Action], condition: Condition) -> bool:
    """One conditional UpdateItem of ``item``: ``True`` if it was written, ``False`` if its
    condition failed (``item`` then keeps what it had); any other error goes up."""
    try:
        item.update(list(actions), condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def item_or_none(model: type[ItemT], key: tuple[str, str]) -> ItemT | None:
    """A consistent GetItem of ``key``, as ``model``, or ``None``."""
    try:
        return model.get(*key, consistent_read=True)
    except model.DoesNotExist:
        return None


BATCH_WRITE_ITEMS = 25  # DynamoDB's limit per BatchWriteItem


def batch_delete(keys: Iterable[tuple[str, str]], *, tries: int = MAX_ATTEMPTS) -> int:
    """Delete ``keys`` with BatchWriteItem, 25 a call; how many were sent (``batch_write``)."""
    return batch_write((), keys, tries=tries)


def batch_write(
    puts: Iterable[TableItem],
    deletes: Iterable[tuple[str, str]] = (),
    *,
    tries: int = MAX_ATTEMPTS,
) -> int:
    """Put ``puts`` and delete ``deletes`` with BatchWriteItem, 25 a call; how many were sent.

    DynamoDB answers a batch it throttled in part with ``UnprocessedItems``.
    PynamoDB's ``batch_write`` sends those again at once, three times, and
    then raises an error that says nothing of throttling. This sends them
    again after a full-jitter backoff, ``tries`` times, then answers 503, as
    ``batch_get`` does. Whole puts and deletes are idempotent, so a resent
    one is harmless; callers must not put the same key twice in one call.
    """
    table = table_connection()
    requests: Iterator[dict[str, Any]] = itertools.chain(
        ({"PutRequest": {"Item": item.serialize()}} for item in puts),
        ({"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in deletes),
    )
    sent = 0
    while chunk := list(itertools.islice(requests, BATCH_WRITE_ITEMS)):
        sent += _write_chunk(table, chunk, tries)
    return sent


class Unprocessed(Exception):
    """DynamoDB left part of a batch unprocessed: send the rest again."""


def _write_chunk(table: TableConnection, requests: list[dict[str, Any]], tries: int) -> int:
    pending = requests

    def send() -> None:
        nonlocal pending
        puts = [request["PutRequest"]["Item"] for request in pending if "PutRequest" in request]
        deletes = [
            request["DeleteRequest"]["Key"] for request in pending if "DeleteRequest" in request
        ]
        data = table.batch_write_item(put_items=puts, delete_items=deletes)
        pending = data.get("UnprocessedItems", {}).get(table.table_name, [])
        if pending:
            raise Unprocessed()

    retry(send, again=_unprocessed, tries=tries, exhausted=failures.Unavailable)
    return len(requests)


def _unprocessed(exc: Exception) -> bool:
    return isinstance(exc, Unprocessed)


def batch_get(keys: Sequence[tuple[str, str]], *, tries: int = MAX_ATTEMPTS) -> list[Any]:
    """A consistent BatchGetItem of up to 100 ``keys``: the items found, as their models.

    DynamoDB answers a batch it throttled in part with ``UnprocessedKeys``
    and asks for them again after a backoff. PynamoDB's ``Model.batch_get``
    asks again at once, for as long as they come back, so a throttled table
    would spin the request until Lambda's timeout. This asks ``tries`` times
    with full-jitter backoff, then answers 503.
    """
    table = table_connection()
    pending: Any = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys]
    found: list[Any] = []

    def ask() -> None:
        nonlocal pending
        data = table.batch_get_item(pending, consistent_read=True)
        read = data.get("Responses", {}).get(table.table_name, [])
        found.extend(TableItem.from_raw_data(raw) for raw in read)
        pending = data.get("UnprocessedKeys", {}).get(table.table_name, {}).get("Keys")
        if pending:
            raise Unprocessed()

    retry(ask, again=_unprocessed, tries=tries, exhausted=failures.Unavailable)
    return found
