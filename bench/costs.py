"""What a million requests of each endpoint would cost on AWS: an estimate, not a bill.

Assumed prices (us-east-1, on-demand, public list prices as of 2025; check
https://aws.amazon.com/dynamodb/pricing/, /lambda/pricing/ and
/api-gateway/pricing/ before relying on them):

* DynamoDB on-demand: $0.625 per million write request units and $0.125 per
  million read request units (the prices since the November 2024 cut; they
  were $1.25 and $0.25 before). Index writes are write units too.
* Lambda (x86): $0.0000166667 per GB-second, billed in whole milliseconds, and
  $0.20 per million requests; the functions have 512 MB.
* API Gateway REST API: $3.50 per million requests (the first 333 million a
  month).

The Lambda duration is estimated, not measured: Lambda gives a function CPU
in proportion to its memory (one vCPU at 1,769 MB), so the handler's CPU
time measured here on a whole core is stretched by 1,769 / 512, and each
sequential DynamoDB round trip adds an assumed 5 ms of waiting. The
authorizer's invocations are left out: API Gateway caches its answer per
token for 300 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.endpoints import Result

DOLLARS_PER_MILLION_WRU = 0.625
DOLLARS_PER_MILLION_RRU = 0.125
LAMBDA_DOLLARS_PER_GB_SECOND = 0.0000166667
LAMBDA_DOLLARS_PER_MILLION_REQUESTS = 0.20
API_GATEWAY_REST_DOLLARS_PER_MILLION = 3.50
LAMBDA_MEMORY_MB = 512
MB_PER_VCPU = 1769
ROUND_TRIP_MS = 5.0


@dataclass(frozen=True)
class Estimate:
    name: str
    request_units: str
    dynamodb: float
    lambda_ms: float
    lambda_dollars: float
    api_gateway: float

    @property
    def total(self) -> float:
        return self.dynamodb + self.lambda_dollars + self.api_gateway


def estimate(result: Result) -> Estimate:
    """Dollars per million requests like ``result``'s."""
    cost = result.cost
    write_units = cost.write_units + cost.index_write_units
    dynamodb = write_units * DOLLARS_PER_MILLION_WRU + cost.read_units * DOLLARS_PER_MILLION_RRU
    round_trips = result.budget  # the catalogue's, which tests/test_budget.py holds it to
    lambda_ms = result.handler_cpu.median_ms * MB_PER_VCPU / LAMBDA_MEMORY_MB
    lambda_ms += round_trips * ROUND_TRIP_MS
    billed_ms = max(1, math.ceil(lambda_ms))  # Lambda bills whole milliseconds
    gb_seconds = billed_ms / 1000 * LAMBDA_MEMORY_MB / 1024
    lambda_dollars = gb_seconds * LAMBDA_DOLLARS_PER_GB_SECOND * 1_000_000
    lambda_dollars += LAMBDA_DOLLARS_PER_MILLION_REQUESTS
    return Estimate(
        result.name,
        f"{cost.read_units:g} RRU, {write_units} WRU",
        dynamodb,
        lambda_ms,
        lambda_dollars,
        API_GATEWAY_REST_DOLLARS_PER_MILLION,
    )
