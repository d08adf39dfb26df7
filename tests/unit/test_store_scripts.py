"""scripts/pg.sh and scripts/redis.sh: throwaway servers for tests, idempotent start and stop."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from hotline.store import Store

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
HAVE_PG = bool(list(Path("/usr/lib/postgresql").glob("*/bin/postgres")))
HAVE_REDIS = shutil.which("redis-server") is not None


def run(script: str, *args: str | Path | int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPTS / script), *map(str, args)], capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """Below /tmp directly: the postgres user must reach it and the socket path must stay short."""
    path = Path(tempfile.mkdtemp(prefix="hsh-"))
    yield path
    shutil.rmtree(path)


@pytest.mark.parametrize(("script", "args"), [
    ("pg.sh", []), ("pg.sh", ["start", "/tmp/x"]), ("pg.sh", ["restart", "/tmp/x"]),
    ("pg.sh", ["start", "/tmp/x", "port"]),
    ("redis.sh", []), ("redis.sh", ["start", "/tmp/x"]), ("redis.sh", ["start", "/tmp/x", "-1"]),
])
def test_bad_usage_fails_without_output(script: str, args: list[str]) -> None:
    result = run(script, *args)
    assert result.returncode != 0
    assert result.stdout == ""
    assert f"{script}:" in result.stderr


@pytest.mark.postgres
@pytest.mark.skipif(not HAVE_PG, reason="no PostgreSQL binaries")
def test_pg_start_and_stop_are_idempotent(short_dir: Path) -> None:
    port = free_port()
    try:
        first = run("pg.sh", "start", short_dir, port)
        assert first.returncode == 0, first.stderr
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/hotline"
        assert first.stdout == url + "\n"

        again = run("pg.sh", "start", short_dir, port + 1)  # running: the real port wins
        assert (again.returncode, again.stdout) == (0, url + "\n")
        assert f"already running on port {port}" in again.stderr

        store = Store(url)
        try:
            assert store.ping() is True
            for _ in range(2):
                assert run("pg.sh", "stop", short_dir).returncode == 0
            assert store.ping() is False
            restarted = run("pg.sh", "start", short_dir, port)  # the existing cluster is reused
            assert restarted.stdout == url + "\n"
            store.upgrade()
            store.set_meta("k", "v")
            assert store.get_meta("k") == "v"
        finally:
            store.close()
    finally:
        run("pg.sh", "stop", short_dir)


@pytest.mark.skipif(not HAVE_REDIS, reason="redis-server is not installed")
def test_redis_start_and_stop_are_idempotent(tmp_path: Path) -> None:
    port = free_port()
    try:
        first = run("redis.sh", "start", tmp_path / "a", port)
        assert first.returncode == 0, first.stderr
        url = f"redis://127.0.0.1:{port}/0"
        assert first.stdout == url + "\n"
        assert run("redis.sh", "start", tmp_path / "a", port).stdout == url + "\n"

        client = redis.Redis.from_url(url)
        try:
            assert client.ping() is True
            client.set("k", "v")
            assert client.get("k") == b"v"
        finally:
            client.close()

        # Another directory on the same port must not report someone else's server as its own.
        clash = run("redis.sh", "start", tmp_path / "b", port)
        assert (clash.returncode, clash.stdout) != (0, url + "\n")
        assert "is not the one started in" in clash.stderr

        for _ in range(2):
            assert run("redis.sh", "stop", tmp_path / "a").returncode == 0
        client = redis.Redis.from_url(url)
        try:
            with pytest.raises(redis.ConnectionError):
                client.ping()
        finally:
            client.close()
    finally:
        run("redis.sh", "stop", tmp_path / "a")
