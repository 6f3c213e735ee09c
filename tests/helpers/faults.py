"""DynamoDB faults injected at the boto layer, underneath botocore's own retries.

``DynamoFaults`` takes the place of moto's ``before-send`` handler in the
app's botocore client. Each HTTP attempt either goes on to moto or meets a
planned fault: an error answer (throttling, a 500, a cancelled transaction,
unprocessed keys) or a timeout raised the way botocore's HTTP layer raises
it. Being at ``before-send`` rather than ``before-call``, every fault passes
through botocore's retry handler exactly as a real one would, so a test sees
how often botocore retried and what reached the app after it gave up.

``lands=True`` lets moto apply the request first and then loses its answer
(a timeout or a 500 after the write took effect). DynamoDB remembers a
``TransactWriteItems`` ``ClientRequestToken`` for ten minutes and answers a
resend of a landed one without applying it again; moto ignores tokens, so
this emulates that for the tokens it saw land. Every attempt's token is
recorded (``tokens``), so a test sees which attempts were resends of one
transaction and which a new one.

``interfere`` runs another writer's change once, just before an attempt is
sent: the race between a read and the write that depends on it.

The ``faults`` fixture (registered for every test by ``tests/conftest.py``)
installs it once the ``world`` is built; ``install`` does so anywhere.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from botocore.retries import standard
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from chalicelib.storage import engine
from tests.helpers.api import UNAVAILABLE, body

BOTOCORE_ATTEMPTS = 4  # PynamoDB's default: botocore "standard" mode, 1 + 3 retries
DYNAMODB_ERROR = "com.amazonaws.dynamodb.v20120810#{code}"


def error_answer(code: str, status: int = 400, **extra: Any) -> Callable[[], tuple[int, str]]:
    def answer() -> tuple[int, str]:
        error = {"__type": DYNAMODB_ERROR.format(code=code), "message": code, **extra}
        return status, json.dumps(error)

    return answer


def cancelled(*reasons: str) -> Callable[[], tuple[int, str]]:
    """A ``TransactionCanceledException``: one reason per action, ``"None"`` for fine ones."""
    return error_answer(
        "TransactionCanceledException",
        CancellationReasons=[{"Code": reason} for reason in reasons],
    )


def raises(error: type[Exception]) -> Callable[[], tuple[int, str]]:
    def answer() -> tuple[int, str]:
        raise error(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")

    return answer


# What DynamoDB (or the network) can answer instead of a result, for any operation.
TRANSIENT = {
    "provisioned-throughput": error_answer("ProvisionedThroughputExceededException"),
    "throttling": error_answer("ThrottlingException"),
    "internal-error": error_answer("InternalServerError", 500),
    "read-timeout": raises(ReadTimeoutError),
    "connect-timeout": raises(ConnectTimeoutError),
}
# What only TransactWriteItems can answer: botocore does not retry a cancellation.
CONFLICT = cancelled("TransactionConflict")


@dataclass
class Plan:
    answer: Callable[[], tuple[int, str]]
    times: int
    lands: bool
    answer_to: Callable[[dict[str, Any]], tuple[int, str]] | None = None


def unprocessed_writes(payload: dict[str, Any]) -> tuple[int, str]:
    """BatchWriteItem's answer when DynamoDB throttled all of it: every request unprocessed."""
    return 200, json.dumps({"UnprocessedItems": payload["RequestItems"]})


@dataclass
class DynamoFaults:
    """Planned faults per DynamoDB operation, and what was sent.

    ``attempts`` counts HTTP attempts per operation (botocore's retries
    included), ``botocore_retries`` how often botocore decided to retry,
    ``app_backoffs`` the delays the app's own retries chose, and ``tokens``
    the ``ClientRequestToken`` of every ``TransactWriteItems`` attempt, in
    order. Nobody sleeps.
    """

    attempts: Counter[str] = field(default_factory=Counter)
    botocore_retries: int = 0
    app_backoffs: list[float] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    plans: dict[str, Plan] = field(default_factory=dict)
    interferences: dict[str, Callable[[], object]] = field(default_factory=dict)
    landed_tokens: set[str] = field(default_factory=set)
    honours_tokens: bool = True

    def fail(
        self,
        operation: str,
        answer: Callable[[], tuple[int, str]],
        *,
        times: int = 1_000,
        lands: bool = False,
    ) -> None:
        """Answer the next ``times`` attempts of ``operation`` with ``answer``."""
        self.plans[operation] = Plan(answer, times, lands)

    def answer_to(
        self,
        operation: str,
        answer: Callable[[dict[str, Any]], tuple[int, str]],
        *,
        times: int = 1_000,
    ) -> None:
        """Answer the next ``times`` attempts with ``answer(request payload)``; nothing lands."""
        self.plans[operation] = Plan(lambda: (500, "{}"), times, False, answer)

    def interfere(self, operation: str, change: Callable[[], object]) -> None:
        """Make ``change`` once, just before the next attempt of ``operation`` that no
        planned fault answers is sent (its own calls meet no interference)."""
        self.interferences[operation] = change

    def clear(self) -> None:
        """Forget the plans and what was sent (not what landed: DynamoDB remembers that)."""
        self.plans.clear()
        self.interferences.clear()
        self.attempts.clear()
        self.botocore_retries = 0
        self.app_backoffs.clear()
        self.tokens.clear()

    def send(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        self.attempts[operation] += 1
        token = self._token(operation, request)
        if self.honours_tokens and token in self.landed_tokens:
            return _answer(request, 200, "{}")
        plan = self.plans.get(operation)
        if plan is None or plan.times <= 0:
            change = self.interferences.pop(operation, None)
            if change is not None:
                change()
            return self._moto(request, event_name, token)
        plan.times -= 1
        if plan.lands:
            self._moto(request, event_name, token)
        if plan.answer_to is not None:
            status, text = plan.answer_to(_payload(request))
        else:
            status, text = plan.answer()
        return _answer(request, status, text)

    def _token(self, operation: str, request: AWSPreparedRequest) -> str | None:
        if operation != "TransactWriteItems":
            return None
        token = _client_request_token(request)
        if token is not None:
            self.tokens.append(token)
        return token

    def _moto(
        self, request: AWSPreparedRequest, event_name: str, token: str | None
    ) -> AWSResponse | None:
        response: AWSResponse | None = botocore_stubber(event_name=event_name, request=request)
        if token is not None and response is not None and response.status_code == 200:
            self.landed_tokens.add(token)
        return response


def _payload(request: AWSPreparedRequest) -> dict[str, Any]:
    body = request.body
    data: dict[str, Any] = json.loads(body.decode() if isinstance(body, bytes) else body or "{}")
    return data


def _client_request_token(request: AWSPreparedRequest) -> str | None:
    data = _payload(request)
    token = data.get("ClientRequestToken")
    return str(token) if token else None


def _answer(request: AWSPreparedRequest, status: int, text: str) -> AWSResponse:
    headers = {"x-amzn-requestid": "injected-fault", "content-type": "application/x-amz-json-1.0"}
    return AWSResponse(request.url, status, headers, MockRawResponse(text))  # type: ignore[arg-type]


def install(monkeypatch: Any) -> DynamoFaults:
    """Put ``DynamoFaults`` in front of moto on the app's client; botocore backs off 0 s.

    The client is rebuilt for every test (``conftest.aws``), so nothing
    outlives the test; ``monkeypatch`` undoes the backoff patch.
    """
    faults = DynamoFaults()

    def no_delay(_backoff: Any, _context: Any) -> float:
        faults.botocore_retries += 1
        return 0.0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", no_delay)
    monkeypatch.setattr(engine, "sleep", faults.app_backoffs.append)
    events = engine.connection().client.meta.events
    events.unregister("before-send", botocore_stubber)
    events.register("before-send.dynamodb", faults.send)
    return faults


@pytest.fixture
def faults(world: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoFaults]:
    """``install``, after the ``world`` is built (building it meets no fault)."""
    yield install(monkeypatch)


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.body
    assert body(response) == UNAVAILABLE
    assert response.headers["Retry-After"] == "1"
