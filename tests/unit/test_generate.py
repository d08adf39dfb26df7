"""Golden-file and property tests of the Asterisk configuration generators (trunk_config).

Each directory ``tests/golden/<case>/`` holds a ``site.yaml`` and the five files
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
from pathlib import Path

import pytest

from hotline.config import load_site
from hotline.config.site import NumberMode, SiteConfig
from trunk_config import GenerateOptions, generate

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "site.yaml").exists())
FILES = ("pjsip.conf", "extensions.conf", "queues.conf", "manager.conf", "rtp.conf")
OPTIONS = GenerateOptions(ami_secret="golden-ami-secret-0123456789", recordings_dir="/var/spool/asterisk/monitor")
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
    extra = {p.name for p in (GOLDEN / name).iterdir()} - {"site.yaml", *FILES}
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
    assert len(identify) == len(site.trunks), "an identify section for something that is not a trunk"


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
    assert permitted == expected
    assert not any(n.prefixlen == 0 for n in permitted), "a permit of everything"


def test_every_seat_endpoint_has_auth(case) -> None:
    _, site, files = case
    pjsip = files["pjsip.conf"]
    endpoints = typed(pjsip, "endpoint")
    auths = typed(pjsip, "auth")
    trunk_names = {f"trunk-{t.name}" for t in site.trunks}
    assert set(endpoints) == trunk_names | {s.id for s in site.seats}
    for seat in site.seats:
        ep = endpoints[seat.id]
        assert value(ep, "auth") == seat.id
        assert value(ep, "context") == "hotline-seats"
        assert value(auths[seat.id], "auth_type") == "userpass"
        assert value(auths[seat.id], "username") == seat.id
        assert value(auths[seat.id], "password") == seat.secret
        nat = "yes" if seat.remote else "no"
        assert value(ep, "rtp_symmetric") == nat and value(ep, "rewrite_contact") == nat
    for name, ep in endpoints.items():
        if name not in trunk_names:
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
    assert any("name(CEL)" in f for f in filters)
    assert set(secs) == {"general", site.asterisk.ami.username}


# --- extensions.conf ---------------------------------------------------------------


def _inbound(site: SiteConfig) -> list[tuple[str, str, str]]:
    rows = [(site.site.hotline_number, "hotline", "")]
    rows += [(n.number, n.mode.value, n.department) for n in site.legacy_numbers
             if n.mode in (NumberMode.merged, NumberMode.parallel)]
    return rows


def test_a_context_per_inbound_number_sets_the_channel_variables(case) -> None:
    _, site, files = case
    ctxs = contexts(files["extensions.conf"])
    for number, mode, dept in _inbound(site):
        lines = [app(line) for line in ctxs[f"hotline-in-{number}"]]
        assert lines == [f"Set(__HOTLINE_DIALLED={number})", f"Set(__HOTLINE_MODE={mode})",
                         f"Set(__HOTLINE_DEPT={dept})", f"Set(__HOTLINE_QUEUE={site.queue_for(number)})",
                         "Goto(hotline-inbound,s,1)"]
    routed = {f"hotline-in-{n}" for n, _, _ in _inbound(site)}
    assert {c for c in ctxs if c.startswith("hotline-in-")} == routed
    for n in site.legacy_numbers:  # directory entries are not answered here
        if n.mode in (NumberMode.convenience, NumberMode.emergency):
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
    agi = next(i for i, line in enumerate(flow) if line.startswith("AGI("))
    # Right after the AGI: a failed AGI or an empty route jumps straight to the queue
    # the number's context already chose from the site config.
    assert flow[agi + 1].startswith("Set(ROUTE=${FILTER(")
    assert flow[agi + 2] == 'GotoIf($["${AGISTATUS}" != "SUCCESS" | "${ROUTE}" = ""]?queue)'
    labels = [i for i, line in enumerate(raw) if "n(queue)," in line]
    queue_at = next(i for i, line in enumerate(flow) if line.startswith("Queue("))
    assert len(labels) == 1 and agi < labels[0] < queue_at
    assert flow[queue_at].startswith("Queue(${HOTLINE_QUEUE},")
    # The route from the AGI only replaces the queue when that queue exists.
    assert "ExecIf($[${QUEUE_EXISTS(${ROUTE})}]?Set(__HOTLINE_QUEUE=${ROUTE}))" in flow[agi:queue_at]
    assert "HOTLINE_AGI = agi://127.0.0.1:" in files["extensions.conf"]


CALLER_VALUE = re.compile(r"\$\{(CALLERID\([a-zA-Z]+\)|HOTLINE_ROUTE_[A-Z_]+)\}")


def test_caller_controlled_values_are_filtered_before_any_application(case) -> None:
    _, _, files = case
    ctxs = contexts(files["extensions.conf"])
    flow = ctxs["hotline-inbound"]
    filt_num = next((i for i, line in enumerate(flow)
                     if "Set(CALLERID(num)=${FILTER(0123456789+,${CALLERID(num)})})" in line), None)
    filt_name = next((i for i, line in enumerate(flow) if "Set(CALLERID(name)=${FILTER(" in line), None)
    assert filt_num is not None and filt_name is not None, "the caller id is not filtered"
    first_app = min(i for i, line in enumerate(flow) if re.search(r"[,)](AGI|Queue|MixMonitor)\(", line))
    assert filt_num < first_app and filt_name < first_app
    assert filt_num == 0, "CALLERID(num) is filtered first, before anything reads it"
    # Everywhere else, a caller-controlled value (caller id, DNID, what the AGI
    # returned) is only ever read as the string argument of FILTER.
    for name, lines in ctxs.items():
        for i, line in enumerate(lines):
            for m in CALLER_VALUE.finditer(line):
                wrapped = re.search(r"\$\{FILTER\([^,()]*,$", line[:m.start()])
                sanitised = (name == "hotline-inbound" and m.group(1) in ("CALLERID(num)", "CALLERID(name)")
                             and i > max(filt_num, filt_name))
                assert wrapped or sanitised, f"[{name}] reads {m.group(0)} unfiltered: {line}"
    # The AGI is told only the dialled number, which the dialplan set itself.
    agi = next(line for line in flow if "AGI(" in line)
    assert app(agi) == "AGI(${HOTLINE_AGI}/inbound?dialled=${HOTLINE_DIALLED})"


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
    extens = [re.match(r"exten => (\w+),1,", line).group(1)
              for line in ctxs["hotline-seats"] if line.startswith("exten")]
    assert sorted(e for e in extens if e != "i") == sorted(s.id for s in site.seats)
    assert "exten => i,1,Hangup(1)" in ctxs["hotline-seats"]  # anything else is refused


def test_maxwait_globals_only_for_queues_with_a_limit(case) -> None:
    _, site, files = case
    ext = files["extensions.conf"]
    for q in site.queues:
        assert (f"HOTLINE_MAXWAIT_{q.name} = {q.max_wait}" in ext) == bool(q.max_wait)


# --- queues.conf and rtp.conf -----------------------------------------------------


def test_queues_have_their_seats_as_members(case) -> None:
    _, site, files = case
    secs = dict(sections(files["queues.conf"]))
    assert "general" in secs
    assert set(secs) - {"general"} == {q.name for q in site.queues}
    for q in site.queues:
        opts = secs[q.name]
        assert value(opts, "strategy") == q.strategy
        assert value(opts, "joinempty") == "yes" and value(opts, "leavewhenempty") == "no"
        members = values(opts, "member")
        assert members == [f"PJSIP/{s.id},{s.penalty},{s.id},PJSIP/{s.id}" for s in site.seats if q.name in s.queues]


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
