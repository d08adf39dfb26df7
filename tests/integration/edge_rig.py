"""The edge rig: real hosts in network namespaces (issue 14, item 4).

A small LAN of its own, apart from every other rig (nothing listens on this machine's addresses):

    <tag>-sw       a switch: the bridge br0; every host's veth is a port of it
    <tag>-carrier  the carrier trunk 10.214.0.10 and a stranger 10.214.0.20 (not a trunk): sipp
    <tag>-edge     Kamailio on 10.214.0.2:5060 (hotline/edge_runtime.py, as the kamailio account)
    <tag>-node-a   Asterisk on 10.214.0.11:5060
    <tag>-node-b   Asterisk on 10.214.0.12:5060

Addresses are 10.214.0.0/24 on veth pairs: 127/8 addresses cannot leave a loopback device, and
these exist only inside the rig's namespaces, so they clash with nothing on the machine. Each
Asterisk is the cached chroot root (the one every rig uses) with its own instance directory
(etc, log, spool, run, lib: hotline/asterisk_runtime.py), started inside its namespace
(``ip netns exec``). The nodes run the generated pjsip.conf of the site (ACL, the edge's trunk
identify, the probe endpoint, the seat registered at the edge, the other nodes' seat states) with
a minimal dialplan: answer and echo, dial the seat, or wait in the queue ``pool`` whose one
member is the seat (no controller per node). Calls are counted per node from each Asterisk's CEL
log.

``Rig.close`` stops every process and deletes every namespace, whatever happened before.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hotline import asterisk_runtime, edge_runtime
from hotline.config import parse_site
from hotline.config.site import SiteConfig
from hotline.deploy import generate_edge
from trunk_config import GenerateOptions, generate, write

ROOT = Path(os.environ.get("HOTLINE_ASTERISK_ROOT", "/var/cache/hotline/asterisk-root"))
NET = "10.214.0"
EDGE_IP, CARRIER_IP, STRANGER_IP, SEAT_IP = f"{NET}.2", f"{NET}.10", f"{NET}.20", f"{NET}.30"
SEAT, SEAT_SECRET = "1001", "edge-seat-1001"
NODES = {"node-a": f"{NET}.11", "node-b": f"{NET}.12"}
SERVICE = "12345"
REPO_SIPP = Path(__file__).resolve().parents[1] / "sipp"


def why_not() -> str | None:
    """Why the rig cannot run here, or None."""
    if os.geteuid() != 0:
        return "the edge rig needs root (network namespaces, a chroot)"
    for tool in ("ip", "sipp", "chroot"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not edge_runtime.installed():
        return "kamailio is not installed (Debian package kamailio: scripts/setup.sh --test)"
    if not (ROOT / "usr/sbin/asterisk").exists():
        return f"no Asterisk root at {ROOT} (hotline asterisk install)"
    return None


PREFIX = "hle"   # every rig namespace is <PREFIX><pid of the test process>-<host>


def rig_tag() -> str:
    return f"{PREFIX}{os.getpid()}"


def sweep_stale() -> list[str]:
    """Namespaces (and whatever runs in them) and Asterisk instances left by a rig whose test
    process is gone (killed before its teardown ran). Returns the namespaces removed."""
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    removed = []
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        owner = name[len(PREFIX):].split("-", 1)[0]
        if not name.startswith(PREFIX) or not owner.isdigit() or _alive(int(owner)):
            continue
        _kill_netns(name)
        removed.append(name)
    instances = ROOT / "srv" / "hotline-edge"
    for inst in instances.glob(f"{PREFIX}*") if instances.is_dir() else []:
        owner = inst.name[len(PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(inst, ignore_errors=True)
    return removed


def _kill_netns(name: str) -> None:
    r = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    for pid in r.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def _ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")


def seat_ids(count: int = 1) -> list[str]:
    """The rig's seats: 1001, 1002, ... (their passwords edge-seat-<id>)."""
    return [str(1001 + i) for i in range(count)]


RESTING_SEAT, RESTING_WRAPUP_S = "1009", 4   # a seat of a queue with a wrap-up: the edge rests it after each call


def site_data(seats: int = 1) -> dict[str, Any]:
    return {
        "site": {"node": "node-a"},
        "asterisk": {"sip_bind": "0.0.0.0", "sip_port": 5060, "rtp_start": 20000, "rtp_end": 20999},
        "trunks": [{"name": "carrier", "host": CARRIER_IP, "port": 5070}],
        "queues": [{"name": "hotline"}, {"name": "rest", "wrapup": RESTING_WRAPUP_S}],
        "seats": [{"id": s, "name": f"Seat {s}", "secret": f"edge-seat-{s}", "remote": True} for s in seat_ids(seats)]
        + [{"id": RESTING_SEAT, "name": "Seat resting", "secret": f"edge-seat-{RESTING_SEAT}", "remote": True,
            "queues": ["rest"]}],
        "edge": {"listen": EDGE_IP, "port": 5060,
                 "nodes": [{"name": n, "address": a, "sip_port": 5060} for n, a in NODES.items()],
                 "pike": {"requests": 15, "window": 2, "block": 30}},
    }


# Minimal dialplan of a node: answer and echo; the caller identity the node saw is in CEL.
DIALPLAN = """; generated by the edge rig: answer and echo
[general]
static=yes
writeprotect=yes

[from-trunk-carrier]
exten => 1001,1,Dial(PJSIP/1001,10)
 same => n,Hangup()
exten => 1009,1,Dial(PJSIP/1009,10)
 same => n,Hangup()
exten => pool,1,Answer()
 same => n,Queue(pool,,,,60)
 same => n,Hangup()
exten => _X.,1,Answer()
 same => n,Echo()
exten => _+X.,1,Answer()
 same => n,Echo()
"""


# The one seat pool: every node's queue has the seats (registered at the edge) as its members.
QUEUES = """; generated by the edge rig: one queue, the seats
[general]
persistentmembers=no
shared_lastcall=yes

[pool]
strategy=rrmemory
ringinuse=no
timeout=15
retry=1
wrapuptime=0
"""


def queues_conf(seats: int = 1) -> str:
    return QUEUES + "".join(f"member => PJSIP/{s}\n" for s in seat_ids(seats))


@dataclass(frozen=True)
class NodeRuntime(asterisk_runtime.Runtime):
    """An Asterisk of the chroot root run inside a network namespace."""

    netns: str = ""

    def _wrap(self, base: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *super()._wrap(base)]


@dataclass
class Node:
    name: str
    address: str
    runtime: NodeRuntime
    workdir: Path

    def calls(self) -> list[dict[str, Any]]:
        """The calls this node took (CEL CHAN_START of the trunk's context), oldest first."""
        out = []
        try:
            lines = self.runtime.cel_log.read_text(errors="replace").splitlines()
        except OSError:
            return []
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("eventtype") == "CHAN_START" and str(ev.get("context", "")).startswith("from-trunk-"):
                out.append(ev)
        return out

    def events(self) -> list[dict[str, Any]]:
        """Every CEL event of this node, oldest first."""
        out = []
        try:
            lines = self.runtime.cel_log.read_text(errors="replace").splitlines()
        except OSError:
            return []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def kill(self) -> None:
        """A crash: SIGKILL, no goodbye to anyone."""
        pid = self.runtime.pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not _alive(pid), 10, f"{self.name} to die")
        # Its pid file stays behind, and its pid may stay a zombie for a while (init reaps it):
        # Runtime.start would take that for a running Asterisk.
        self.runtime.pid_file.unlink(missing_ok=True)

    def start(self) -> None:
        self.runtime.start(timeout=90)


@dataclass
class Rig:
    tag: str
    workdir: Path
    site: SiteConfig | None = None
    namespaces: list[str] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    edge: edge_runtime.Edge | None = None
    seats: int = 1   # the site's seats: 1001 ... (seat_ids)

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    # -- network ------------------------------------------------------------------
    def build_network(self) -> None:
        sw = self.ns("sw")
        self._add_ns(sw)
        _ip("-n", sw, "link", "add", "br0", "type", "bridge")
        _ip("-n", sw, "link", "set", "dev", "br0", "up")
        hosts = {"carrier": [CARRIER_IP, STRANGER_IP, SEAT_IP], "edge": [EDGE_IP], **{n: [a] for n, a in NODES.items()}}
        for i, (host, addresses) in enumerate(hosts.items()):
            name = self.ns(host)
            self._add_ns(name)
            _ip("link", "add", "eth0", "netns", name, "type", "veth", "peer", "name", f"p{i}", "netns", sw)
            _ip("-n", sw, "link", "set", "dev", f"p{i}", "master", "br0", "up")
            for a in addresses:
                _ip("-n", name, "addr", "add", f"{a}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "dev", "eth0", "up")

    def _add_ns(self, name: str) -> None:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)   # a leftover of a killed run
        _ip("netns", "add", name)
        self.namespaces.append(name)
        _ip("-n", name, "link", "set", "dev", "lo", "up")

    # -- hosts --------------------------------------------------------------------
    def start_nodes(self) -> None:
        base = site_data(self.seats)
        for name, address in NODES.items():
            data = {**base, "site": {"node": name}}
            site = parse_site(data)
            work = self.workdir / name
            generated = work / "etc"
            files = generate(site, GenerateOptions(ami_secret="edge-rig-ami-secret", recordings_dir="/tmp"))
            files["extensions.conf"] = DIALPLAN
            files["queues.conf"] = queues_conf(self.seats)
            write(files, generated)
            runtime = NodeRuntime(mode="chroot", root=ROOT, instance=f"/srv/hotline-edge/{self.tag}-{name}",
                                  version="", netns=self.ns(name))
            runtime.deploy(generated, None, systemname=name)
            node = Node(name, address, runtime, work)
            self.nodes[name] = node
        for node in self.nodes.values():
            node.start()

    def start_edge(self) -> None:
        self.site = parse_site(site_data(self.seats))
        edge = edge_runtime.Edge(directory=self.workdir / "edge", prefix=["ip", "netns", "exec", self.ns("edge")])
        generate_edge(self.site, edge)
        edge.check()
        self.edge = edge
        edge.start()

    def node_flags(self) -> dict[str, str]:
        """Each node's dispatcher flags at the edge by node name (AP: in, IP/FP: out)."""
        assert self.edge is not None
        by_uri = self.edge.nodes()
        return {n: by_uri.get(f"sip:{a}:5060", "?") for n, a in NODES.items()}

    def in_rotation(self) -> set[str]:
        return {n for n, f in self.node_flags().items() if f.startswith("A")}

    # -- callers ------------------------------------------------------------------
    def sipp(self, scenario: Path, *, calls: int, rate: float = 10, caller: str = "+8613800000000",
             source: str = CARRIER_IP, port: int = 5070, limit: int = 50, extra: tuple[str, ...] = (),
             service: str = SERVICE, timeout_s: int = 120,
             background: bool = False) -> subprocess.Popen[str] | subprocess.CompletedProcess[str]:
        stats = self.workdir / f"sipp-{time.monotonic_ns()}"
        argv = ["ip", "netns", "exec", self.ns("carrier"), "sipp", f"{EDGE_IP}:5060", "-sf", str(scenario),
                "-s", service, "-i", source, "-p", str(port), "-m", str(calls), "-r", str(rate), "-l", str(limit),
                "-key", "caller", caller, "-nostdin", "-timeout", str(timeout_s), "-trace_err", "-trace_logs",
                "-error_file", f"{stats}.err", "-log_file", f"{stats}.log",
                "-mp", str(30000 + 10 * (port - 5000)), *extra]   # sipp takes mp and mp+2
        if background:   # its screen goes to <stats>.out (a pipe nobody reads could fill up)
            with open(f"{stats}.out", "w") as out:
                proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=self.workdir,
                                        start_new_session=True)
            proc.args = f"{stats}.out"   # where its output is (tests/integration/test_edge.py reads it)
            return proc
        return subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=self.workdir)

    def seat_phone(self, seat: str, port: int, talk_ms: int) -> subprocess.Popen[str]:
        """Seat ``seat``'s phone (sipp, tests/sipp/edge_seat.xml) registered at the edge from
        SEAT_IP:``port`` and reachable from every node: it answers each call after ringing 300 ms
        and hangs up after ``talk_ms`` (or at the caller's BYE). The caller kills it."""
        reg = self.sipp(REPO_SIPP / "register.xml", calls=1, rate=1, source=SEAT_IP, port=port,
                        extra=("-key", "user", seat, "-key", "contact_port", str(port), "-au", seat,
                               "-ap", f"edge-seat-{seat}"))
        assert isinstance(reg, subprocess.CompletedProcess), reg
        assert reg.returncode == 0, reg.stdout[-2000:]
        scenario = self.workdir / f"edge-seat-{talk_ms}.xml"
        scenario.write_text((REPO_SIPP / "edge_seat.xml").read_text().replace("TALK_MS", str(talk_ms)))
        phone = self.sipp(scenario, calls=1000, rate=1, source=SEAT_IP, port=port, background=True,
                          timeout_s=3600)   # it lives as long as the module's tests
        assert isinstance(phone, subprocess.Popen)
        for node in self.nodes.values():   # at once, not at the next qualify
            node.runtime.cli(f"pjsip qualify {seat}", check=False)
        for node in self.nodes.values():
            wait_for(lambda n=node: "Avail" in (n.runtime.cli(f"pjsip show contacts like {seat}", check=False) or ""),
                     20, f"seat {seat} reachable from {node.name} through the edge")   # type: ignore[misc]
        return phone

    # -- teardown -----------------------------------------------------------------
    def close(self) -> None:
        if self.edge is not None:
            try:
                self.edge.stop()
            except Exception:   # noqa: BLE001  (teardown goes on whatever happens)
                pass
        for node in self.nodes.values():
            try:
                pid = node.runtime.pid()
                if pid:
                    os.kill(pid, signal.SIGKILL)
            except Exception:   # noqa: BLE001
                pass
        # Anything still running in a namespace (sipp in the background) dies with it.
        for name in reversed(self.namespaces):
            _kill_netns(name)
        self.namespaces.clear()
        for node in self.nodes.values():
            instance = node.runtime.host_path(node.runtime.instance)
            shutil.rmtree(instance, ignore_errors=True)
            try:
                instance.parent.rmdir()   # /srv/hotline-edge, when no other edge rig runs
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
