"""The benchmark's results as Markdown, ready to paste into docs/PERFORMANCE.md."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.coldstart import ColdStart, ImportBreakdown
from bench.costs import estimate
from bench.endpoints import Result, ScalingResult
from bench.hashing import HashTiming

PROJECT_DIR = Path(__file__).resolve().parent.parent
HASHING = frozenset({"POST /signup", "POST /login", "PUT /users/me/password"})
"""Endpoints that hash or verify a password (argon2id, tens of milliseconds)."""


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; every column but the first is right-aligned."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([":---", *["---:"] * (len(headers) - 1)]) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def units(value: float) -> str:
    return f"{value:g}"


def count(value: int) -> str:
    return f"{value:,}"


def label(name: str) -> str:
    return f"`{name}` †" if name in HASHING else f"`{name}`"


# ---------------------------------------------------------------- sections


def header(runs: int) -> str:
    return "\n".join(
        [
            f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at `{git_version()}`.",
            "",
            f"- Machine: {machine()}",
            f"- Python {platform.python_version()} ({platform.python_implementation()}), "
            f"{platform.system()} {platform.release()}",
            f"- Load average at the end (1, 5, 15 min): {load_average()}; other processes "
            "on the machine slow the wall-clock figures (cold starts, hashing) more than the "
            "CPU times.",
            f"- CPU time: median and p95 of {runs} requests per endpoint, after 2 warm-up "
            "requests; moto's own CPU time is measured and left out.",
        ]
    )


def dynamodb_work(results: Sequence[Result]) -> str:
    headers = [
        "endpoint",
        "budget",
        "calls",
        "operations",
        "items read",
        "bytes read",
        "RRU",
        "items written",
        "bytes written",
        "WRU",
        "index WRU",
    ]
    rows = [
        [
            label(result.name),
            str(result.budget),
            str(result.cost.calls),
            result.cost.operations_text() or "-",
            count(result.cost.items_read),
            count(result.cost.bytes_read),
            units(result.cost.read_units),
            count(result.cost.items_written),
            count(result.cost.bytes_written),
            str(result.cost.write_units),
            str(result.cost.index_write_units),
        ]
        for result in results
    ]
    return table(headers, rows)


def cpu_time(results: Sequence[Result]) -> str:
    headers = [
        "endpoint",
        "request ms (median)",
        "request ms (p95)",
        "handler ms (median)",
        "handler ms (p95)",
        "moto ms, left out (median)",
    ]
    rows = [
        [
            label(result.name),
            ms(result.request_cpu.median_ms),
            ms(result.request_cpu.p95_ms),
            ms(result.handler_cpu.median_ms),
            ms(result.handler_cpu.p95_ms),
            ms(result.moto_cpu.median_ms),
        ]
        for result in results
    ]
    return table(headers, rows)


def aws_costs(results: Sequence[Result]) -> str:
    headers = [
        "endpoint",
        "request units",
        "DynamoDB $",
        "Lambda ms at 512 MB (est.)",
        "Lambda $",
        "API Gateway $",
        "total $ per million",
    ]
    rows = []
    for result in results:
        if result.name.startswith("authorizer"):
            continue  # its own function, invoked once per token per 300 s
        cost = estimate(result)
        rows.append(
            [
                label(result.name),
                cost.request_units,
                dollars(cost.dynamodb),
                ms(cost.lambda_ms),
                dollars(cost.lambda_dollars),
                dollars(cost.api_gateway),
                dollars(cost.total),
            ]
        )
    return table(headers, rows)


def dollars(value: float) -> str:
    return f"{value:.2f}"


def scaling(results: Sequence[ScalingResult]) -> str:
    headers = [
        "endpoint",
        "comments, ratings, movies",
        "runs",
        "calls",
        "items read",
        "bytes read",
        "RRU",
        "WRU + index WRU",
        "handler ms (median)",
        "handler ms (p95)",
    ]
    ordered = sorted(results, key=lambda row: _scaling_order(results, row))
    rows = [
        [
            label(row.result.name),
            f"{row.load.size:,}",
            str(row.result.runs),
            str(row.result.cost.calls),
            count(row.result.cost.items_read),
            count(row.result.cost.bytes_read),
            units(row.result.cost.read_units),
            f"{row.result.cost.write_units} + {row.result.cost.index_write_units}",
            ms(row.result.handler_cpu.median_ms),
            ms(row.result.handler_cpu.p95_ms),
        ]
        for row in ordered
    ]
    return table(headers, rows)


def sizes(results: Sequence[ScalingResult]) -> str:
    found = [f"{size:,}" for size in dict.fromkeys(row.load.size for row in results)]
    return ", ".join(found[:-1]) + f" and {found[-1]}" if len(found) > 1 else "".join(found)


def _scaling_order(results: Sequence[ScalingResult], row: ScalingResult) -> tuple[int, int]:
    names = list(dict.fromkeys(result.result.name for result in results))
    return names.index(row.result.name), results.index(row)


def cold_starts(starts: Sequence[ColdStart]) -> str:
    headers = [
        "function (median of runs)",
        "runs",
        "python start",
        "import",
        "first response",
        "import + first response",
        "second response",
        "first DynamoDB response",
        "… of which inside moto",
        "moto setup, left out",
    ]
    rows = []
    for start in starts:
        phases = start.phases
        rows.append(
            [
                start.target.label,
                str(start.runs),
                ms(phases["python_start_ms"]),
                ms(phases["import_ms"]),
                ms(phases["first_response_ms"]),
                ms(phases["import_ms"] + phases["first_response_ms"]),
                _optional(phases, "second_response_ms"),
                _optional(phases, "first_db_response_ms"),
                _optional(phases, "first_db_inside_moto_ms"),
                _optional(phases, "moto_setup_ms"),
            ]
        )
    return table(headers, rows)


def _optional(phases: dict[str, float], name: str) -> str:
    return ms(phases[name]) if name in phases else "-"


def imports(breakdown: ImportBreakdown) -> str:
    rows = [
        [
            f"`{share.package}`",
            ms(share.self_ms),
            f"{share.self_ms / breakdown.total_ms:.0%}",
            f"`{share.heaviest_module}`",
        ]
        for share in breakdown.top
    ]
    return table(["package", "self ms", "share of the import", "heaviest module"], rows)


def hashing(timings: Sequence[HashTiming]) -> str:
    rows = [
        [
            timing.scheme,
            timing.parameters,
            ms(timing.hash_ms),
            ms(timing.verify_ms),
            str(timing.runs),
        ]
        for timing in timings
    ]
    return table(["scheme", "parameters", "hash ms (median)", "verify ms (median)", "runs"], rows)


# ---------------------------------------------------------------- the machine


def machine() -> str:
    model = _cpu_model()
    return f"{model}, {os.cpu_count()} CPUs ({platform.machine()})"


def _cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        return ", ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


def git_version() -> str:
    try:
        found = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown version"
    return found.stdout.strip()


# ---------------------------------------------------------------- the whole run


def render(
    runs: int,
    results: Sequence[Result],
    scaled: Sequence[ScalingResult],
    starts: Sequence[ColdStart],
    import_tables: Sequence[tuple[str, ImportBreakdown]],
    hashes: Sequence[HashTiming],
) -> str:
    sections = [
        "# Benchmark results",
        header(runs),
        "## DynamoDB work per request",
        "One request per endpoint on a small data set (the read endpoints read a movie with "
        "three comment threads, a reply and three ratings). RRU/WRU: request units from the "
        "item sizes (4 KB reads, half for eventually consistent; 1 KB writes; transactions "
        "double). Index WRU: writes to the GSIs on top. † hashes or verifies a "
        "password.",
        dynamodb_work(results),
        "## App CPU per request",
        "*Request*: `time.process_time` around `client.http.request` (includes Chalice's local "
        "gateway and, for protected routes, the authorizer). *Handler*: around "
        "`app(event, context)` only, what the API function spends. † includes argon2id "
        "(see the last table).",
        cpu_time(results),
        "## Estimated AWS cost per million requests (us-east-1, on-demand)",
        "An estimate from the figures above and assumed list prices (see `bench/costs.py`: "
        "DynamoDB $0.625 per million WRU and $0.125 per million RRU, Lambda x86 "
        "$0.0000166667 per GB-s and $0.20 per million requests, API Gateway REST $3.50 per "
        "million). Lambda ms: the handler's CPU stretched by 1,769/512 (512 MB is 0.29 "
        "vCPU) plus 5 ms per sequential DynamoDB round trip.",
        aws_costs(results),
        f"## Cost against data: a movie with {sizes(scaled)} comments and ratings",
        "Each loaded movie has that many top-level comments and ratings, and its owner "
        "that many movies; the lists ask for 10 rows. At 10,000 only the reads are run: "
        "moto copies the whole table for each transaction, seconds per write at that size.",
        scaling(scaled),
        "## Cold start: a fresh interpreter to the first response (milliseconds)",
        "*Deployment set*: the dev-only packages the Lambda package does not carry "
        "(cryptography, bcrypt, blinker) hidden, so optional imports fall back as on Lambda.",
        cold_starts(starts),
    ]
    for title, breakdown in import_tables:
        sections += [
            f"### `-X importtime`: {title}, top {len(breakdown.top)} packages",
            f"Self time summed per package, median of {breakdown.runs} runs; the whole "
            f"import: {ms(breakdown.total_ms)} ms under `-X importtime` (which slows it down).",
            imports(breakdown),
        ]
    sections += ["## Password hashing (wall clock)", hashing(hashes)]
    return "\n\n".join(sections) + "\n"
