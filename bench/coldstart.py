"""Cold starts: a fresh interpreter to the first response, for each Lambda function.

Each run starts ``bench.coldstart_child`` in a new process and reads back
its phases (see that module). Runs with ``-X importtime`` are separate, as
the flag slows imports down; their breakdown is the median self time per
package over those runs.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.coldstart_child import MARK_BEGIN, MARK_END, RESULT
from bench.environment import offline_environment

PROJECT_DIR = Path(__file__).resolve().parent.parent
IMPORTTIME_RUNS = 3
TOP_IMPORTS = 15


@dataclass(frozen=True)
class Target:
    """A function to cold-start: what the child does, and how it is labelled."""

    label: str
    mode: str
    deployed: bool


TARGETS = (
    Target("API function, deployment set", "api", deployed=True),
    Target("API function, dev venv", "api", deployed=False),
    Target("authorizer function, deployment set", "authorizer", deployed=True),
    Target("authorizer function, dev venv", "authorizer", deployed=False),
    Target("authorizer + SSM client (dev/prod stages), deployment set", "ssm", deployed=True),
)


@dataclass(frozen=True)
class ColdStart:
    target: Target
    phases: dict[str, float]
    """Median of each phase over the runs, in milliseconds."""
    runs: int


def child_command(target: Target, *, importtime: bool = False) -> list[str]:
    flags = ["-X", "importtime"] if importtime else []
    mode = [target.mode, repr(time.perf_counter())]
    deployed = ["--deployed"] if target.deployed else []
    return [sys.executable, *flags, "-m", "bench.coldstart_child", *mode, *deployed]


def run_child(
    target: Target, token: str, *, importtime: bool = False
) -> tuple[dict[str, float], str]:
    """One cold start: its phases, and what it wrote to stderr."""
    command = child_command(target, importtime=importtime)
    finished = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env={**offline_environment(), "BENCH_TOKEN": token},
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{finished.stderr}{finished.stdout}")
    line = next(line for line in finished.stdout.splitlines() if line.startswith(RESULT))
    phases: dict[str, float] = json.loads(line.removeprefix(RESULT))
    return phases, finished.stderr


def cold_start(target: Target, token: str, runs: int) -> ColdStart:
    samples = [run_child(target, token)[0] for _ in range(runs)]
    phases = {name: statistics.median(sample[name] for sample in samples) for name in samples[0]}
    return ColdStart(target, phases, runs)


# ---------------------------------------------------------------- -X importtime


@dataclass(frozen=True)
class ImportShare:
    package: str
    self_ms: float
    heaviest_module: str


@dataclass(frozen=True)
class ImportBreakdown:
    """The packages that take longest to import, and the whole import's self time."""

    top: list[ImportShare]
    total_ms: float
    runs: int


def import_breakdown(target: Target, token: str) -> ImportBreakdown:
    """Median self time per package over ``IMPORTTIME_RUNS`` runs with ``-X importtime``."""
    runs = [
        list(measured_imports(run_child(target, token, importtime=True)[1]))
        for _ in range(IMPORTTIME_RUNS)
    ]
    per_run: list[dict[str, float]] = []
    heaviest: dict[str, tuple[float, str]] = {}
    for modules in runs:
        per_package: dict[str, float] = defaultdict(float)
        for module, self_us in modules:
            package = package_of(module)
            per_package[package] += self_us / 1000
            heaviest[package] = max(heaviest.get(package, (0.0, module)), (self_us, module))
        per_run.append(per_package)
    shares = [
        ImportShare(package, statistics.median(run.get(package, 0.0) for run in per_run), module)
        for package, (_, module) in heaviest.items()
    ]
    shares.sort(key=lambda share: share.self_ms, reverse=True)
    total = statistics.median(sum(run.values()) for run in per_run)
    return ImportBreakdown(shares[:TOP_IMPORTS], total, len(runs))


def measured_imports(stderr: str) -> Iterable[tuple[str, float]]:
    """(module, self µs) for each import between the child's markers."""
    inside = False
    for line in stderr.splitlines():
        if line == MARK_BEGIN:
            inside = True
        elif line == MARK_END:
            return
        elif inside and line.startswith("import time:") and "|" in line:
            self_us, _, name = line.removeprefix("import time:").split("|")
            if self_us.strip().isdigit():
                yield name.strip(), float(self_us)


def package_of(module: str) -> str:
    """The top-level package; for the app's own code, one level deeper."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "chalicelib" else parts[0]
