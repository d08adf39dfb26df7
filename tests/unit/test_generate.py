"""Golden-file and property tests of the Asterisk configuration generators (trunk_config).

Each directory ``tests/golden/<case>/`` holds a ``site.yaml`` and the six files
generated from it (pjsip.conf, extensions.conf, queues.conf, manager.conf,
rtp.conf), compared byte for byte. ``minimal/site.yaml`` and ``nantong/site.yaml``
are symlinks to the examples, so the examples are what is tested.

After an intended change to a generator, rewrite the golden files and review the diff::

    HOTLINE_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_generate.py tests/unit/test_importer.py
    git diff tests/golden examples

(``test_importer.py`` rewrites ``examples/nantong/site.yaml`` under the same variable.)

Generation uses a fixed AMI secret and recordings directory, so the files are the
same on every machine. Beyond the byte comparison, the security and routing
properties the files must have are checked on every case directly, so a golden
update can never quietly accept an anonymous endpoint, an open ACL, an AMI on a
public address or a caller-controlled value reaching an application.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from hotline.config import load_site, parse_site
from hotline.config.edge import EdgeNode
from hotline.config.site import NumberMode, SiteConfig, Transition
from queue_manager.membership import member_interface, memberships
from trunk_config import GenerateOptions, generate
from hotline.spine.plan import MODES, Flow, department_dial, transfer_targets

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "site.yaml").exists())
FILES = ("pjsip.conf", "http.conf", "extensions.conf", "queues.conf", "queuerules.conf", "manager.conf", "rtp.conf",
         "modules-pool.conf",
         "musiconhold.conf")
OPTIONS = GenerateOptions(ami_secret="golden-ami-secret-0123456789", recordings_dir="/var/spool/asterisk/monitor",
                          agi_key="golden-agi-key-0123456789")
UPDATE = os.environ.get("HOTLINE_UPDATE_GOLDEN") == "1"


def _site(case: str) -> SiteConfig:
    return load_site(GOLDEN / case / "site.yaml", environ={})


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> tuple[str, SiteConfig, dict[str, str]]:
    site = _site(request.param)
    return request.param, site, generate(site, OPTIONS)


def test_the_golden_cases_exist() -> None:
    assert {"minimal", "routing", "nantong"} <= set(CASES)


# --- byte-for-byte ---------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_generated_files_match_golden(name: str) -> None:
    files = generate(_site(name), OPTIONS)
    assert sorted(files) == sorted(FILES)
    stale = []
    for fname, text in files.items():
        golden = GOLDEN / name / fname
        if UPDATE:
            golden.write_bytes(text.encode("utf-8"))
            continue
        assert golden.exists(), f"{golden} missing: run with HOTLINE_UPDATE_GOLDEN=1"
        expected = golden.read_bytes().decode("utf-8")
        if text != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                f"golden/{name}/{fname}", "generated", n=2))
            stale.append(diff[:4000])
    assert not stale, ("generated files differ from the golden ones (HOTLINE_UPDATE_GOLDEN=1 rewrites them):\n"
                       + "\n".join(stale))
    edge = {"kamailio.cfg", "dispatcher.list", "seats.cfg"}   # the edge's files: tests/unit/test_kamailio.py
    extra = {p.name for p in (GOLDEN / name).iterdir()} - {"site.yaml", *FILES, *edge}
    assert not extra, f"unexpected files in golden/{name}: {sorted(extra)}"


def test_generation_is_deterministic() -> None:
    site = _site("nantong")
    assert generate(site, OPTIONS) == generate(_site("nantong"), OPTIONS)


# --- parsing helpers -------------------------------------------------------------


def sections(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """An Asterisk ini file as [(section name, [(key, value), ...]), ...] in order."""
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        m = re.fullmatch(r"\[([^\]]+)\](?:\(.*\))?", line)
        if m:
            out.append((m.group(1), []))
            continue
        assert out, f"option outside a section: {line!r}"
        key, _, value = re.split(r"\s*(=>|=)\s*", line, maxsplit=1)
        out[-1][1].append((key, value))
    return out


def typed(text: str, type_: str) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for name, opts in sections(text):
        if ("type", type_) in opts:
            assert name not in found, f"two [{name}] sections of type {type_}"
            found[name] = opts
    return found


def values(opts: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in opts if k == key]


def value(opts: list[tuple[str, str]], key: str) -> str:
    found = values(opts, key)
    assert len(found) == 1, f"expected one {key!r} option, found {found} in {opts}"
    return found[0]


def contexts(text: str) -> dict[str, list[str]]:
    """extensions.conf: context name -> its dialplan lines."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.fullmatch(r"\[([^\]]+)\]", line.strip())
        if m:
            current = m.group(1)
            assert current not in out, f"context [{current}] twice"
            out[current] = []
        elif current and line.strip() and not line.lstrip().startswith(";"):
            out[current].append(line.strip())
    return out


def app(line: str) -> str:
    """The application part of 'exten => x,1,App(...)' or ' same => n(label),App(...)'."""
    return re.sub(r"^(exten => [^,]+,1|same => n(\([a-z]+\))?),", "", line)


# --- pjsip.conf --------------------------------------------------------------------


def test_no_anonymous_endpoint(case) -> None:
    _, _, files = case
    pjsip = files["pjsip.conf"]
    assert "anonymous" not in pjsip.lower()
    for name, opts in typed(pjsip, "endpoint").items():
        assert name != "anonymous"
        assert values(opts, "context"), f"endpoint {name} without context"


def test_each_trunk_is_identified_by_its_networks(case) -> None:
    _, site, files = case
    identify = typed(files["pjsip.conf"], "identify")
    endpoints = typed(files["pjsip.conf"], "endpoint")
    for trunk in site.trunks:
        name = f"trunk-{trunk.name}"
        assert name in endpoints
        assert value(endpoints[name], "context") == f"from-trunk-{trunk.name}"
        assert value(identify[name], "endpoint") == name
        assert values(identify[name], "match") == trunk.networks
        assert trunk.networks
        if site.edge is not None:   # behind the edge: by the edge's header (only the edge passes the ACL)
            assert identify[f"{name}-edge"] == [("type", "identify"), ("endpoint", name),
                                                ("match_header", f"X-Hotline-Trunk: {trunk.name}")]
    per_trunk = 1 if site.edge is None else 2
    for peer in _peers(site):   # the other nodes, by address: their PUBLISHes of seat states only
        name = f"hotline-node-{peer.name}"
        assert identify[name] == [("type", "identify"), ("endpoint", name), ("match", peer.address)]
    assert len(identify) == per_trunk * len(site.trunks) + len(_peers(site)), \
        "an identify section for something that is neither a trunk nor another node"


def _peers(site: SiteConfig) -> list[EdgeNode]:
    """The other nodes of a site behind the edge (they share its seats' device states)."""
    if site.edge is None or site.site.node is None:
        return []
    return [n for n in site.edge.nodes if n.name != site.site.node]


def test_registration_trunks_authenticate_outbound(case) -> None:
    _, site, files = case
    pjsip = files["pjsip.conf"]
    auths = typed(pjsip, "auth")
    regs = typed(pjsip, "registration")
    for trunk in site.trunks:
        name = f"trunk-{trunk.name}"
        if trunk.mode == "registration":
            assert value(typed(pjsip, "endpoint")[name], "outbound_auth") == f"{name}-auth"
            assert value(auths[f"{name}-auth"], "username") == trunk.username
            assert value(auths[f"{name}-auth"], "password") == trunk.secret
            assert value(regs[f"{name}-reg"], "outbound_auth") == f"{name}-auth"
        else:
            assert f"{name}-reg" not in regs


def test_acl_denies_all_and_permits_only_trunks_and_seats(case) -> None:
    _, site, files = case
    acl = typed(files["pjsip.conf"], "acl")
    assert list(acl) == ["hotline-acl"]
    opts = [(k, v) for k, v in acl["hotline-acl"] if k != "type"]
    # Asterisk applies ACL rules in order, the last match wins: deny everything first.
    assert opts[:2] == [("deny", "0.0.0.0/0.0.0.0"), ("deny", "::/0")]  # IPv4 and IPv6
    assert [k for k, _ in opts[2:]] == ["permit"] * (len(opts) - 2)
    permitted = {ipaddress.ip_network(v, strict=False) for _, v in opts[2:]}
    expected = {ipaddress.ip_network(n, strict=False)
                for n in [*(n for t in site.trunks for n in t.networks), *site.asterisk.seat_networks]}
    if site.edge is not None:   # a node behind the edge takes SIP only from the edge (and the other nodes)
        expected = {ipaddress.ip_network(a) for a in (site.edge.source_address, *(p.address for p in _peers(site)))}
    assert permitted == expected
    assert not any(n.prefixlen == 0 for n in permitted), "a permit of everything"


def test_every_seat_endpoint_has_auth(case) -> None:
    _, site, files = case
    pjsip = files["pjsip.conf"]
    endpoints = typed(pjsip, "endpoint")
    auths = typed(pjsip, "auth")
    trunk_names = {f"trunk-{t.name}" for t in site.trunks}
    dept_phones = {f"dept-{d.id}" for d in site.departments if d.phone_secret}
    probe = {"hotline-edge"} if site.edge is not None else set()
    peers = {f"hotline-node-{p.name}" for p in _peers(site)}
    assert set(endpoints) == trunk_names | {s.id for s in site.seats} | dept_phones | probe | peers
    for name in probe | peers:   # the edge's probes, the other nodes' PUBLISHes: no auth, but nothing to
        ep = endpoints[name]     # call (no extension) and nothing to register
        assert value(ep, "context") == "hotline-edge-probe" and not values(ep, "aors") and not values(ep, "auth")
        assert "[hotline-edge-probe]" not in files["extensions.conf"]
    for seat in site.seats:
        ep = endpoints[seat.id]
        assert value(ep, "auth") == seat.id
        assert value(ep, "context") == "hotline-seats"
        assert value(auths[seat.id], "auth_type") == "userpass"
        assert value(auths[seat.id], "username") == seat.id
        assert value(auths[seat.id], "password") == seat.secret
        nat = "yes" if seat.remote or seat.phone == "browser" else "no"
        assert value(ep, "rtp_symmetric") == nat and value(ep, "rewrite_contact") == nat
        # a browser phone: WebRTC media (DTLS-SRTP, ICE) with the install's certificate; a SIP phone: none
        assert values(ep, "webrtc") == (["yes"] if seat.phone == "browser" else [])
        assert bool(values(ep, "dtls_cert_file")) == (seat.phone == "browser")
    for name, ep in endpoints.items():
        if name not in trunk_names | probe | peers:
            assert values(ep, "auth"), f"endpoint {name} without auth"


# --- manager.conf ------------------------------------------------------------------


def test_manager_is_loopback_only_with_event_filters(case) -> None:
    _, site, files = case
    manager = files["manager.conf"]
    secs = dict(sections(manager))
    general = secs["general"]
    assert ipaddress.ip_address(value(general, "bindaddr")).is_loopback
    assert value(general, "webenabled") == "no"
    user = secs[site.asterisk.ami.username]
    assert value(user, "secret") == OPTIONS.ami_secret
    assert values(user, "deny") == ["0.0.0.0/0.0.0.0"]
    permits = [ipaddress.ip_network(p) for p in values(user, "permit")]
    assert permits == [ipaddress.ip_network("127.0.0.0/8")]
    filters = [line for line in manager.splitlines() if line.startswith("eventfilter")]
    assert filters and all("action(include)" in f for f in filters)
    assert not any("name(CEL)" in f for f in filters)  # records come from the CEL log, not AMI
    assert set(secs) == {"general", site.asterisk.ami.username}


# --- extensions.conf ---------------------------------------------------------------


def _inbound(site: SiteConfig) -> list[tuple[str, str, str]]:
    rows = [(site.site.hotline_number, "hotline", "")]
    rows += [(n.number, n.mode.value, n.department) for n in site.legacy_numbers
             if MODES[n.mode].flow is not None]   # the plan's modes answered here
    rows += [(number, "diverted_110", "") for number in site.diversion_110.numbers]
    return rows


def test_a_context_per_inbound_number_sets_the_channel_variables(case) -> None:
    _, site, files = case
    ctxs = contexts(files["extensions.conf"])
    for number, mode, dept in _inbound(site):
        lines = [app(line) for line in ctxs[f"hotline-in-{number}"]]
        assert lines[:4] == [f"Set(__HOTLINE_DIALLED={number})", f"Set(__HOTLINE_MODE={mode})",
                             f"Set(__HOTLINE_DEPT={dept})", f"Set(__HOTLINE_QUEUE={site.queue_for(number)})"]
        n = site.number(number)
        if n is not None and MODES[n.mode].flow is Flow.parallel:
            assert lines[4:] == [f"Set(HOTLINE_DEPT_DIAL={department_dial(site, n)})",
                                 f"Set(HOTLINE_RING={n.ring_seconds})", "Goto(hotline-parallel,s,1)"]
        elif mode == "diverted_110":
            assert lines[4:] == ["Set(__HOTLINE_ORIGIN=110)", f"Set(__HOTLINE_PRIO={site.diversion_110.priority})",
                                 "Goto(hotline-inbound,s,1)"]
        elif n is not None and n.transition is not None:
            # the transition steps are checked by evaluating them (test_transition_window)
            assert lines[-1] == "Goto(hotline-inbound,s,1)"
            assert {g for g in lines if g.startswith("Goto(")} == {"Goto(hotline-inbound,s,1)"}
        else:
            assert lines[4:] == ["Goto(hotline-inbound,s,1)"]
    routed = {f"hotline-in-{n}" for n, _, _ in _inbound(site)}
    assert {c for c in ctxs if c.startswith("hotline-in-")} == routed
    for n in site.legacy_numbers:  # directory entries are not answered here
        if MODES[n.mode].flow is None:
            assert f"hotline-in-{n.number}" not in ctxs


def test_each_trunk_context_routes_every_inbound_number(case) -> None:
    _, site, files = case
    ctxs = contexts(files["extensions.conf"])
    for trunk in site.trunks:
        lines = ctxs[f"from-trunk-{trunk.name}"]
        for number, _, _ in _inbound(site):
            for prefix in ["", *trunk.did_prefixes]:
                assert f"exten => {prefix}{number},1,Goto(hotline-in-{number},s,1)" in lines
        unknown = "hotline-unknown"
        assert lines[-2:] == [f"exten => _[+0-9].,1,Goto({unknown},s,1)", f"exten => i,1,Goto({unknown},s,1)"]


def test_agi_is_followed_by_the_fail_open_default(case) -> None:
    _, _, files = case
    raw = contexts(files["extensions.conf"])["hotline-inbound"]
    flow = [app(line) for line in raw]
    agi = next(i for i, line in enumerate(flow) if line.startswith("Gosub(hotline-route,"))
    # Right after the bounded routing step: a failed, timed-out or refused AGI, or an empty
    # route, jumps straight to the queue the number's context already chose from the site config.
    assert flow[agi + 1].startswith("Set(ROUTE=${FILTER(")
    assert flow[agi + 2] == 'GotoIf($["${HOTLINE_ROUTED}" != "1" | "${ROUTE}" = ""]?queue)'
    labels = [i for i, line in enumerate(raw) if "n(queue)," in line]
    queue_at = next(i for i, line in enumerate(flow) if line.startswith("Queue("))
    assert len(labels) == 1 and agi < labels[0] < queue_at
    # the Asterisk queue is the queue's line (Queue.line), else the queue itself
    assert flow[queue_at - 1] == ('Set(LINE=${IF($["${HOTLINE_LINE_${HOTLINE_QUEUE}}" != ""]?'
                                  '${HOTLINE_LINE_${HOTLINE_QUEUE}}:${HOTLINE_QUEUE})})')
    assert flow[queue_at].startswith("Queue(${LINE},${HOTLINE_QOPTS_${HOTLINE_QUEUE}},")
    # The route from the AGI only replaces the queue when that queue exists.
    assert "ExecIf($[${QUEUE_EXISTS(${ROUTE})}]?Set(__HOTLINE_QUEUE=${ROUTE}))" in flow[agi:queue_at]
    assert "HOTLINE_AGI = agi://127.0.0.1:" in files["extensions.conf"]


def test_the_routing_step_is_bounded_and_marks_every_fallback(case) -> None:
    """Issue #8: a call never waits on the FastAGI server for longer than fastagi.timeout_ms."""
    _, site, files = case
    raw = contexts(files["extensions.conf"])["hotline-route"]
    t_at = next(i for i, line in enumerate(raw) if line.startswith("exten => T,"))
    flow, on_timeout = [app(line) for line in raw[:t_at]], [app(line) for line in raw[t_at:]]
    agi = flow.index("AGI(${ARG1}&nonce=${HOTLINE_AGI_NONCE})")
    assert flow[agi - 1] == "Set(TIMEOUT(absolute)=${HOTLINE_AGI_BOUND})"
    assert "Set(AGIEXITONHANGUP=yes)" in flow[:agi]
    assert flow[agi + 1] == "Set(TIMEOUT(absolute)=0)"
    assert "CELGenUserEvent(HOTLINE_ROUTING_FALLBACK,${TOLOWER(${AGISTATUS})})" in flow[agi:]
    assert flow.count("Return()") == 3 and "(ok)" not in "".join(flow)  # labels are stripped by app()
    # Signed routes: only an answer signed with the key routes the call; anything else fails open.
    check = next(line for line in flow if "HOTLINE_ROUTE_SIG" in line and line.startswith("GotoIf("))
    assert "${FILTER(0123456789abcdef,${HOTLINE_ROUTE_SIG})}" in check and "${SHA1(${HOTLINE_AGI_KEY}|" in check
    assert "CELGenUserEvent(HOTLINE_ROUTING_FALLBACK,unsigned)" in flow
    assert "HOTLINE_AGI_KEY = golden-agi-key-0123456789" in files["extensions.conf"]
    assert on_timeout == ["CELGenUserEvent(HOTLINE_ROUTING_FALLBACK,timeout)", "Return()"]
    bound = site.asterisk.fastagi.timeout_ms / 1000
    assert f"HOTLINE_AGI_BOUND = {bound:.3f}" in files["extensions.conf"]


CALLER_VALUE = re.compile(r"\$\{(CALLERID\([a-zA-Z]+\)|HOTLINE_ROUTE_[A-Z_]+)\}")
FLOWS = ("hotline-inbound", "hotline-parallel")  # the flows a trunk call runs through


def after_queue(name: str) -> bool:
    """Contexts only hotline-inbound's Queue() leads to (the caller went through the arrival); the
    controller redirects there only a caller a seat answered from a queue (hotline-requeue)."""
    return name in ("hotline-queue-exit", "hotline-requeue") or name.startswith("hotline-fallback-")


def test_caller_controlled_values_are_filtered_before_any_application(case) -> None:
    _, _, files = case
    ctxs = contexts(files["extensions.conf"])
    # The caller-ID is filtered in the arrival Gosub, first thing, before anything reads it.
    arrive = ctxs["hotline-arrive"]
    filt_num = next((i for i, line in enumerate(arrive)
                     if "Set(CALLERID(num)=${FILTER(0123456789+,${CALLERID(num)})})" in line), None)
    filt_name = next((i for i, line in enumerate(arrive) if "Set(CALLERID(name)=${FILTER(" in line), None)
    assert filt_num is not None and filt_name is not None, "the caller id is not filtered"
    assert filt_num == 0, "CALLERID(num) is filtered first, before anything reads it"
    assert filt_name == 1
    assert app(arrive[-1]) == "Return()"
    # Every flow a trunk call takes calls the Gosub first, before any other application.
    for flow in FLOWS:
        assert app(ctxs[flow][0]) == "Gosub(hotline-arrive,s,1)", f"[{flow}] does not start with the arrival"
    # The only way into a flow past its first priority is hotline-inbound's "route" label,
    # and only from the parallel flow, which went through the arrival already.
    for name, lines in ctxs.items():
        for line in lines:
            for target in re.findall(r"Goto\((hotline-inbound|hotline-parallel),s,([a-z0-9]+)\)", line):
                assert target[1] == "1" or (target == ("hotline-inbound", "route") and name == "hotline-parallel") \
                    or (target == ("hotline-inbound", "join") and after_queue(name)), \
                    f"[{name}] enters {target} past the arrival: {line}"
    # Everywhere else, a caller-controlled value (caller id, DNID, what the AGI
    # returned) is only ever read as the string argument of FILTER.
    for name, lines in ctxs.items():
        for i, line in enumerate(lines):
            for m in CALLER_VALUE.finditer(line):
                wrapped = re.search(r"\$\{FILTER\([^,()]*,$", line[:m.start()])
                # hashed: read only inside SHA1() (the route signature), whose value is 40 hex digits
                hashed = re.search(r"\$\{SHA1\([^()]*$", line[:m.start()])
                filtered_id = m.group(1) in ("CALLERID(num)", "CALLERID(name)")
                sanitised = filtered_id and (name in FLOWS or after_queue(name)
                                             or (name == "hotline-arrive" and i > filt_name))
                assert wrapped or hashed or sanitised, f"[{name}] reads {m.group(0)} unfiltered: {line}"
    # The AGI is told only the dialled number, which the dialplan set itself.
    agis = sorted(app(line) for flow in FLOWS for line in ctxs[flow] if "AGI" in line and "Gosub(" in line)
    assert agis == ["Gosub(hotline-route,s,1(${HOTLINE_AGI}/inbound?dialled=${HOTLINE_DIALLED}))",
                    "Gosub(hotline-route,s,1(${HOTLINE_AGI}/parallel?dialled=${HOTLINE_DIALLED}))"]
    agi = [app(line) for line in ctxs["hotline-route"] if "AGI(" in line]
    assert agi == ["AGI(${ARG1}&nonce=${HOTLINE_AGI_NONCE})"]
    assert not any("AGI(" in line for name, lines in ctxs.items() if name not in (*FLOWS, "hotline-route")
                   for line in lines)


def test_unknown_numbers_policy(case) -> None:
    _, site, files = case
    lines = [app(line) for line in contexts(files["extensions.conf"])["hotline-unknown"]]
    if site.site.unknown_numbers == "hotline":
        assert lines[0] == "Set(__HOTLINE_DIALLED=${FILTER(0123456789+,${CALLERID(DNID)})})"
        assert lines[-1] == "Goto(hotline-inbound,s,1)"
    else:
        assert lines[-1] == "Hangup(1)"
        assert not any("hotline-inbound" in line for line in lines)


def test_seats_dial_only_seats(case) -> None:
    _, site, files = case
    ctxs = contexts(files["extensions.conf"])
    assert all("Goto(hotline-in" not in line and "AGI(" not in line for line in ctxs["hotline-seats"])
    extens = [re.match(r"exten => ([^,]+),1,", line).group(1)
              for line in ctxs["hotline-seats"] if line.startswith("exten")]
    fc = site.seat_rules.feature_codes
    codes = {fc.login, fc.logout, fc.unpause, f"_{fc.pause}X",
             *(f"{fc.pause}{i}" for i in range(1, len(site.seat_rules.pause_reasons) + 1))}
    assert sorted(e for e in extens if e != "i") == sorted([*(s.id for s in site.seats), *codes])
    assert "exten => i,1,Hangup(1)" in ctxs["hotline-seats"]  # anything else is refused


def test_each_seat_has_feature_code_contexts_with_its_memberships(case) -> None:
    _, site, files = case
    ctxs = contexts(files["extensions.conf"])
    for seat in site.seats:
        lines = ctxs[f"hotline-seatfc-{seat.id}"]
        adds = [line for line in lines if "AddQueueMember(" in line]
        assert [a.split("AddQueueMember(")[1].split(",")[0] for a in adds] == \
            [m.queue for m in memberships(site, seat)]
        assert sum("RemoveQueueMember(" in line for line in lines) == len(adds)
        assert any(f"PauseQueueMember(,{member_interface(seat)},,${{REASON}})" in line for line in lines)


def test_maxwait_globals_only_for_queues_with_a_limit_and_a_fallback(case) -> None:
    _, site, files = case
    ext = files["extensions.conf"]
    for q in site.queues:   # without a fallback nothing sends a caller out: they wait (7x24)
        assert (f"HOTLINE_MAXWAIT_{q.name} = {q.max_wait}" in ext) == bool(q.max_wait and q.fallback)


# --- queues.conf and rtp.conf -----------------------------------------------------


def test_queues_have_dynamic_members_only(case) -> None:
    _, site, files = case
    secs = dict(sections(files["queues.conf"]))
    assert value(secs["general"], "persistentmembers") == "yes"   # logged-in seats survive a restart
    assert set(secs) - {"general"} == {q.name for q in site.queues}
    for q in site.queues:
        opts = secs[q.name]
        assert value(opts, "strategy") == q.strategy
        # app_queue counts wrap-up in whole seconds from the second the call ended: one more
        # second, so a seat rests at least the configured wrap-up (queue_manager.seats)
        assert value(opts, "wrapuptime") == str(q.wrapup + 1 if q.wrapup else 0)
        assert value(opts, "autopause") == "no"       # the controller pauses after N unanswered rings
        if q.no_seat == "wait":
            assert value(opts, "joinempty") == "yes" and value(opts, "leavewhenempty") == "no"
        assert values(opts, "member") == []           # seats log in (API or feature codes)


def test_rtp_range(case) -> None:
    _, site, files = case
    general = dict(sections(files["rtp.conf"]))["general"]
    assert value(general, "rtpstart") == str(site.asterisk.rtp_start)
    assert value(general, "rtpend") == str(site.asterisk.rtp_end)


def test_routing_case_covers_what_it_claims() -> None:
    site = _site("routing")
    assert any(t.mode == "registration" and t.did_prefixes for t in site.trunks)
    assert {n.mode for n in site.legacy_numbers} == set(NumberMode)
    assert any(s.remote and s.county for s in site.seats)
    assert site.queue_for("12333") == "renshe"      # by department
    assert site.queue_for("85529193") == "urgent"   # by the number's own queue
    assert site.queue_for("85192809") == "hotline"  # default
    afters = {n.transition.after for n in site.legacy_numbers if n.transition}
    assert afters == {"keep", "notice_then_hotline", "notice_then_end"}
    assert any(n.transition and not n.transition.prompt for n in site.legacy_numbers)
    assert any(d.phone_secret and d.hours for d in site.departments)
    assert any(n.mode == NumberMode.parallel and n.target for n in site.legacy_numbers)
    assert site.emergency and any(e.dial for e in site.emergency)
    assert site.diversion_110.numbers


# --- issue #4 flows: transitions, withdrawn numbers, parallel numbers, transfers ----------

_STEP = re.compile(r"^(?:exten => s,1|same => n(?:\((?P<label>[a-z]+)\))?),(?P<app>.*)$")
_TERM = re.compile(r"^\$\{TODAY\} (>=|<=|>|<|=) ([0-9]{8})$")


def _condition(expr: str, today: str) -> bool:
    """The date conditions the transition steps use: '1' or 'TERM & TERM ...' on ${TODAY}."""
    if expr == "1":
        return True
    ok = True
    for term in expr.split(" & "):
        m = _TERM.match(term)
        assert m, f"unexpected condition term {term!r} in {expr!r}"
        a, b = int(today), int(m.group(2))
        ok = ok and {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "=": a == b}[m.group(1)]
    return ok


def run_entry(lines: list[str], today: date) -> tuple[dict[str, str], str]:
    """Evaluate a hotline-in-<number> context on ``today``: (variables it set, where it went).

    Understands exactly the steps the generator writes for numbers (Set, ExecIf(Set),
    GotoIf to a label, Goto another context), so a new kind of step fails loudly here."""
    steps = []
    for line in lines:
        m = _STEP.match(line)
        assert m, f"unexpected dialplan line {line!r}"
        steps.append((m.group("label"), m.group("app")))
    labels = {label: i for i, (label, _) in enumerate(steps) if label}
    variables: dict[str, str] = {}
    ymd = today.strftime("%Y%m%d")
    pc = 0
    for _ in range(100):
        _, step = steps[pc]
        pc += 1
        if step == "Set(TODAY=${STRFTIME(${EPOCH},${HOTLINE_TZ},%Y%m%d)})":
            variables["TODAY"] = ymd
        elif m := re.fullmatch(r"Set\(_{0,2}([A-Z_]+)=([^()]*)\)", step):
            variables[m.group(1)] = m.group(2)
        elif m := re.fullmatch(r"ExecIf\(\$\[(.*)\]\?Set\(_{0,2}([A-Z_]+)=([^()]*)\)\)", step):
            if _condition(m.group(1), ymd):
                variables[m.group(2)] = m.group(3)
        elif m := re.fullmatch(r"GotoIf\(\$\[(.*)\]\?([a-z]+)\)", step):
            if _condition(m.group(1), ymd):
                pc = labels[m.group(2)]
        elif m := re.fullmatch(r"Goto\(([a-z0-9-]+,s,1)\)", step):
            return variables, m.group(1)
        else:
            raise AssertionError(f"unexpected step {step!r}")
    raise AssertionError("the context loops")


def expected_transition(t: Transition | None, day: date) -> tuple[str | None, bool]:
    """(prompt played, call ends after it) for a merged number on ``day``, from the site config."""
    if t is None:
        return None, False
    if t.end and day > t.end and t.after != "keep":
        return "withdrawn-notice", t.after == "notice_then_end"
    in_window = (t.start is None or day >= t.start) and (t.end is None or day <= t.end)
    return ("merged-notice" if t.prompt and in_window else None), False


def _days_around(t: Transition | None) -> list[date]:
    days = [date(2020, 1, 1), date(2099, 12, 31)]
    for d in (t.start, t.end) if t else ():
        if d:
            days += [d - timedelta(days=1), d, d + timedelta(days=1)]
    return days


def test_merged_numbers_follow_their_transition_on_every_boundary_day(case) -> None:
    _, site, files = case
    ctxs = contexts(files["extensions.conf"])
    for n in site.legacy_numbers:
        if n.mode != NumberMode.merged:
            continue
        for day in _days_around(n.transition):
            variables, target = run_entry(ctxs[f"hotline-in-{n.number}"], day)
            assert target == "hotline-inbound,s,1"
            prompt, ends = expected_transition(n.transition, day)
            assert (variables.get("HOTLINE_PROMPT"), variables.get("HOTLINE_END_AFTER_PROMPT") == "1") \
                == (prompt, ends), f"{n.number} on {day}"


@pytest.mark.parametrize("number, day, prompt, ends", [
    # 83531111: prompt 2026-01-01..2026-12-31, then the notice and 12345
    ("83531111", date(2025, 12, 31), None, False),
    ("83531111", date(2026, 1, 1), "merged-notice", False),
    ("83531111", date(2026, 12, 31), "merged-notice", False),
    ("83531111", date(2027, 1, 1), "withdrawn-notice", False),
    # 85000001: no prompt, ends 2026-06-30, then the notice and the end of the call
    ("85000001", date(2026, 6, 30), None, False),
    ("85000001", date(2026, 7, 1), "withdrawn-notice", True),
    # 12301: a national special number, kept: the prompt from 2026-03-01 on, never withdrawn
    ("12301", date(2026, 2, 28), None, False),
    ("12301", date(2026, 3, 1), "merged-notice", False),
    ("12301", date(2099, 1, 1), "merged-notice", False),
    # 85192809: no transition configured, a plain merged number
    ("85192809", date(2026, 7, 1), None, False),
])
def test_transition_window_of_the_routing_case(number: str, day: date, prompt: str | None, ends: bool) -> None:
    site = _site("routing")
    ctxs = contexts(generate(site, OPTIONS)["extensions.conf"])
    variables, _ = run_entry(ctxs[f"hotline-in-{number}"], day)
    assert variables.get("HOTLINE_PROMPT") == prompt
    assert (variables.get("HOTLINE_END_AFTER_PROMPT") == "1") == ends


def test_transition_dates_are_compared_in_the_site_timezone() -> None:
    ext = generate(_site("routing"), OPTIONS)["extensions.conf"]
    assert "HOTLINE_TZ = Asia/Shanghai" in ext
    assert ext.count("Set(TODAY=${STRFTIME(${EPOCH},${HOTLINE_TZ},%Y%m%d)})") == sum(
        1 for n in _site("routing").legacy_numbers if n.transition is not None)


def test_prompt_then_withdrawn_end_in_the_inbound_flow(case) -> None:
    _, _, files = case
    raw = contexts(files["extensions.conf"])["hotline-inbound"]
    flow = [app(line) for line in raw]

    def at(text: str) -> int:
        found = [i for i, line in enumerate(flow) if text in line]
        assert len(found) == 1, f"{text!r} found {len(found)} times in hotline-inbound"
        return found[0]

    answer, event = at("Answer()"), at("CELGenUserEvent(HOTLINE_PROMPT,${HOTLINE_PROMPT})")
    playback = at("Playback(${HOTLINE_SOUNDS}/${HOTLINE_PROMPT})")
    ends = at('GotoIf($["${HOTLINE_END_AFTER_PROMPT}" = "1"]?ended)')
    record, queue = at("MixMonitor("), at("Queue(")
    # answered before audio is played; the prompt is logged, played, then the call ends or queues;
    # a call that ends after the notice is neither recorded nor queued
    assert answer < event < playback < ends < record < queue
    ended = next(i for i, line in enumerate(raw) if "n(ended)," in line)
    assert flow[ended:] == ["CELGenUserEvent(HOTLINE_WITHDRAWN,${HOTLINE_DIALLED})", "Hangup()"]
    assert flow[queue + 1:ended] == ["Goto(hotline-queue-exit,s,1)"]
    # the prompt's name is ours (set by the number's context), never caller data
    assert all("HOTLINE_PROMPT=" not in line for line in flow)


def test_the_parallel_flow_rings_the_department_then_overflows(case) -> None:
    _, _, files = case
    raw = contexts(files["extensions.conf"])["hotline-parallel"]
    flow = [app(line) for line in raw]
    label = {m.group(1): i for i, line in enumerate(raw) if (m := re.search(r"n\(([a-z]+)\),", line))}
    assert flow[0] == "Gosub(hotline-arrive,s,1)"
    assert flow[1] == "Gosub(hotline-route,s,1(${HOTLINE_AGI}/parallel?dialled=${HOTLINE_DIALLED}))"
    # closed only when the AGI answered and said so (fail-open: ring the department)
    assert flow[2] == 'GotoIf($["${HOTLINE_ROUTED}" = "1" & "${HOTLINE_DEPT_OPEN}" = "0"]?closed)'
    dial = flow.index("Dial(${HOTLINE_DEPT_DIAL},${HOTLINE_RING})")
    assert flow.index("CELGenUserEvent(HOTLINE_DEPT_DIAL,${HOTLINE_DEPT})") < dial
    assert flow.index("MixMonitor(${HOTLINE_REC_DIR}/${CHANNEL(linkedid)}.wav,b)") < dial  # the platform records it
    assert flow[dial + 1] == 'GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)'
    assert flow[dial + 2] == "Set(__HOTLINE_OVERFLOW=${TOLOWER(${DIALSTATUS})})"
    assert flow[label["closed"]] == "Set(__HOTLINE_OVERFLOW=closed)"
    assert flow[label["overflow"]:label["overflow"] + 2] == [
        "CELGenUserEvent(HOTLINE_OVERFLOW,${HOTLINE_OVERFLOW})", "Goto(hotline-inbound,s,route)"]
    assert flow[label["done"]:] == ["Hangup()"]
    # hotline-inbound's "route" step: after the arrival, before its AGI (the overflow is routed too)
    inbound = contexts(files["extensions.conf"])["hotline-inbound"]
    route = next(i for i, line in enumerate(inbound) if "n(route)," in line)
    assert route == 1 and "Gosub(hotline-route," in inbound[route + 1]


def test_a_static_dialplan_rings_the_department_at_any_hour() -> None:
    site = _site("routing")
    files = generate(site, GenerateOptions(ami_secret=OPTIONS.ami_secret, recordings_dir="/r", static=True))
    flow = [app(line) for line in contexts(files["extensions.conf"])["hotline-parallel"]]
    assert not any("AGI(" in line or "HOTLINE_DEPT_OPEN" in line for line in flow)
    assert "Dial(${HOTLINE_DEPT_DIAL},${HOTLINE_RING})" in flow


def _parallel_site(**dept: object) -> SiteConfig:
    return parse_site({"trunks": [{"name": "carrier", "host": "127.0.0.2"}, {"name": "backup", "host": "127.0.0.3"}],
                       "departments": [{"id": "renshe", "name": "人社局", **dept}],
                       "legacy_numbers": [{"number": "12333", "mode": "parallel", "department": "renshe",
                                           "ring_seconds": 7},
                                          {"number": "12366", "mode": "parallel", "department": "renshe",
                                           "target": "051312366"}]})


@pytest.mark.parametrize("dept, dial_12333, dial_12366", [
    ({}, "PJSIP/12333@trunk-carrier", "PJSIP/051312366@trunk-carrier"),        # through the first trunk
    ({"phone_secret": "renshe-phone-1"}, "PJSIP/dept-renshe", "PJSIP/dept-renshe"),  # its registered phone
    ({"duty_phone": "051380000000"}, "PJSIP/12333@trunk-carrier", "PJSIP/051312366@trunk-carrier"),
])
def test_parallel_dial_strings(dept: dict[str, object], dial_12333: str, dial_12366: str) -> None:
    site = _parallel_site(**dept)
    ctxs = contexts(generate(site, OPTIONS)["extensions.conf"])
    for number, dial, ring in (("12333", dial_12333, 7), ("12366", dial_12366, 20)):
        lines = [app(line) for line in ctxs[f"hotline-in-{number}"]]
        assert f"Set(HOTLINE_DEPT_DIAL={dial})" in lines
        assert f"Set(HOTLINE_RING={ring})" in lines
        assert lines[-1] == "Goto(hotline-parallel,s,1)"


def test_transfer_targets_come_only_from_the_directory_and_emergency_routes(case) -> None:
    _, site, files = case
    lines = contexts(files["extensions.conf"])["hotline-transfer"]
    targets = transfer_targets(site)
    extens = [m.group(1) for line in lines if (m := re.match(r"exten => ([^,]+),1,", line))]
    assert extens[-1] == "i" and lines[-1] == "exten => i,1,Hangup(1)"  # anything else is refused
    assert sorted(extens[:-1]) == sorted(targets)
    allowed = ({n.number for n in site.legacy_numbers if MODES[n.mode].target}
               | {d.duty_phone for d in site.departments if d.duty_phone}
               | {f"dept-{d.id}" for d in site.departments if d.phone_secret}
               | {e.number for e in site.emergency}
               | {s.id for s in site.seats if s.external_number is None})   # another seat, on its phone
    assert set(targets) <= allowed
    assert not set(targets) & {s.id for s in site.seats if s.external_number is not None}
    merged = {n.number for n in site.legacy_numbers if not MODES[n.mode].target and MODES[n.mode].flow}
    assert not set(targets) & (merged | {site.site.hotline_number, *site.diversion_110.numbers})
    trunks = {t.name for t in site.trunks}
    for number, dial in targets.items():
        m = re.fullmatch(r"PJSIP/([+0-9]+)@trunk-([a-z0-9_-]+)|PJSIP/(dept-[a-z0-9_-]+)|PJSIP/([0-9]+)", dial)
        assert m, dial
        if m.group(4):   # another seat: its own endpoint
            assert m.group(4) == number and number in {s.id for s in site.seats}
        else:
            assert m.group(3) == number if m.group(3) else m.group(2) in trunks
        body = [app(line) for line in lines[lines.index(f"exten => {number},1,"
                                                        f"CELGenUserEvent(HOTLINE_TRANSFER_DIAL,{number})"):][:3]]
        # a department is shown the hotline number, never the citizen's (caller-ID and connected
        # line); an emergency service gets the citizen's, to call back and locate them, and so does
        # another seat (a seat of the centre)
        own = {e.number for e in site.emergency} | {s.id for s in site.seats}
        present = "" if number in own else f",f({site.site.hotline_number})"
        assert body == [f"CELGenUserEvent(HOTLINE_TRANSFER_DIAL,{number})", f"Dial({dial},60{present})", "Hangup()"]
    for e in site.emergency:  # each emergency route on its own trunk, with its own dial string
        assert targets[e.number] == f"PJSIP/{e.dial or e.number}@trunk-{e.trunk}"


def test_department_phones_authenticate_and_cannot_place_calls(case) -> None:
    _, site, files = case
    pjsip = files["pjsip.conf"]
    endpoints, auths, aors = typed(pjsip, "endpoint"), typed(pjsip, "auth"), typed(pjsip, "aor")
    for d in site.departments:
        name = f"dept-{d.id}"
        if not d.phone_secret:
            assert name not in endpoints
            continue
        assert value(endpoints[name], "auth") == name
        assert value(endpoints[name], "context") == "hotline-dept"
        assert value(auths[name], "auth_type") == "userpass"
        assert value(auths[name], "username") == name
        assert value(auths[name], "password") == d.phone_secret
        assert value(aors[name], "max_contacts") == "1"
    assert contexts(files["extensions.conf"])["hotline-dept"] == ["exten => i,1,Hangup(1)"]


def test_diverted_110_numbers_are_tagged_and_prioritised(case) -> None:
    _, site, files = case
    ctxs = contexts(files["extensions.conf"])
    for number in site.diversion_110.numbers:
        lines = [app(line) for line in ctxs[f"hotline-in-{number}"]]
        assert "Set(__HOTLINE_ORIGIN=110)" in lines
        assert f"Set(__HOTLINE_PRIO={site.diversion_110.priority})" in lines
    # the origin is the fourth field of the arrival event; the priority reaches Queue()
    arrive = [app(line) for line in ctxs["hotline-arrive"]]
    assert ("CELGenUserEvent(HOTLINE_ARRIVAL,${HOTLINE_DIALLED}|${HOTLINE_MODE}|${HOTLINE_DEPT}|${HOTLINE_ORIGIN})"
            in arrive)
    inbound = [app(line) for line in ctxs["hotline-inbound"]]
    prio = inbound.index('ExecIf($["${HOTLINE_PRIO}" != ""]?Set(QUEUE_PRIO=${HOTLINE_PRIO}))')
    assert prio < next(i for i, line in enumerate(inbound) if line.startswith("Queue("))


def test_browser_phones_get_websocket_http_and_ice_only_when_a_seat_has_one(case) -> None:
    """Issue 13: Asterisk's HTTP server (the WebSocket) and ICE are on only for a site with a browser
    seat; its WebSocket transports follow asterisk.webrtc (wss only with tls_port)."""
    _, site, files = case
    browser = any(s.phone == "browser" for s in site.seats)
    general = dict(sections(files["http.conf"]))["general"]
    assert value(general, "enabled") == ("yes" if browser else "no")
    assert value(dict(sections(files["rtp.conf"]))["general"], "icesupport") == ("yes" if browser else "no")
    transports = typed(files["pjsip.conf"], "transport")
    assert ("transport-ws" in transports) == browser
    assert ("transport-wss" in transports) == (browser and site.asterisk.webrtc.tls_port is not None)
    if browser:
        w = site.asterisk.webrtc
        assert value(general, "bindaddr") == w.bind and value(general, "bindport") == str(w.port)
        for seat in site.seats:
            aor = typed(files["pjsip.conf"], "aor")[seat.id]
            if seat.phone == "browser":   # a browser that lost its network stops ringing after this
                assert value(aor, "qualify_frequency") == str(w.qualify_seconds)


def test_the_webrtc_case_covers_what_it_claims() -> None:
    site = _site("webrtc")
    assert {s.phone for s in site.seats} == {"sip", "browser"}
    assert site.asterisk.webrtc.tls_port
