"""The SIP edge's configuration (site ``edge:``, trunk_config/kamailio.py): golden files, the
properties the edge must have, the checks of the section, and Kamailio's own syntax check.

After an intended change, rewrite the golden files and review the diff::

    HOTLINE_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_kamailio.py
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from hotline.config import load_site, parse_site
from hotline.config.loader import ConfigError
from hotline.spine import ids
from trunk_config import kamailio

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "edge"
OPTIONS = kamailio.EdgeOptions(files_dir="/var/lib/hotline/edge", ctl_socket="/var/lib/hotline/edge/run/ctl")
UPDATE = os.environ.get("HOTLINE_UPDATE_GOLDEN") == "1"


def _site():
    return load_site(GOLDEN / "site.yaml", environ={})


def _data() -> dict:
    data: dict = yaml.safe_load((GOLDEN / "site.yaml").read_text())
    return data


@pytest.mark.parametrize("name", ["kamailio.cfg", "dispatcher.list", "seats.cfg"])
def test_edge_files_match_golden(name: str) -> None:
    text = kamailio.generate(_site(), OPTIONS)[name]
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(text)
    expected = golden.read_text()
    diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(golden), "generated"))
    assert text == expected, diff[:4000]


def test_dispatcher_lists_every_node_in_one_set() -> None:
    lines = [ln for ln in kamailio.render_dispatcher(_site()).splitlines() if not ln.startswith("#")]
    assert lines == ["1 sip:10.0.0.11:5080 0 0 weight=1;name=node-a",
                     "1 sip:10.0.0.12:5080 0 0 weight=2;name=node-b"]


def test_probing_takes_a_dead_node_out_within_two_seconds() -> None:
    cfg = kamailio.render(_site(), OPTIONS)
    assert 'modparam("dispatcher", "ds_ping_interval", 1)' in cfg
    assert 'modparam("dispatcher", "ds_probing_mode", 1)' in cfg          # every node, always
    assert 'modparam("dispatcher", "ds_probing_threshold", 1)' in cfg     # one unanswered probe: out
    assert 'modparam("dispatcher", "ds_inactive_threshold", 1)' in cfg    # one answered probe: back
    assert 'modparam("tm", "fr_timer", 800)' in cfg                       # a probe's timeout: out within 1.8 s
    assert 'ds_next_dst()' in cfg and 't_check_status("408|5[0-9][0-9]")' in cfg


def test_trunks_are_identified_by_source_and_the_header_cannot_be_forged() -> None:
    cfg = kamailio.render(_site(), OPTIONS)
    assert 'is_in_subnet("$si", "192.0.2.10")) $var(trunk) = "carrier"' in cfg
    assert 'is_in_subnet("$si", "198.51.100.0/28")) $var(trunk) = "backup"' in cfg
    assert 'is_in_subnet("$si", "192.0.2.0/29")) $var(trunk) = "carrier"' in cfg   # trusted_sources
    # any X-Hotline-Trunk a caller sent is removed before the edge adds its own
    assert cfg.index('remove_hf("X-Hotline-Trunk")') < cfg.index('append_hf("X-Hotline-Trunk: $var(trunk)')
    # identity headers are dropped from sources that are not trunks
    assert re.search(r'if \(\$var\(trunk\) == ""\) \{\s+remove_hf\("P-Asserted-Identity"\)', cfg)


def test_only_non_trunk_sources_are_flood_limited() -> None:
    cfg = kamailio.render(_site(), OPTIONS)
    assert 'if ($var(trunk) == "" && $var(node) == 0) {' in cfg
    assert "pike_check_req()" in cfg
    assert 'modparam("pike", "reqs_density_per_unit", 20)' in cfg
    assert 'modparam("htable", "htable", "ipban=>size=8;autoexpire=30;")' in cfg


def test_a_site_without_edge_has_no_edge_config() -> None:
    site = load_site(GOLDEN.parent / "minimal" / "site.yaml", environ={})
    assert site.edge is None
    with pytest.raises(ValueError, match="no edge"):
        kamailio.render(site, OPTIONS)


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda e: e.update(listen="edge.example"), "edge.listen", "not an IP address"),
    (lambda e: e["nodes"][0].update(address="node-a.local"), "edge.nodes.0.address", "not an IP address"),
    (lambda e: e["nodes"][1].update(name="node-a"), "edge.nodes.1.name", "duplicate node name"),
    (lambda e: e["nodes"][1].update(address="10.0.0.11"), "edge.nodes.1.address", "duplicate node address"),
    (lambda e: e.update(nodes=[]), "edge.nodes", "at least 1"),
    (lambda e: e.update(trusted_sources=["10.0.0.300/24"]), "edge.trusted_sources", "not an IP network"),
    (lambda e: e.update(probe_interval=0), "edge.probe_interval", "greater than or equal to 1"),
    (lambda e: e["pike"].update(requests=1), "edge.pike.requests", "greater than or equal to 2"),
    (lambda e: e.update(listen="0.0.0.0"), "edge.node_side_address", "wildcard"),
    (lambda e: e.update(colour="blue"), "edge.colour", "Extra inputs"),
])
def test_bad_edge_sections_name_the_field(change, field: str, words: str) -> None:
    data = _data()
    change(data["edge"])
    with pytest.raises(ConfigError) as err:
        parse_site(data)
    text = str(err.value)
    assert field in text and words in text, text


def test_the_node_must_be_one_of_the_edges_nodes() -> None:
    data = _data()
    data["site"]["node"] = "node-c"
    with pytest.raises(ConfigError, match=r"site\.node.*not one of edge\.nodes"):
        parse_site(data)


@pytest.mark.skipif(shutil.which("kamailio") is None, reason="kamailio is not installed (scripts/setup.sh --test)")
def test_kamailio_accepts_the_generated_config(tmp_path: Path) -> None:
    options = kamailio.EdgeOptions(files_dir=str(tmp_path), ctl_socket=str(tmp_path / "ctl"))
    for name, text in kamailio.generate(_site(), options).items():
        (tmp_path / name).write_text(text)
    r = subprocess.run(["kamailio", "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "config file ok" in r.stdout + r.stderr, r.stdout + r.stderr


def test_the_edge_is_the_seats_registrar_and_gives_a_seat_one_call_at_a_time() -> None:
    cfg = kamailio.render(_site(), OPTIONS)
    seats = kamailio.render_seats(_site())
    # digest with the seat's own password (seats.cfg, included), one contact per seat, in memory
    assert f'include_file "{OPTIONS.files_dir}/seats.cfg"' in cfg
    assert '        case "1001":\n            $var(secret) = "change-me-1001";' in seats
    assert 'if (!pv_www_authenticate("$td", "$var(secret)", "0")) {' in cfg
    assert 'if ($au != $tU) {' in cfg   # a seat registers itself only
    assert 'save("location", "0x05")' in cfg
    # a node's out-of-dialog request goes to a registered seat only
    assert 'sl_send_reply("403", "Out-of-dialog requests from a node go to seats only");' in cfg
    assert 'sl_send_reply("480", "Seat not registered");' in cfg
    # the seat's lock is held from the check of its calls until the new call is a dialog
    body = cfg[cfg.index("route[TO_SEAT]"):]
    order = ['lock("seat-$var(seat)");', 'get_profile_size("seat", "$var(seat)", "$var(calls)");',
             'sl_send_reply("486", "Seat busy");', 'dlg_manage();', 'set_dlg_profile("seat", "$var(seat)");',
             "t_relay()", 'unlock("seat-$var(seat)");\n    exit;']
    assert [body.index(x) for x in order] == sorted(body.index(x) for x in order)
    # a seat's own call counts as its call too
    assert 'if ($var(secret) != "") set_dlg_profile("seat", "$fU");' in cfg


def test_browser_seats_do_not_register_at_the_edge() -> None:
    data = _data()
    data["seats"].append({"id": "1002", "name": "Seat 1002", "secret": "browser-secret-2", "phone": "browser"})
    site = parse_site(data)
    assert kamailio.pool_seats(site) == ["1001"]
    assert '"1002"' not in kamailio.render_seats(site)


def test_a_site_without_pool_seats_has_an_empty_secret_route() -> None:
    data = _data()
    data["seats"] = []
    seats = kamailio.render_seats(parse_site(data))
    assert "switch" not in seats and '$var(secret) = "";' in seats


def test_when_a_node_dies_the_edge_frees_its_seats_on_the_other_nodes() -> None:
    """A dead node cannot say its seats are free: the edge says so for it, to every other node,
    one PUBLISH per pool seat in the dead node's name (its entity id)."""
    data = _data()
    data["edge"]["nodes"].append({"name": "node-c", "address": "10.0.0.13", "sip_port": 5080})
    data["seats"].append({"id": "1002", "name": "Seat 1002", "secret": "change-me-1002"})
    site = parse_site(data)
    cfg, seats = kamailio.render(site, OPTIONS), kamailio.render_seats(site)
    assert "    dlg_set_timeout_by_profile(\"node\", \"$var(down)\", \"1\");\n    route(SEATS_FREED);" in cfg
    route = seats[seats.index("route[SEATS_FREED]"):]
    for dead in site.edge.nodes if site.edge else []:
        block = route[route.index(f'if ($var(down) == "sip:{dead.address}:{dead.sip_port}")'):]
        block = block[:block.index("\n    }")]
        told = re.findall(r'ruri\) = "sip:hotline-edge-states@([0-9.]+):5080"', block)
        assert told == [n.address for n in site.edge.nodes if n.name != dead.name]   # every other node
        bodies = re.findall(r'body\) = "(.*)";', block)
        assert len(bodies) == 2 * 2   # 2 other nodes x 2 seats
        for body in bodies:
            state = json.loads(body.replace('\\"', '"'))
            assert state["eid"] == ids.entity_id(dead.name) and state["state"] == "NOT_INUSE"
            assert state["device"] in ("PJSIP/1001", "PJSIP/1002") and state["type"] == "devicestate"


@pytest.mark.parametrize(("queues", "seat_queues", "rest"), [
    ([{"name": "hotline"}], ["hotline"], None),                                      # no wrap-up: no case
    ([{"name": "hotline", "wrapup": 10}], ["hotline"], 10),
    ([{"name": "hotline", "wrapup": 5}, {"name": "tax", "wrapup": 30}], ["hotline", "tax"], 30),   # the longest
    ([{"name": "hotline", "wrapup": 5}, {"name": "tax", "wrapup": 30}], ["hotline"], 5),           # its own queues'
])
def test_a_seat_rests_the_longest_wrap_up_of_its_queues_on_every_node(queues: list[dict[str, object]],
                                                                     seat_queues: list[str], rest: int | None) -> None:
    data = _data()
    data["queues"] = queues
    data["seats"][0]["queues"] = seat_queues
    site = parse_site(data)
    seats, cfg = kamailio.render_seats(site), kamailio.render(site, OPTIONS)
    route = seats[seats.index("route[SEAT_WRAPUP]"):]
    route = route[:route.index("\n}\n")]
    cases = re.findall(r'case "(\d+)":\n\s+\$var\(wrapup\) = (\d+);', route)
    assert cases == ([("1001", str(rest))] if rest else []), route
    # the rest begins when a call a node offered the seat ends, and refuses every node's offer meanwhile
    assert "$dlg_var(wrapup) = $var(wrapup);" in cfg and 'if (is_method("BYE")) route(WRAPUP);' in cfg
    assert cfg.index("if ($sht(wrapup=>$var(seat)) != $null)") < cfg.index("dlg_manage();\n    route(SEAT_WRAPUP);")
