"""The product on the edge rig (issue 14, items 3 and 4): every node runs the site's generated
Asterisk configuration (hotline/deploy.py, as ``hotline asterisk deploy`` writes it) and its own
controller (``hotline serve`` inside the node's namespace, talking to its Asterisk over AMI and
FastAGI on the namespace's loopback); the controllers share one PostgreSQL (the records, each
call id carrying its node) and one Redis (the live state, the seat pool).

    <tag>-node-a   Asterisk + controller node-a ─┐
    <tag>-node-b   Asterisk + controller node-b ─┼─ unix sockets ─▶ PostgreSQL, Redis (this machine)

The two servers run on this machine and are reached over unix sockets in one directory: a file
system is shared by every namespace, so the servers listen on no address at all. The test reads
the store itself (never a controller's /status) and a controller's API through ``curl`` run in the
node's namespace (:meth:`ProductRig.api`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text

from hotline import asterisk_runtime
from hotline.auth.passwords import hash_password
from hotline.config import parse_site
from hotline.config.paths import Paths
from hotline.deploy import generate_config

from .edge_rig import NODES, Node, NodeRuntime, Rig, seat_ids, site_data, wait_for
from .rig import REPO, RIG_RETENTION
from .servers import pg

ADMIN, ADMIN_PASSWORD = "admin", "edge-rig-admin-pass"
QUEUE = "hotline"
DIVERTED_110, DIVERTED_PRIORITY = "85110110", 20
NODE_LOST_AFTER_S = 15   # a node silent this long is lost: another closes its calls (hotline.calls.node_loss)


def product_site(seats: int, store_url: str, redis_url: str) -> dict[str, Any]:
    """The edge rig's site with what the product needs: the 12345 queue with the pooled seats in
    it, the one store, the one Redis, an administrator."""
    data = site_data(seats)
    data["site"] = {"name": "edge rig", "hotline_number": "12345", "default_queue": QUEUE, "node": "node-a"}
    # No position announcement: a caller hearing one does not re-check its turn for its length (seconds),
    # which would hide the one order over the nodes behind the announcements' timing.
    data["queues"] = [{"name": QUEUE, "ring_timeout": 15, "announce_position": False, "announce_holdtime": False}]
    data["seats"] = [{**s, "queues": [QUEUE]} for s in data["seats"] if s["id"] in seat_ids(seats)]
    data["store"] = {"url": store_url}
    data["redis"] = {"url": redis_url}
    data["users"] = [{"name": ADMIN, "role": "admin", "password_hash": hash_password(ADMIN_PASSWORD, iterations=1000)}]
    data["retention"] = RIG_RETENTION
    data["diversion_110"] = {"numbers": [DIVERTED_110], "priority": DIVERTED_PRIORITY}   # a caller who goes first
    data["edge"]["node_lost_after_s"] = NODE_LOST_AFTER_S
    return data


@dataclass
class Controller:
    """``hotline serve`` of one node, run in the node's namespace."""

    node: str
    netns: str
    site_file: Path
    state_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, sys.executable, "-m", "hotline", "--site", str(self.site_file),
                 "--state-dir", str(self.state_dir), "--set", f"site.node={self.node}", "serve"],
                stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=dict(os.environ, PYTHONUNBUFFERED="1"))

    def kill(self) -> None:
        """A crash: SIGKILL, no goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class ProductRig(Rig):
    store_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hl-en-", dir="/tmp")))
    store_url: str = ""
    redis_url: str = ""
    controllers: dict[str, Controller] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    # -- the one store and the one Redis -------------------------------------------------------
    def start_store(self) -> None:
        """PostgreSQL (scripts/pg.sh; its socket in the store directory) and Redis (a unix socket
        only: ``port 0``)."""
        self.store_dir.chmod(0o755)   # the postgres account reaches its cluster below it
        port = 54000 + os.getpid() % 1000
        url = pg("start", str(self.store_dir / "pg"), str(port))
        port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
        self.store_url = f"postgresql+psycopg://postgres@/hotline?host={self.store_dir / 'pg'}&port={port}"
        sock = self.store_dir / "redis.sock"
        subprocess.run(["redis-server", "--daemonize", "yes", "--port", "0", "--unixsocket", str(sock),
                        "--unixsocketperm", "700", "--dir", str(self.store_dir), "--pidfile",
                        str(self.store_dir / "redis.pid"), "--logfile", str(self.store_dir / "redis.log"),
                        "--save", "", "--appendonly", "no"], check=True, timeout=30)
        wait_for(lambda: subprocess.run(["redis-cli", "-s", str(sock), "ping"], capture_output=True,
                                        text=True).stdout.strip() == "PONG", 10, "redis")
        self.redis_url = f"unix://{sock}"

    def records(self) -> list[dict[str, Any]]:
        """Every call record in the one store, oldest first."""
        return self._select("SELECT call_id, caller_number, outcome, seat, arrived_at, answered_at, ended_at, extra "
                            "FROM call_records ORDER BY arrived_at")

    def open_calls(self, node: str) -> set[str]:
        """The calls ``node``'s controller has written as in progress (hotline.store.open_calls)."""
        return {str(r["call_id"]) for r in self._select(f"SELECT call_id FROM open_calls WHERE node = '{node}'")}

    def _select(self, sql: str) -> list[dict[str, Any]]:
        engine = create_engine(self.store_url)
        try:
            with engine.connect() as c:
                return [dict(r._mapping) for r in c.execute(text(sql))]
        finally:
            engine.dispose()

    # -- nodes: the generated configuration and a controller each ------------------------------
    def start_nodes(self) -> None:
        data = product_site(self.seats, self.store_url, self.redis_url)
        site_file = self.workdir / "site.yaml"
        site_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        rendered: Path | None = None
        for name, address in NODES.items():
            work = self.workdir / name
            paths = Paths.from_env(state_dir=str(work / "state"))
            installed = asterisk_runtime.install(paths)
            if rendered is not None:   # the prompts once: the render skips what its manifest lists
                shutil.copytree(rendered, paths.sounds_dir, dirs_exist_ok=True)
            generate_config(parse_site({**data, "site": {**data["site"], "node": name}}), paths)
            rendered = paths.sounds_dir
            runtime = NodeRuntime(mode=installed.mode, root=installed.root, instance=installed.instance,
                                  version=installed.version, netns=self.ns(name))
            runtime.deploy(paths.generated_dir, paths.sounds_dir, systemname=name)
            self.nodes[name] = Node(name, address, runtime, work)
            self.controllers[name] = Controller(name, self.ns(name), site_file, paths.state_dir,
                                                self.workdir / f"controller-{name}.log")
        for node in self.nodes.values():
            node.start()
        for controller in self.controllers.values():
            controller.start()
        for name in self.controllers:
            self.wait_controller(name)

    def wait_controller(self, name: str, timeout: float = 120) -> None:
        """Until the node's controller is logged in to its Asterisk on a migrated store."""
        c = self.controllers[name]

        def ready() -> bool:
            assert c.alive(), f"controller {name} exited; see {c.log}"
            code, status = self.api(name, "GET", "/status")
            return code in (200, 503) and bool(status.get("ami", {}).get("ok")) and bool(
                status.get("database", {}).get("migrated"))
        wait_for(ready, timeout, f"controller {name} ready")

    def api(self, node: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A request to a node's controller (its API listens in the node's namespace only)."""
        if path.startswith("/api/") and node not in self._tokens:
            code, session = self._curl(node, "POST", "/api/login", {"name": ADMIN, "password": ADMIN_PASSWORD})
            assert code == 200, (code, session)
            self._tokens[node] = session["token"]
        token = self._tokens.get(node) if path.startswith("/api/") else None
        code, answer = self._curl(node, method, path, body, token)
        if code == 401 and node in self._tokens:   # a restarted controller: log in again
            del self._tokens[node]
            return self.api(node, method, path, body)
        return code, answer

    def _curl(self, node: str, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        argv = ["ip", "netns", "exec", self.ns(node), "curl", "-s", "-m", "10", "-X", method, "-w", "\n%{http_code}",
                "-H", "Content-Type: application/json"]
        if token:
            argv += ["-H", f"Authorization: Bearer {token}"]
        if body is not None:
            argv += ["--data-binary", json.dumps(body)]
        r = subprocess.run([*argv, f"http://127.0.0.1:8080{path}"], capture_output=True, text=True, timeout=20)
        payload, _, code = r.stdout.rpartition("\n")
        try:
            return int(code or 0), json.loads(payload) if payload.strip() else None
        except ValueError:
            return int(code or 0), payload

    def queue_members(self, node: str) -> str:
        return self.nodes[node].runtime.cli(f"queue show {QUEUE}", check=False) or ""

    def kill_node(self, name: str) -> None:
        """The whole node at once: its Asterisk and its controller."""
        self.controllers[name].kill()
        self.nodes[name].kill()

    def start_node(self, name: str) -> None:
        self.nodes[name].start()
        if not self.controllers[name].alive():
            self.controllers[name].start()
        self.wait_controller(name)

    # -- teardown -------------------------------------------------------------------------------
    def close(self) -> None:
        for controller in self.controllers.values():
            try:
                controller.stop()
            except Exception:   # noqa: BLE001  (teardown goes on whatever happens)
                pass
        for name, node in self.nodes.items():   # their logs stay with the rig's (kept when a test failed)
            for log in (node.runtime.cel_log, node.runtime.queue_log, node.runtime.log_dir / "messages"):
                if log.exists():
                    shutil.copy(log, self.workdir / f"{name}-{log.name}")
        super().close()
        subprocess.run(["bash", "-c", f"kill $(cat {self.store_dir}/redis.pid) 2>/dev/null"], capture_output=True)
        if (self.store_dir / "pg").exists():
            try:
                pg("stop", str(self.store_dir / "pg"))
            except AssertionError:
                pass
        shutil.rmtree(self.store_dir, ignore_errors=True)
