"""Issue 8: database timeouts, and a hung PostgreSQL (SIGSTOPped) never blocks /status."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from hotline.api.app import build_app
from hotline.store import Store
from hotline.store.probe import StoreProbe

from conftest import PgCluster
from apikit import api_services


@pytest.mark.postgres
def test_postgres_sessions_carry_statement_timeout_and_keepalives(pg_url: str) -> None:
    store = Store(pg_url)
    try:
        with store._engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "30s"
            assert connection.execute(text("SHOW lock_timeout")).scalar_one() == "10s"
            info = connection.connection.dbapi_connection.info  # type: ignore[union-attr]
            assert info.get_parameters().get("connect_timeout") == "5"
            assert info.get_parameters().get("keepalives") == "1"
    finally:
        store.close()


def test_sqlite_waits_for_a_lock_at_most_its_busy_timeout(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'hotline.db'}")
    try:
        with store._engine.connect() as connection:
            assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 5000
    finally:
        store.close()


def server_pids(cluster: PgCluster) -> list[int]:
    """The postmaster and every backend of the cluster (all must stop to hang it)."""
    postmaster = int((cluster.dir / "data" / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    return [postmaster, *map(int, children)]


@pytest.fixture
def hung_pg(own_pg: PgCluster) -> Iterator[tuple[str, Any, Any]]:
    url = own_pg.start()
    stopped: list[int] = []

    def hang() -> None:
        for pid in server_pids(own_pg):
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)

    def resume() -> None:
        while stopped:
            try:
                os.kill(stopped.pop(), signal.SIGCONT)
            except ProcessLookupError:
                pass

    try:
        yield url, hang, resume
    finally:
        resume()


async def status_of(client: TestClient[Any, Any]) -> tuple[int, dict[str, Any]]:
    # A bound on the test, not a timing assertion: a /status that hangs fails instead of hanging.
    resp = await asyncio.wait_for(client.get("/status"), timeout=60)
    return resp.status, await resp.json()


@pytest.mark.postgres
async def test_status_answers_while_postgres_is_stopped(hung_pg: tuple[str, Any, Any]) -> None:
    url, hang, resume = hung_pg
    store = Store(url)
    store.upgrade()
    probe = StoreProbe(store.ping_error, every_s=0.2, timeout_s=1.0)
    probe.start()
    services = api_services(store, status=lambda: {}, database_status=probe.status)
    try:
        async with TestClient(TestServer(build_app(services))) as client:
            for _ in range(200):
                code, body = await status_of(client)
                if body["database"]["ok"]:
                    break
                await asyncio.sleep(0.05)
            assert code == 200 and body["database"]["ok"] is True
            hang()
            for _ in range(400):  # the probe's ping now hangs; /status reports it, never waits on it
                code, body = await status_of(client)
                if not body["database"]["ok"]:
                    break
                await asyncio.sleep(0.05)
            assert code == 503 and "did not answer" in body["database"]["error"]
    finally:
        resume()
    for _ in range(400):  # the hung ping comes back: its connection returns to the pool
        if probe.status()["ok"]:
            break
        await asyncio.sleep(0.05)
    probe.stop()
    store.close()
