"""``make migrate-seed`` end to end: its report, dry runs, reruns, resuming, and new ids.

The original's database runs in a throwaway cluster (tests/helpers/pgcluster.py)
and holds every awkward case its data may (tests/helpers/original_data.py); the
migration writes into the tests' moto table, and everything is checked
through the API as a client would see it.

What users, movies, ratings and comments become is in
``test_migration_users.py`` and ``test_migration_movies.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib import failures
from chalicelib.storage import engine
from devtools.dynamodb import start_moto_server
from devtools.migrate import writer
from devtools.migrate.report import KINDS, Report
from tests.helpers.api import Api, body, user_payload
from tests.helpers.faults import install, unprocessed_writes
from tests.helpers.migration import SERIAL_MAX, run, token
from tests.helpers.original_data import World
from tests.helpers.snapshots import Snapshot, table_items
from tests.helpers.table import app_hook, create_table, dynamodb_client

# ---------------------------------------------------------------- ids


def test_new_ids_never_collide_with_migrated_ones(api: Api, migrated: tuple[World, Report]) -> None:
    assert engine.new_id() > SERIAL_MAX
    epoch_plus_2_19_ms = engine.ID_EPOCH_MS + 2**19  # 2024-01-01T00:08:44.288Z
    assert (2**19) << engine.ID_RANDOM_BITS == 2**31 and epoch_plus_2_19_ms < 1_704_067_800_000
    created = api.post("/signup", user_payload("newcomer"))
    assert body(created)["id"] > SERIAL_MAX
    ada = token(api, "ada", "ada's old password")
    movie = api.post("/movies", {"title": "New"}, token=ada)
    assert body(movie)["id"] > SERIAL_MAX


# ---------------------------------------------------------------- report, reruns


def test_the_report_lists_every_change(migrated: tuple[World, Report], tmp_path: Path) -> None:
    world, report = migrated
    assert report.outcome == "complete"
    assert report.counts["users"] == {"read": len(world.users), "stored": len(world.users)}
    assert report.counts["comments"]["read"] - report.counts["comments"]["stored"] == 2
    expected = set(KINDS) - {"email_invalid", "timestamp_order", "name_blank"}
    assert expected <= set(report.by_kind())
    path = tmp_path / "report.json"
    report.write(path)
    assert path.stat().st_mode & 0o777 == 0o600
    saved = json.loads(path.read_text())
    assert len(saved["changes"]) == len(report.changes)
    assert "every change, row by row" in report.summary(path)


def test_a_dry_run_writes_nothing(original: tuple[str, World]) -> None:
    url, _ = original
    report = run(url, dry_run=True)
    assert report.outcome == "dry run" and report.changes
    assert table_items() == {}


def test_running_twice_changes_nothing_the_second_time(original: tuple[str, World]) -> None:
    url, _ = original
    run(url)
    first = table_items()
    second = run(url)
    assert second.outcome.startswith("already complete")
    assert table_items() == first


def test_a_run_that_stops_half_way_resumes_to_the_clean_result(
    original: tuple[str, World],
) -> None:
    url, _ = original
    clean = clean_run_then_an_empty_table(url)
    calls = {"n": 0}

    def crash_after_some_batches(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] > 3:
            raise ConnectionAbortedError("the migration's machine went away")

    with (
        app_hook("before-call.dynamodb.BatchWriteItem", crash_after_some_batches),
        pytest.raises(ConnectionAbortedError),
    ):
        run(url, workers=2)
    half = table_items()
    assert 0 < len(half) < len(clean)
    assert run(url, workers=2).outcome == "complete"
    assert table_items() == clean


def test_batches_handed_back_unprocessed_are_resent_until_they_land(
    original: tuple[str, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = original
    clean = clean_run_then_an_empty_table(url)
    faults = install(monkeypatch)
    faults.answer_to("BatchWriteItem", unprocessed_writes, times=5)

    assert run(url, workers=2).outcome == "complete"

    assert table_items() == clean
    assert len(faults.app_backoffs) == 5


def test_a_run_that_stays_throttled_stops_and_resumes_to_the_clean_result(
    original: tuple[str, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = original
    clean = clean_run_then_an_empty_table(url)
    faults = install(monkeypatch)
    calls = {"n": 0}

    def hand_everything_back_from_the_fourth_batch(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            faults.answer_to("BatchWriteItem", unprocessed_writes)

    with (
        app_hook("before-call.dynamodb.BatchWriteItem", hand_everything_back_from_the_fourth_batch),
        pytest.raises(failures.Unavailable),
    ):
        run(url, workers=2)
    half = table_items()
    assert 0 < len(half) < len(clean)
    faults.clear()

    assert run(url, workers=2).outcome == "complete"
    assert table_items() == clean


def test_a_table_with_other_data_is_refused(api: Api, original: tuple[str, World]) -> None:
    url, _ = original
    assert api.post("/signup", user_payload("ada")).status_code == 200
    before = table_items()
    with pytest.raises(writer.MigrationRefused, match="did not write"):
        run(url)
    assert table_items() == before


def clean_run_then_an_empty_table(url: str) -> Snapshot:
    """What a migration without incidents leaves; the table is then emptied for another."""
    run(url, workers=2)
    clean = table_items()
    dynamodb_client().delete_table(TableName=os.environ["TABLE_NAME"])
    create_table()
    return clean


def test_make_migrate_seed_dry_run_prints_the_summary(
    original: tuple[str, World], tmp_path: Path
) -> None:
    url, _ = original
    report = tmp_path / "report.json"
    server, endpoint = start_moto_server()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DRY_RUN": "1",
        "REPORT": str(report),
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "TABLE_NAME": "not-created-by-a-dry-run",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "devtools.migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        tables = dynamodb_client().list_tables()["TableNames"]
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing written" in done.stdout
    assert "username_renamed" in done.stdout
    assert json.loads(report.read_text())["dry_run"] is True
    assert "not-created-by-a-dry-run" not in tables


def test_make_migrate_seed_without_a_database_says_so() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "devtools.migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "DATABASE_URL is required" in done.stderr
