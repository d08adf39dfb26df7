"""Throwaway Redis and PostgreSQL servers for the integration tests (scripts/redis.sh and
scripts/pg.sh: no systemd, no persistence), and the two ways the tests use them: a controller
whose store is PostgreSQL, a site whose live state is mirrored into Redis."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from .rig import REPO, Stack, wait_for


def redis(*args: str) -> str:
    """``scripts/redis.sh start DIR PORT`` (prints the URL) or ``stop DIR``."""
    return subprocess.run(["bash", str(REPO / "scripts" / "redis.sh"), *args], check=True, capture_output=True,
                          text=True, timeout=60).stdout.strip()


def pg(*args: str) -> str:
    """``scripts/pg.sh start DIR PORT`` (prints the URL) or ``stop DIR``."""
    r = subprocess.run([str(REPO / "scripts" / "pg.sh"), *args], capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def need_redis() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/test.sh)")


def need_postgres() -> None:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        pytest.skip("PostgreSQL server binaries not installed (scripts/test.sh installs them)")


@contextmanager
def postgres_controller(stack: Stack, directory: Path, port: int) -> Iterator[str]:
    """A PostgreSQL server, and the controller restarted on it as its store; yields the URL.
    Afterwards the server is stopped and the controller restarted on its usual store."""
    need_postgres()
    url = pg("start", str(directory), str(port))
    stack.stop_controller()
    stack.start_controller("--set", f"store.url={url}")
    # the controller migrates a new database in the background (records wait in its journal meanwhile)
    wait_for("the store migrated", lambda: stack.status()["database"].get("migrated"), timeout=90)
    try:
        yield url
    finally:
        stack.stop_controller()
        pg("stop", str(directory))
        stack.start_controller()


@contextmanager
def redis_site(stack: Stack, directory: Path, port: int) -> Iterator[str]:
    """A Redis server, and the site config's ``redis.url`` set to it (applied: the controller
    restarts); yields the URL. Afterwards the server is stopped and the site config restored."""
    need_redis()
    url = redis("start", str(directory), str(port))
    previous = stack.site_file.read_text(encoding="utf-8")
    data = yaml.safe_load(previous)
    data["redis"] = {"url": url}
    try:
        stack.apply_site_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        yield url
    finally:
        redis("stop", str(directory))
        stack.restore_site(previous)
