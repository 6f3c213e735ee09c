"""``make migrate-seed``: the original FastAPI + PostgreSQL deployment's data, brought over.

Read (``source``: psycopg, one snapshot) -> plan (``plan``, ``threads``:
pure, decides every row and records every change) -> write (``writer``,
through ``chalicelib.storage.imports``: the API's own item builders,
batched, resumable) -> report (``report``: a JSON file and a summary).
``migrate`` runs the four; ``__main__`` is the command line.
docs/MIGRATION.md is the operator's guide.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.settings import get_settings
from devtools.migrate import writer
from devtools.migrate.plan import Plan, plan
from devtools.migrate.report import Report
from devtools.migrate.source import SourceData


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    workers: int = 8
    progress: bool = False
    report_path: Path | None = None
    endpoint: str | None = None
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))


def migrate(source: SourceData, options: Options) -> Report:
    """Plan ``source`` and, unless it is a dry run, write it; the report either way."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    state = writer.prepare(
        source.fingerprint(), source.row_count, options.now(), dry_run=options.dry_run
    )
    migrated_at = state.started_at if state is not None else options.now()
    result = plan(source, migrated_at=migrated_at)
    timings["plan"] = round(time.perf_counter() - started, 3)
    if options.dry_run:
        outcome = "dry run"
    elif state.completed_at is not None:
        outcome = f"already complete (on {state.completed_at.isoformat()}): nothing written"
    else:
        begun = time.perf_counter()
        writer.write(
            result, state, workers=options.workers, progress=options.progress, now=options.now
        )
        timings["write"] = round(time.perf_counter() - begun, 3)
        outcome = "complete"
    report = _report(source, result, migrated_at, options, outcome, timings)
    if options.report_path is not None:
        report.write(options.report_path)
    return report


def _report(
    source: SourceData,
    result: Plan,
    migrated_at: dt.datetime,
    options: Options,
    outcome: str,
    timings: dict[str, float],
) -> Report:
    settings = get_settings()
    counts = {
        "users": {"read": len(source.users), "stored": len(result.users)},
        "movies": {"read": len(source.movies), "stored": len(result.movies)},
        "ratings": {"read": len(source.ratings), "stored": len(result.ratings)},
        "comments": {"read": len(source.comments), "stored": len(result.comments)},
    }
    return Report(
        source={
            "database": source.database,
            "users_timezone": source.users_timezone,
            "fingerprint": source.fingerprint(),
            "migrated_at": migrated_at.isoformat(),
        },
        target={
            "table": settings.table_name,
            "region": settings.region,
            "endpoint": options.endpoint or "AWS",
        },
        dry_run=options.dry_run,
        counts=counts,
        changes=result.changes,
        outcome=outcome,
        timings=timings,
    )
