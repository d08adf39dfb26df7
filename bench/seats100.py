"""The seats100 scenario: N seats logged in to one queue, 2N callers held in the system, the
seats talking 20-30 s a call and hanging up themselves; measures audio damage (RTP loss and
jitter of the connected calls, from Asterisk's channel statistics) and how soon a free seat's
phone rings again while callers wait (from the seat UAS's SIP message trace).

Run through ``bench/run_bench.py --scenario seats100``; see bench/README.md, "Scenario seats100".
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

import benchrig
from benchrig import BenchStack, CpuSampler, Proc, parse_counts_csv, parse_stat_csv
from seats_parse import (audio_summary, parse_channelstats, parse_proc_net_udp, parse_queue_show,
                         parse_sipp_messages, percentile, ring_delays, seat_calls, udp_drops, highest_by_target)

QUEUE = "hotline"
# One sipp socket echoes the RTP of every seat (100 phones' worth, 5000 packets/s): with the kernel's
# default 208 KiB receive buffer a ~40 ms stall of sipp's echo thread on a busy machine drops
# packets that real phones, one socket each, would not (measured: 21 % of the seat legs' packets).
# The echo sockets get 4 MiB (see grow_socket_buffers). (The callers never read their RTP socket.)
RTP_BUFFER = 4 * 1024 * 1024
# The two sipps stand for 100 seat phones and 200 callers' phones, which have CPUs of their own. The
# kernel shares CPU per thread, and Asterisk runs hundreds of threads (one or more per channel): at
# normal priority sipp's one echo thread got so little of a saturated machine that it echoed only a
# third of the seats' packets (kernel drops at its socket; 68 % "loss" on the seat legs, with 0 drops
# at Asterisk's sockets). They run at nice -19: same work, same CPU taken from Asterisk, but served
# when their packets arrive, as separate devices would be.
LOADGEN_NICE = -19
TARGETS = {"ring_p99_s": 1.0, "loss_pct": 1.0, "jitter_p99_ms": 30.0}
DEFAULTS = {"levels": [(100, 200)], "warmup": 60.0, "seconds": 180.0, "caller_rate": 10.0,
            "strategy": "rrmemory", "ring_timeout": 15, "wrapup": 0}


def site_for(seats: int, strategy: str, ring_timeout: int, wrapup: int) -> dict[str, Any]:
    """The bench site with no static queue members (seats log in as dynamic members)."""
    site = benchrig.site_dict(seats)
    for s in site["seats"]:
        s["queues"] = []
    site["queues"][0].update(strategy=strategy, ring_timeout=ring_timeout, wrapup=wrapup)
    return site


class Sampler:
    """Samples ``queue show`` every ``q_every`` s and ``pjsip show channelstats`` every ``c_every`` s
    through the Asterisk CLI, each with the time it was taken (the middle of the CLI call)."""

    def __init__(self, cli: Callable[[str], str], q_every: float = 1.0, c_every: float = 2.0) -> None:
        self.cli, self.q_every, self.c_every = cli, q_every, c_every
        self.queue: list[tuple[float, dict[str, int]]] = []
        self.stats: list[tuple[float, list[dict[str, Any]]]] = []
        self.udp: list[tuple[float, dict[int, tuple[int, int]]]] = []
        self.errors: list[str] = []
        self.cli_seconds: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="seats100-sampler")

    def _take(self, command: str) -> tuple[float, str] | None:
        t0 = time.time()
        try:
            out = self.cli(command)
        except Exception as exc:  # a slow CLI under load: note it, keep sampling
            self.errors.append(f"{time.strftime('%H:%M:%S')} {command}: {exc}")
            return None
        t1 = time.time()
        self.cli_seconds.append(t1 - t0)
        return (t0 + t1) / 2, out

    def _run(self) -> None:
        next_q = next_c = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_q:
                next_q = now + self.q_every
                r = self._take(f"queue show {QUEUE}")
                if r:
                    try:
                        self.queue.append((r[0], parse_queue_show(r[1])))
                    except ValueError as exc:
                        self.errors.append(str(exc)[:200])
            if now >= next_c:
                next_c = now + self.c_every
                r = self._take("pjsip show channelstats")
                if r:
                    self.stats.append((r[0], parse_channelstats(r[1])))
                try:
                    self.udp.append((time.time(), parse_proc_net_udp(Path("/proc/net/udp").read_text())))
                except OSError as exc:
                    self.errors.append(f"/proc/net/udp: {exc}")
            self._stop.wait(max(0.05, min(next_q, next_c) - time.monotonic()))

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(15)


def grow_socket_buffers(pid: int, ports: set[int], size: int) -> dict[int, int]:
    """Give the UDP sockets of process ``pid`` bound to ``ports`` a ``size`` receive buffer, from
    outside (pidfd_getfd(2), Linux >= 5.6, root): sipp's ``-rtp_buffsize`` does not reach its
    ``-rtp_echo`` sockets. Returns port -> the buffer the kernel reports afterwards (bytes)."""
    import ctypes
    import socket
    libc = ctypes.CDLL(None, use_errno=True)
    by_inode = {inode: port for inode, (port, _) in parse_proc_net_udp(Path("/proc/net/udp").read_text()).items()
                if port in ports}
    out: dict[int, int] = {}
    pidfd = os.pidfd_open(pid)
    try:
        for fd_link in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd_link)
            except OSError:
                continue
            if not target.startswith("socket:["):
                continue
            port = by_inode.get(int(target[8:-1]))
            if port is None:
                continue
            dup = libc.syscall(438, pidfd, int(fd_link.name), 0)   # SYS_pidfd_getfd on x86_64
            if dup < 0:
                raise OSError(ctypes.get_errno(), f"pidfd_getfd({pid}, {fd_link.name})")
            sock = socket.socket(fileno=dup)
            try:
                sock.setsockopt(socket.SOL_SOCKET, 33, size)    # SO_RCVBUFFORCE: root, past rmem_max
                out[port] = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            finally:
                sock.close()   # closes our duplicate only; sipp's descriptor stays open
    finally:
        os.close(pidfd)
    return out


def add_members(stack: BenchStack, seats: list[str]) -> float:
    """Log every seat in as a dynamic queue member (what a seat login does), through the CLI."""
    t0 = time.monotonic()
    for sid in seats:
        out = stack.cli(f"queue add member PJSIP/{sid} to {QUEUE} penalty 0 as {sid} state_interface PJSIP/{sid}")
        if "Added interface" not in out:
            raise RuntimeError(f"queue add member PJSIP/{sid}: {out.strip()[:200]}")
    benchrig.wait_for(f"{len(seats)} queue members not in use",
                      lambda: parse_queue_show(stack.cli(f"queue show {QUEUE}"))["not_in_use"] >= len(seats),
                      timeout=60, interval=1)
    return time.monotonic() - t0


def start_callers(stack: BenchStack, callers: int, rate: float, label: str) -> tuple[Proc, Path, list[str]]:
    stat = stack.log_dir / f"caller-{label}.csv"
    stat.unlink(missing_ok=True)
    argv = ["nice", "-n", str(LOADGEN_NICE), "sipp", "-sf", str(benchrig.SIPP_DIR / "caller_waits.xml"), "-i", benchrig.TRUNK_IP,
            "-p", str(benchrig.TRUNK_PORT), "-mp", str(benchrig.CALLER_MEDIA), "-s", benchrig.HOTLINE_NUMBER,
            "-key", "caller", "13910000000", "-r", f"{rate:g}", "-l", str(callers), "-m", "1000000", "-nostdin",
            "-cp", str(benchrig.CONTROL_PORT_BASE + 1), "-trace_stat", "-stf", str(stat), "-fd", "1",
            "-trace_counts", "-trace_err", "-error_file", str(stack.log_dir / f"caller-{label}-errors.log"),
            f"127.0.0.1:{benchrig.SIP_PORT}"]
    log = stack.log_dir / f"caller-{label}.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=stack.log_dir)
    stack.caller = Proc("caller", popen, log)
    return stack.caller, stat, argv


def run_level(res: dict[str, Any], seats: int, callers: int, params: dict[str, Any], log_dir: Path, work: Path,
              say: Callable[[str], None]) -> dict[str, Any]:
    """One level: ``seats`` seats, ``callers`` callers held in the system. Fills ``res`` as it goes."""
    name = f"seats{seats}"
    site = site_for(seats, params["strategy"], params["ring_timeout"], params["wrapup"])
    stack = BenchStack(name=name, state_dir=work / "seats100", log_dir=log_dir, seats=seats, full=True,
                       say=say, site=site)
    res.update({"seats": seats, "callers": callers, "log_dir": str(log_dir), "load_generator_nice": LOADGEN_NICE,
                "queue": {
        "name": QUEUE, "strategy": params["strategy"], "ring_timeout": params["ring_timeout"],
        "wrapup": params["wrapup"], "members": "dynamic (queue add member ... state_interface, via the CLI)"}})
    trace = log_dir / "seat_messages.log"
    try:
        stack.build()
        assert stack.runtime is not None
        res["asterisk_version"] = stack.runtime.version
        stack.start_controller()
        res["seat_registration_seconds"] = round(stack.start_seats(
            scenario="seat_talks_uas.xml", extra_args=["-trace_msg", "-message_file", str(trace)],
            wait_members=False, nice=LOADGEN_NICE), 1)
        assert stack.seat_uas is not None
        # the echo and the SIP socket of the one UAS that stands for all the seats' phones
        res["seat_uas_rcvbuf"] = grow_socket_buffers(
            stack.seat_uas.popen.pid, {benchrig.SEAT_MEDIA, benchrig.SEAT_MEDIA + 2, benchrig.SEAT_PORT}, RTP_BUFFER)
        ids = benchrig.seat_ids(seats)
        res["member_login_seconds"] = round(add_members(stack, ids), 1)
        say(f"[{name}] {seats} seats registered and logged in to '{QUEUE}' as dynamic members")
        if params.get("queue_debug"):
            # diagnostic: app_queue's debug messages (whose turn, who is rung, "Nobody left to try") with ms times
            stack.cli("logger add channel queue-debug.log debug")
            stack.cli("core set debug 5 app_queue.so")
            res["queue_debug"] = True

        pids: dict[str, Callable[[], int | None]] = {
            "asterisk": lambda: stack.runtime.pid() if stack.runtime else None,
            "sipp_caller": lambda: stack.caller.popen.pid if stack.caller and stack.caller.alive() else None,
            "sipp_seats": lambda: stack.seat_uas.popen.pid if stack.seat_uas else None}
        if stack.controller:
            main = stack.controller.popen.pid
            pids["controller"] = lambda: main
            fa = stack.status().get("fastagi", {}).get("pid")
            for i, kid in enumerate(benchrig.descendants(main)):
                pids["controller_fastagi" if kid == fa else f"controller_child_{i}"] = (lambda k=kid: k)
        q0 = parse_queue_show(stack.cli(f"queue show {QUEUE}"))
        st0 = stack.status()
        with Sampler(stack.cli) as sampler:
            t_start = time.time()
            proc, stat, argv = start_callers(stack, callers, params["caller_rate"], name)
            res["caller_command"] = " ".join(argv)
            say(f"[{name}] {callers} callers at up to {params['caller_rate']:g} calls/s; warm-up "
                f"{params['warmup']:g} s, then {params['seconds']:g} s measured")
            time.sleep(params["warmup"])
            t_win0 = time.time()
            with CpuSampler(pids) as cpu:
                end = time.monotonic() + params["seconds"]
                while time.monotonic() < end:
                    time.sleep(min(15.0, max(0.0, end - time.monotonic())))
                    if not proc.alive():
                        raise RuntimeError(f"the caller sipp exited early ({proc.popen.returncode}); see {proc.log}")
                    q = sampler.queue[-1][1] if sampler.queue else {}
                    say(f"[{name}]   t+{time.time() - t_start:5.0f} s: {q.get('callers')} callers in the queue, "
                        f"{q.get('in_use')} seats in use, {q.get('not_in_use')} free, completed "
                        f"{q.get('completed', 0) - q0['completed']}")
            t_win1 = time.time()
            time.sleep(5)   # the horizon: a seat freed at the end of the window gets 5 s to ring
            t_horizon = time.time()
        res["cpu"] = cpu.summary()
        ours = sum(v["mean"] for k, v in res["cpu"].items() if k != "machine_busy_pct_of_all_cores")
        machine = res["cpu"].get("machine_busy_pct_of_all_cores", {}).get("mean", 0.0)
        res["other_cpu_pct"] = round(max(0.0, machine * cpu_count() - ours), 1)   # % of one core, not ours
        res["window"] = {"load_start": t_start, "start": t_win0, "end": t_win1, "horizon": t_horizon,
                         "seconds": round(t_win1 - t_win0, 1)}
        res["status_after"] = st1 = stack.status()
        res["fastagi_commands"] = st1.get("fastagi", {}).get("commands", 0) - st0.get("fastagi", {}).get("commands", 0)
        q1 = parse_queue_show(stack.cli(f"queue show {QUEUE}"))
        res["queue_completed"] = q1["completed"] - q0["completed"]
        res["queue_abandoned"] = q1["abandoned"] - q0["abandoned"]
        res["sampler"] = {"queue_samples": len(sampler.queue), "channelstats_samples": len(sampler.stats),
                          "errors": sampler.errors[:20],
                          "cli_p50_s": percentile(sampler.cli_seconds, 50),
                          "cli_max_s": max(sampler.cli_seconds) if sampler.cli_seconds else None}
        in_win = [q for t, q in sampler.queue if t_win0 <= t <= t_win1]
        res["queue_in_window"] = {
            "callers_min": min((q["callers"] for q in in_win), default=None),
            "callers_mean": round(sum(q["callers"] for q in in_win) / len(in_win), 1) if in_win else None,
            "callers_max": max((q["callers"] for q in in_win), default=None),
            "seats_in_use_mean": round(sum(q["in_use"] for q in in_win) / len(in_win), 1) if in_win else None,
            "seats_free_mean": round(sum(q["not_in_use"] for q in in_win) / len(in_win), 2) if in_win else None,
            "seats_free_max": max((q["not_in_use"] for q in in_win), default=None),
        }

        # Stop: callers first (hard: sipp sends nothing more), then every channel still up.
        proc.stop()
        sipp = parse_stat_csv(stat)
        counts = stack.log_dir / f"caller_waits_{proc.popen.pid}_counts.csv"
        if counts.exists():
            sipp["message_counters"] = parse_counts_csv(counts)
        res["caller_sipp"] = sipp
        stack.cli("channel request hangup all", timeout=30)
        try:
            res["drain_seconds"] = round(stack.wait_idle(60), 1)
        except RuntimeError as exc:
            res["drain_error"] = str(exc)
        stack.seat_uas.stop() if stack.seat_uas else None
        seat_stat = log_dir / "seat_uas_stat.csv"
        if seat_stat.exists():
            res["seat_sipp"] = {k: v for k, v in parse_stat_csv(seat_stat).items()
                                if k in ("created", "successful", "failed", "failed_detail", "retransmissions",
                                         "dead_call_msgs", "out_of_call_msgs")}

        # (b) ring delay from the seat side
        msgs = parse_sipp_messages(trace.read_text(errors="replace"))
        calls = seat_calls(msgs)
        waiting = [(t, q["callers"]) for t, q in sampler.queue]
        delays = ring_delays(calls, waiting, (t_win0, t_win1), t_horizon, wrapup=params["wrapup"])
        vals = [d["delay_s"] for d in delays]
        res["ring_delay"] = {
            "events": len(delays), "censored": sum(1 for d in delays if d["censored"]),
            **{f"p{p}_s": (None if (v := percentile(vals, p)) is None else round(v, 3)) for p in (50, 90, 99)},
            "max_s": round(max(vals), 3) if vals else None,
            "over_1s": sum(1 for v in vals if v > 1.0),
            "seats_seen": len(calls.invites), "invites_total": sum(len(v) for v in calls.invites.values()),
            "ends_total": sum(len(v) for v in calls.ends.values()),
            "worst": sorted(delays, key=lambda d: -d["delay_s"])[:10],
        }
        # (a) audio damage from Asterisk's RTP statistics
        res["audio"] = audio_summary(sampler.stats, (t_win0, t_win1), TARGETS["jitter_p99_ms"])
        # where packets were dropped: per socket receive-buffer drops of the kernel (all on loopback)
        groups = {"asterisk_rtp": (benchrig.RTP_START, benchrig.RTP_END),
                  "seat_echo_sipp": (benchrig.SEAT_MEDIA, benchrig.SEAT_MEDIA + 3),
                  "caller_media_sipp_never_read": (benchrig.CALLER_MEDIA, benchrig.RTP_START - 1),
                  "sip": (benchrig.SIP_PORT, benchrig.SIP_PORT), "seat_sip_sipp": (benchrig.SEAT_PORT, benchrig.SEAT_PORT),
                  "trunk_sip_sipp": (benchrig.TRUNK_PORT, benchrig.TRUNK_PORT)}
        res["udp_drops_in_window"] = udp_drops(sampler.udp, (t_win0, t_win1), groups)
        res["targets"] = level_targets(res)
        res["pass"] = all(t["result"] == "PASS" for t in res["targets"])
        res["asterisk_warnings"] = stack.asterisk_warnings()
        return res
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
        say(f"[{name}] ERROR: {res['error']}")
        raise
    finally:
        stack.copy_asterisk_logs()
        if params.get("queue_debug") and stack.runtime is not None:
            import shutil
            f = stack.runtime.log_dir / "queue-debug.log"
            if f.exists():
                shutil.copy2(f, log_dir / "asterisk-queue-debug.log")
        stack.close()
        if stack.runtime is not None:
            import shutil
            shutil.rmtree(stack.runtime.recordings_dir, ignore_errors=True)
        say(f"[{name}] stopped; logs in {log_dir}")


def level_targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    out = []

    def add(name: str, target: str, value: Any, ok: bool | None, note: str = "") -> None:
        out.append({"name": name, "target": target, "value": value,
                    "result": "n/a" if ok is None else ("PASS" if ok else "FAIL"), "note": note})

    rd = res.get("ring_delay", {})
    p99 = rd.get("p99_s")
    add("free seat rings (seat free -> next INVITE at the seat) p99", f"<= {TARGETS['ring_p99_s']:g} s",
        p99, None if p99 is None else p99 <= TARGETS["ring_p99_s"],
        f"{rd.get('events')} seat-free events with callers waiting, {rd.get('censored')} never rang again")
    conn = res.get("audio", {}).get("connected", {})
    loss = conn.get("loss", {}).get("loss_pct")
    add("RTP loss, connected calls (both legs, as received by Asterisk)", f"< {TARGETS['loss_pct']:g} %", loss,
        None if loss is None else loss < TARGETS["loss_pct"],
        f"{conn.get('loss', {}).get('legs')} legs, {conn.get('loss', {}).get('packets_lost')} of "
        f"{conn.get('loss', {}).get('packets_received')} packets lost")
    jp99 = conn.get("jitter", {}).get("p99_ms")
    add("RTP jitter p99, connected calls (Asterisk's RFC 3550 estimate, 2 s samples)",
        f"< {TARGETS['jitter_p99_ms']:g} ms", jp99, None if jp99 is None else jp99 < TARGETS["jitter_p99_ms"],
        f"{conn.get('jitter', {}).get('samples')} samples, max {conn.get('jitter', {}).get('max_ms')} ms")
    sipp = res.get("caller_sipp", {})
    failed = sipp.get("failed")
    add("callers' SIP: no failed call, no retransmission", "0 / 0", f"{failed} / {sipp.get('retransmissions')}",
        None if failed is None else failed == 0 and sipp.get("retransmissions") == 0)
    return out


def run(params: dict[str, Any], log_root: Path, work: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Every level in order; stops after the first level that passes (levels given high to low)."""
    out: dict[str, Any] = {"levels": []}
    for seats, callers in params["levels"]:
        lvl: dict[str, Any] = {}
        out["levels"].append(lvl)
        waited, busy = benchrig.wait_cpu_quiet(params.get("quiet_pct", 15.0), params.get("quiet_wait", 120.0))
        lvl.update({"quiet_wait_seconds": round(waited, 1), "machine_busy_pct_before": round(busy, 1),
                    "foreign_processes_before": params.get("foreign", lambda: [])()})
        say(f"== seats100: {seats} seats, {callers} callers (machine {busy:.0f}% busy after waiting {waited:.0f} s "
            f"for it to be quiet) ==")
        run_level(lvl, seats, callers, params, log_root / f"seats{seats}", work, say)
        for t in lvl["targets"]:
            say(f"{t['result']:>4}  {t['name']}: {t['value']} (target {t['target']}) — {t['note']}")
        if lvl["pass"]:
            break
    held = [lv for lv in out["levels"] if lv.get("pass")]
    out["highest_level_that_holds"] = ({"seats": held[0]["seats"], "callers": held[0]["callers"]} if held else None)
    out["highest_level_by_target"] = highest_by_target(out["levels"])
    return out


def readme_section(results: dict[str, Any]) -> str:
    m, p = results["machine"], results["parameters"]
    lines = [f"Run `{results['run_id']}` (`{results['file']}`): {m['nproc']} × {m['cpu_model']}, Asterisk "
             f"{results.get('asterisk_version', '?')}, {m['sipp']}; queue strategy {p['strategy']}, ring timeout "
             f"{p['ring_timeout']} s, wrap-up {p['wrapup']} s; seats talk 20-30 s (uniform) and hang up; "
             f"{p['warmup']:g} s warm-up, {p['seconds']:g} s measured a level; run took "
             f"{results['duration_seconds']:.0f} s.", ""]
    for lv in results["seats100"]["levels"]:
        if "targets" not in lv:
            lines += [f"**{lv.get('seats')} seats / {lv.get('callers')} callers**: did not complete: "
                      f"{lv.get('error', '?')}", ""]
            continue
        q, rd, a, cpu = lv["queue_in_window"], lv["ring_delay"], lv["audio"], lv["cpu"]

        def c(name: str) -> str:
            v = cpu.get(name)  # noqa: B023  (called within this iteration only)
            return f"{v['mean']} (max {v['max']})" if v else "–"
        lines += [f"**{lv['seats']} seats / {lv['callers']} callers** — {'PASS' if lv['pass'] else 'FAIL'}: "
                  f"in the measured {lv['window']['seconds']:g} s, {q['callers_mean']} callers in the queue on average "
                  f"(min {q['callers_min']}), {q['seats_in_use_mean']} seats in use, {lv['queue_completed']} calls "
                  f"answered and ended, {lv['queue_abandoned']} abandoned. CPU % of one core, mean (max): Asterisk "
                  f"{c('asterisk')}, controller {c('controller')} + FastAGI {c('controller_fastagi')}, sipp callers "
                  f"{c('sipp_caller')}, sipp seats {c('sipp_seats')}; machine {c('machine_busy_pct_of_all_cores')} % "
                  f"of both cores, of which other processes (not this run's; e.g. a test run) "
                  f"{lv.get('other_cpu_pct')} % of one core.", "",
                  "| target | wanted | measured | result |", "| --- | --- | --- | --- |"]
        for t in lv["targets"]:
            note = f" ({t['note']})" if t.get("note") else ""
            lines.append(f"| {t['name']} | {t['target']} | {t['value']}{note} | {t['result']} |")
        lines += ["", f"Ring delay: p50 {rd['p50_s']} s, p90 {rd['p90_s']} s, p99 {rd['p99_s']} s, max {rd['max_s']} s "
                  f"over {rd['events']} events ({rd['over_1s']} over 1 s). Audio of connected calls: caller legs "
                  f"loss {a['caller_legs']['loss']['loss_pct']} %, jitter p50/p99/max "
                  f"{a['caller_legs']['jitter']['p50_ms']}/{a['caller_legs']['jitter']['p99_ms']}/"
                  f"{a['caller_legs']['jitter']['max_ms']} ms; seat legs (echo) loss "
                  f"{a['seat_legs']['loss']['loss_pct']} %, jitter p50/p99/max {a['seat_legs']['jitter']['p50_ms']}/"
                  f"{a['seat_legs']['jitter']['p99_ms']}/{a['seat_legs']['jitter']['max_ms']} ms; waiting callers' legs "
                  f"jitter p99 {a['waiting_caller_legs']['jitter']['p99_ms']} ms. UDP datagrams the kernel dropped "
                  f"(socket receive buffer full) in the window: {lv.get('udp_drops_in_window', '–')}.", ""]
    held = results["seats100"].get("highest_level_that_holds")
    lines.append("Highest level that holds every target: " + (f"{held['seats']} seats / {held['callers']} callers."
                                                              if held else "none of the levels run."))
    by = results["seats100"].get("highest_level_by_target") or {}
    if by:
        lines += ["", "Highest level (seats:callers) meeting each target on its own: "
                  + "; ".join(f"{k}: {v or 'none'}" for k, v in by.items()) + "."]
    return "\n".join(lines)


def cpu_count() -> int:
    return os.cpu_count() or 1
