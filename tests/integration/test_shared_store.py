"""Issue 14, item 3: two controllers (``site.node`` node-a and node-b) on one real PostgreSQL store.

No Asterisk: their AMI finds nobody, and they serve and run their rounds anyway (a node's Asterisk
down does not stop the site's duties). They start at the same moment on an empty database (one
migrates it, under the migrations' advisory lock). Each site-wide round runs on one of them: the
store's ``duty_leases`` names one holder per duty, and the other controller says it does not run
it. The holder is killed (SIGKILL: no clean hand-over) and the other takes its duties over once the
lease lapses. The assertions read the store itself; /status is only compared with it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from .rig import REPO, http_json, wait_for
from .servers import need_postgres, pg

DUTIES = ("duty_probes", "revisits")   # the rounds of every 5 s (the sweep's and hotspots' are minutes)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Controller:
    def __init__(self, node: str, site: Path, workdir: Path) -> None:
        self.node, self.port = node, _free_port()
        self.log = workdir / f"{node}.log"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hotline", "--site", str(site), "--state-dir", str(workdir / node),
                 "--set", f"site.node={node}", "--set", f"api.port={self.port}",
                 "--set", f"asterisk.fastagi.port={_free_port()}", "serve"],
                stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=dict(os.environ, PYTHONUNBUFFERED="1"))

    def status(self) -> dict[str, Any]:
        assert self.proc.poll() is None, f"controller {self.node} exited; see {self.log}"
        return http_json("GET", f"http://127.0.0.1:{self.port}/status")[1] or {}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def store_url() -> Iterator[str]:
    """A PostgreSQL server of its own (its directory outside pytest's private tmp: pg.sh)."""
    need_postgres()
    directory = tempfile.mkdtemp(prefix="hl-2n-", dir="/tmp")
    try:
        yield pg("start", directory, str(_free_port()))
    finally:
        pg("stop", directory)
        shutil.rmtree(directory, ignore_errors=True)


def _site(tmp_path: Path, store_url: str) -> Path:
    site = {"site": {"name": "two nodes", "hotline_number": "12345", "default_queue": "hotline"},
            "asterisk": {"sip_port": _free_port(), "ami": {"port": _free_port()}},   # nobody listens there
            "store": {"url": store_url},
            "trunks": [{"name": "carrier", "host": "127.0.0.1", "port": 5070}],
            "queues": [{"name": "hotline"}],
            "seats": [{"id": "1001", "name": "坐席1001", "secret": "secret-1001", "queues": ["hotline"]}]}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True))
    return path


def _holders(store_url: str) -> dict[str, str]:
    engine = create_engine(store_url)
    try:
        with engine.connect() as c:
            return {str(duty): str(holder) for duty, holder in c.execute(text("SELECT duty, holder FROM duty_leases"))}
    except ProgrammingError:   # not migrated yet
        return {}
    finally:
        engine.dispose()


def test_two_controllers_share_the_site_rounds_and_a_dead_holders_pass_to_the_other(tmp_path: Path,
                                                                                     store_url: str) -> None:
    site = _site(tmp_path, store_url)
    nodes = {n: Controller(n, site, tmp_path) for n in ("node-a", "node-b")}   # started together
    try:
        for c in nodes.values():
            wait_for(f"{c.node} serving on a migrated store",
                     lambda c=c: c.status().get("database", {}).get("migrated"), timeout=90)   # type: ignore[misc]
        held = wait_for("each duty held", lambda: (h := _holders(store_url)) and all(d in h for d in DUTIES) and h,
                        timeout=60)
        holders = {held[d] for d in DUTIES}
        assert holders <= set(nodes), held
        for duty in DUTIES:
            holder, other = nodes[held[duty]], nodes[next(n for n in nodes if n != held[duty])]
            wait_for(f"{other.node} not running {duty}",
                     lambda o=other, d=duty: o.status()[d]["runs_here"] is False, timeout=30)  # type: ignore[misc]
            assert holder.status()[duty]["runs_here"] is True

        dead = nodes[held["revisits"]]
        survivor = nodes[next(n for n in nodes if n != dead.node)]
        dead.proc.send_signal(signal.SIGKILL)
        dead.proc.wait(20)
        wait_for(f"{survivor.node} holding every duty", lambda: all(
            _holders(store_url).get(d) == survivor.node for d in DUTIES), timeout=120)
        for duty in DUTIES:
            wait_for(f"{survivor.node} running {duty}", lambda d=duty: survivor.status()[d]["runs_here"] is True,
                     timeout=30)   # type: ignore[misc]
        said = [line.split("hotline.compose: ", 1)[1] for line in survivor.log.read_text().splitlines()
                if "hotline.compose: revisits:" in line]
        assert said == ["revisits: another controller runs it", "revisits: this controller runs it"], said
    finally:
        for c in nodes.values():
            c.stop()
