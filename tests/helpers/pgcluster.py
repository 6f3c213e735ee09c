"""A throwaway PostgreSQL cluster for the migration tests, from Debian's ``postgresql``.

``cluster()`` starts one per test process (initdb and pg_ctl in a temporary
directory, on a free local port, as the ``postgres`` user when running as
root, since PostgreSQL refuses to run as root) and stops it at exit.
Missing binaries are installed with apt-get when running as root; the
tests are skipped, saying why, only if that cannot be done. Each test gets
a database of its own, created from a template that holds the original
deployment's tables (``devtools/migrate/original_schema.sql``).
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from itertools import count
from pathlib import Path

import psycopg
import pytest

SCHEMA = Path(__file__).resolve().parents[2] / "devtools" / "migrate" / "original_schema.sql"
TEMPLATE = "original_template"
SERVER_TIMEZONE = "America/New_York"  # not UTC, so the users' local timestamps must be converted
_databases = count(1)


@dataclass(frozen=True)
class Cluster:
    bin_dir: Path
    data_dir: Path
    port: int
    as_postgres: bool

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh database with the original's tables; returns its URL."""
        name = f"original_{os.getpid()}_{next(_databases)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')
        return self.url(name)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=check, capture_output=True, timeout=120)


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version)
    return Path(found[-1]).parent if found else None


def _major_version(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


def _install_postgresql() -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "postgresql"], env=env, capture_output=True, timeout=900
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@lru_cache(maxsize=1)
def cluster() -> Cluster:
    """The process's cluster, started on first use (skips the test if impossible)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        _install_postgresql()
        bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed and apt-get could not install it")
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="migration-pg-"))
    data_dir = root / "data"
    if as_postgres:
        shutil.chown(root, user="postgres")
    started = Cluster(bin_dir, data_dir, _free_port(), as_postgres)
    started._run(
        "initdb", "-D", str(data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"
    )
    options = (
        f"-c port={started.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root}"
        f" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        f" -c timezone={SERVER_TIMEZONE}"
    )
    started._run(
        "pg_ctl", "-D", str(data_dir), "-o", options, "-l", str(root / "log"), "-w", "start"
    )
    atexit.register(started.stop)
    with psycopg.connect(started.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    with psycopg.connect(started.url(TEMPLATE), autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())  # type: ignore[arg-type]
    return started
