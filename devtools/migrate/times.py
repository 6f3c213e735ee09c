"""Timestamps as our items hold them: aware UTC, both present, in order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from devtools.migrate.report import Change


@dataclass
class Clock:
    """Fills the timestamps the original left out, recording each change.

    ``migrated_at`` is the migration's start, kept in the target table by
    the first run, so a rerun fills in the very same values.
    """

    migrated_at: dt.datetime
    changes: list[Change]

    def times(
        self,
        table: str,
        row_id: int,
        created: dt.datetime | None,
        updated: dt.datetime | None,
        *,
        report: bool = True,
    ) -> tuple[dt.datetime, dt.datetime]:
        created, updated = utc(created), utc(updated)
        if report and (created is None or updated is None):
            missing = [
                name
                for name, value in (("created_at", created), ("updated_at", updated))
                if value is None
            ]
            details = {"missing": missing, "migrated_at": self.migrated_at.isoformat()}
            self.changes.append(Change("timestamp_missing", table, row_id, "filled in", details))
        created = created or updated or self.migrated_at
        updated = updated or created
        if updated < created:
            if report:
                details = {"created_at": created.isoformat(), "updated_at": updated.isoformat()}
                self.changes.append(
                    Change(
                        "timestamp_order", table, row_id, "updated_at set to created_at", details
                    )
                )
            updated = created
        return created, updated


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """Aware UTC; a naive value is taken as UTC (the original's ``utcnow()``)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
