"""The migration's tests: the original's database built once per module, the run, logins.

``original`` (a fresh database in the throwaway cluster, filled by
``original_data.build_world``) is module-scoped: the migration only reads
it. ``migrated`` runs the migration into the test's own table. Both are
registered for every test by ``tests/conftest.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.migrate import Options, migrate, source
from devtools.migrate.report import Report
from tests.helpers.api import Api, body
from tests.helpers.original_data import OriginalDatabase, World, build_world
from tests.helpers.pgcluster import cluster

START = dt.datetime(2025, 2, 3, 4, 5, 6, 789000, tzinfo=dt.UTC)
SERIAL_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def original() -> Iterator[tuple[str, World]]:
    url = cluster().new_database()
    db = OriginalDatabase(url)
    try:
        yield url, build_world(db)
    finally:
        db.close()


def run(url: str, **options: Any) -> Report:
    return migrate(source.read(url), Options(now=lambda: START, **options))


@pytest.fixture
def migrated(original: tuple[str, World]) -> tuple[World, Report]:
    url, world = original
    return world, run(url)


def login(api: Api, username: str, password: str) -> Any:
    return api.post("/login", {"username": username, "password": password})


def token(api: Api, username: str, password: str) -> str:
    answer = login(api, username, password)
    assert answer.status_code == 200, (username, answer.body)
    return str(body(answer)["access_token"])
