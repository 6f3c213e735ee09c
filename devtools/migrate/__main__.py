"""``python -m devtools.migrate`` (``make migrate-seed``): settings from the environment.

- ``DATABASE_URL`` (required): the original deployment's PostgreSQL database.
- ``DRY_RUN=1``: plan and report, write nothing.
- ``REPORT``: where the JSON report goes (default ``artifacts/migrate-seed-report.json``).
- ``USERS_TIMEZONE``: the zone the original's ``users`` timestamps are in
  (default: the PostgreSQL server's ``TimeZone``).
- ``MIGRATE_WORKERS``: batches in flight at once (default 8).
- the target, as for ``make run``: ``AWS_ENDPOINT_URL_DYNAMODB`` (unset: AWS
  itself), ``TABLE_NAME``, ``AWS_REGION``; the table is created if missing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_REPORT = "artifacts/migrate-seed-report.json"


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        sys.stderr.write(
            "DATABASE_URL is required: make migrate-seed DATABASE_URL=postgresql://...\n"
        )
        return 2
    try:
        workers = int(os.environ.get("MIGRATE_WORKERS", "8"))
    except ValueError:
        workers = 0
    if not 1 <= workers <= 64:
        sys.stderr.write("MIGRATE_WORKERS must be an integer from 1 to 64\n")
        return 2

    from chalicelib.settings import get_settings
    from devtools.dynamodb import ensure_table
    from devtools.migrate import Options, migrate, source, writer

    dry_run = os.environ.get("DRY_RUN", "") not in ("", "0")
    report_path = Path(os.environ.get("REPORT") or DEFAULT_REPORT)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None
    settings = get_settings()
    try:
        data = source.read(database_url, users_timezone=os.environ.get("USERS_TIMEZONE") or None)
    except Exception as exc:  # psycopg's errors: say what, not a trace
        sys.stderr.write(f"Could not read {source.describe(database_url)}: {exc}\n")
        return 1
    if not dry_run:
        ensure_table(endpoint, settings.table_name, settings.region)
    options = Options(
        dry_run=dry_run,
        workers=workers,
        progress=True,
        report_path=report_path,
        endpoint=endpoint,
    )
    try:
        report = migrate(data, options)
    except writer.MigrationRefused as exc:
        sys.stderr.write(f"Refused: {exc}\n")
        return 1
    sys.stdout.write(report.summary(report_path) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
