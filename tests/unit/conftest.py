"""Fixtures for the store, journal and API tests.

Store tests run against SQLite and a real PostgreSQL. The PostgreSQL server is
``HOTLINE_TEST_PG_URL`` when set (the role needs CREATEDB: every test gets a
fresh database), otherwise a throwaway cluster started with ``scripts/pg.sh``
for the session. PostgreSQL tests are skipped only when neither exists.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from hotline.records.call import CallRecord, Outcome
from hotline.store import Store

if TYPE_CHECKING:
    from hotline.config.paths import Paths

REPO = Path(__file__).resolve().parents[2]
PG_SH = REPO / "scripts" / "pg.sh"
HAVE_PG_BINARIES = bool(glob.glob("/usr/lib/postgresql/*/bin/postgres"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """A PostgreSQL server of our own, driven through scripts/pg.sh."""

    def __init__(self) -> None:
        # Not below pytest's tmp_path: /tmp/pytest-of-root is 0700 and the
        # server runs as the postgres user. A short path keeps the socket legal.
        self.dir = Path(tempfile.mkdtemp(prefix="hpg-"))
        self.port = free_port()

    def start(self) -> str:
        out = subprocess.run([str(PG_SH), "start", str(self.dir), str(self.port)],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self) -> None:
        subprocess.run([str(PG_SH), "stop", str(self.dir)], check=True, capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("HOTLINE_TEST_PG_URL")
    if url:
        yield url
        return
    if not HAVE_PG_BINARIES:
        pytest.skip("no PostgreSQL: set HOTLINE_TEST_PG_URL or install postgresql")
    cluster = PgCluster()
    try:
        yield cluster.start()
    finally:
        cluster.remove()


def _admin(url: str, sql: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    _admin(pg_server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(pg_server_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def own_pg() -> Iterator[PgCluster]:
    """A PostgreSQL server this test may stop and start (never the shared one)."""
    if not HAVE_PG_BINARIES:
        pytest.skip("stopping and starting a server needs the PostgreSQL binaries")
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hotline.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'hotline.db'}")
    s.upgrade()
    yield s
    s.close()


MakeCall = Callable[..., CallRecord]


@pytest.fixture
def make_call() -> MakeCall:
    """Build a plausible answered call record; keyword arguments override fields."""

    def make(call_id: str = "1700000000.1", **fields: Any) -> CallRecord:
        values: dict[str, Any] = {
            "dialled_number": "12345",
            "caller_number": "13800138000",
            "arrived_at": datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
            "outcome": Outcome.answered,
            **fields,
        }
        return CallRecord(call_id=call_id, **values)

    return make


@pytest.fixture
def controller_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> "Paths":
    """A state directory for a real Controller without Asterisk: the runtime is a stand-in whose CEL
    log is a copy of the answered_merged_call capture (recordings and logs in tmp_path)."""
    import shutil
    import types

    import hotline.app as app_mod
    from hotline.config.paths import Paths

    cel = tmp_path / "hotline-cel.json"
    shutil.copy(Path(__file__).resolve().parents[1] / "fixtures" / "cel" / "answered_merged_call.jsonl", cel)
    runtime = types.SimpleNamespace(cel_log=cel, recordings_dir=tmp_path / "monitor", log_dir=tmp_path / "log",
                                    queue_log=tmp_path / "log" / "queue_log", cdr_log=tmp_path / "hotline-cdr.json",
                                    cli=lambda *a, **k: "", started_at=lambda: None)
    monkeypatch.setattr(app_mod.asterisk_runtime, "load", lambda paths: runtime)
    paths = Paths(tmp_path / "state", tmp_path / "root")
    paths.ensure()
    (paths.state_dir / "ami.secret").write_text("secret\n")
    return paths
