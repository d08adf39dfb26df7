"""Call ids with an Asterisk ``systemname`` prefix (hotline.spine.ids) through every party that
reads them: the CEL parser, the assembler (leg and callback account codes, recordings), the
restart watch, the janitor, the store and the API."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hotline import asterisk_runtime
from hotline.callbacks.model import callback_account, callback_of
from hotline.calls import cel
from hotline.calls.assemble import Directory, assemble
from hotline.calls.legs import leg_account, parse_account
from hotline.records.call import CallRecord
from hotline.calls.restart import sequence
from hotline.config import load_site
from hotline.config.site import SiteInfo
from hotline.disk.janitor import RECORDING
from hotline.exceptions import AsteriskRuntimeError
from hotline.spine import ids
from hotline.store import Store
from pydantic import ValidationError
from trunk_config import GenerateOptions, generate, write
from apikit import api_app

CEL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "cel"
DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))
NODE = "node01"

HOSTILE = ["", "1795444596", "1795444596.", ".1", "abc", "node 01-1795444596.1", "node|01-1795444596.1",
           "node,01-1795444596.1", "node;01-1795444596.1", "node\n01-1795444596.1", "node01-1795444596.1\n",
           "../x-1795444596.1", "a/b-1795444596.1", "node.01-1795444596.1", "-1795444596.1",
           "-x-1795444596.1", "_x-1795444596.1", "n" * 33 + "-1795444596.1", "nöde-1795444596.1",
           "node01-1795444596.1.2", "12345678901234.1", "1795444596.1234567890", "node01--1795444596.1x",
           "node01-1795444596.1 ", " node01-1795444596.1"]


@pytest.mark.parametrize(("value", "node", "epoch", "seq"), [
    ("1796159078.0", None, 1796159078, 0),
    ("node01-1796159078.0", "node01", 1796159078, 0),
    ("a-b_c-1796159078.42", "a-b_c", 1796159078, 42),
    ("N" * 32 + "-1.2", "N" * 32, 1, 2),
])
def test_parse(value: str, node: str | None, epoch: int, seq: int) -> None:
    parsed = ids.parse(value)
    assert parsed == ids.CallId(node, epoch, seq) and str(parsed) == value
    assert ids.is_call_id(value) and ids.check(value) == value
    assert len(value) <= ids.MAX_LENGTH


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_ids_are_refused(value: str) -> None:
    assert ids.parse(value) is None and not ids.is_call_id(value)
    with pytest.raises(ValueError, match="not a call id"):
        ids.check(value)
    assert cel.from_json_line(json.dumps({"eventtype": "CHAN_START", "eventtime": "1795444596.2",
                                          "uniqueid": value, "linkedid": value})) is None


def test_non_strings_are_not_ids() -> None:
    assert ids.parse(1796159078.0) is None and not ids.is_call_id(None)


def test_site_node_follows_the_same_rule() -> None:
    assert SiteInfo().node is None and SiteInfo(node="node01").node == "node01"
    for bad in ("node 01", "node|01", "node.01", "-node", "n" * 33, "nöde", "a/b"):
        with pytest.raises(ValidationError, match="node"):
            SiteInfo(node=bad)


@pytest.mark.parametrize("call_id", ["node01-1795446781.26", "x-1.0"])
def test_accounts_round_trip_with_a_node(call_id: str) -> None:
    account = leg_account(call_id, "dept-shuiwu")
    assert len(account) <= 80 and parse_account(account) == (call_id, "dept-shuiwu")
    assert callback_of(callback_account(call_id)) == call_id


def test_a_leg_account_over_asterisks_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        leg_account("n" * 32 + "-1795446781.26", "x" * 48)


def test_sequence_and_recording_names() -> None:
    assert sequence("node01-1796159078.17") == 17 and sequence("bad") == -1
    for name in ("node01-1796159078.0.wav", "node01-1796159078.0-message.wav"):
        m = RECORDING.match(name)
        assert m is not None and m.group("call_id") == "node01-1796159078.0"
    assert RECORDING.match("a b-1796159078.0.wav") is None


# -- the assembler: every captured conversation, as a node would log it -------------------------

_ID_FIELDS = ("uniqueid", "linkedid")


def _prefix(text: str, known: set[str]) -> str:
    """``text`` with every known id (a whole token, never part of a time) prefixed with NODE."""
    pattern = re.compile(r"(?<![0-9.])(" + "|".join(re.escape(i) for i in sorted(known, key=len, reverse=True))
                         + r")(?!\w|\.[0-9])")
    return pattern.sub(lambda m: f"{NODE}-{m.group(1)}", text)


def _as_node(lines: list[str]) -> tuple[list[str], set[str]]:
    known = {json.loads(raw)[f] for raw in lines for f in _ID_FIELDS}
    out = []
    for raw in lines:
        d = json.loads(raw)
        out.append(json.dumps({k: _prefix(v, known) if isinstance(v, str) else v for k, v in d.items()}))
    return out, known


def _record(lines: list[str]) -> CallRecord | None:
    events = [cel.from_json_line(raw) for raw in lines]
    assert all(e is not None for e in events)
    return assemble([e for e in events if e is not None], DIRECTORY, source="cel-reconcile")


FIXTURES = sorted(p.stem for p in CEL_DIR.glob("*.jsonl"))


@pytest.mark.parametrize("fixture", FIXTURES)
def test_a_node_prefix_changes_only_the_ids_of_the_record(fixture: str) -> None:
    lines = (CEL_DIR / f"{fixture}.jsonl").read_text().splitlines()
    node_lines, known = _as_node(lines)
    plain, prefixed = _record(lines), _record(node_lines)
    if plain is None:
        assert prefixed is None
        return
    assert prefixed is not None and prefixed.call_id == f"{NODE}-{plain.call_id}"
    expected = _prefix(json.dumps(plain.to_dict(), sort_keys=True), known)
    assert json.dumps(prefixed.to_dict(), sort_keys=True) == expected


def test_the_fixtures_give_records() -> None:
    """The comparison above is not vacuous: most captured conversations are trunk calls."""
    assert sum(_record((CEL_DIR / f"{f}.jsonl").read_text().splitlines()) is not None for f in FIXTURES) >= 20


# -- the store and the API ---------------------------------------------------------------------


async def test_a_node_record_is_stored_and_served(sqlite_store: Store, make_call: Any) -> None:
    record = make_call("node01-1796159078.0", recording="node01-1796159078.0.wav")
    sqlite_store.upsert_call(record)
    assert sqlite_store.get_call("node01-1796159078.0") == record
    app = api_app(sqlite_store, status=lambda: {"ami": {"ok": True}})
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/api/calls/node01-1796159078.0")
        assert response.status == 200, await response.text()
        body = await response.json()
        assert body["call_id"] == "node01-1796159078.0" and body == record.to_dict()
        listed = await (await client.get("/api/calls")).json()
        assert [i["call_id"] for i in listed["items"]] == ["node01-1796159078.0"]


# -- the node in the generated configuration -----------------------------------------------------

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _runtime(tmp_path: Path) -> asterisk_runtime.Runtime:
    return asterisk_runtime.Runtime(mode="chroot", root=tmp_path / "root", instance="/srv/hotline/x", version="22")


def test_without_a_node_asterisk_conf_has_no_systemname(tmp_path: Path) -> None:
    text = _runtime(tmp_path)._asterisk_conf()
    assert "systemname" not in text and text == _runtime(tmp_path)._asterisk_conf(None)


def test_the_node_is_asterisks_systemname(tmp_path: Path) -> None:
    site = load_site(GOLDEN / "minimal" / "site.yaml", environ={})
    with_node = site.model_copy(update={"site": site.site.model_copy(update={"node": "node01"})})
    options = GenerateOptions(ami_secret="golden-ami-secret-0123456789", recordings_dir="/r")
    plain, node = generate(site, options), generate(with_node, options)
    assert {k: v for k, v in node.items() if k != "extensions.conf"} == {
        k: v for k, v in plain.items() if k != "extensions.conf"}   # the dialplan: the next test
    gen = tmp_path / "gen"
    write(generate(with_node, options), gen)
    rt = _runtime(tmp_path)
    rt.deploy(gen, systemname=with_node.site.node)
    conf = (rt.host_path(rt.etc) / "asterisk.conf").read_text().splitlines()
    options_section = conf[conf.index("[options]"):]
    assert "systemname = node01" in options_section and conf.count("systemname = node01") == 1
    rt.deploy(gen)   # a node removed from the site config: gone from asterisk.conf too
    assert "systemname" not in (rt.host_path(rt.etc) / "asterisk.conf").read_text()


@pytest.mark.parametrize("bad", ["node 01", "node01\nastetcdir => /tmp", "a;b", "", "n" * 33])
def test_asterisk_conf_refuses_a_hostile_systemname(tmp_path: Path, bad: str) -> None:
    if bad == "":
        assert "systemname" not in _runtime(tmp_path)._asterisk_conf(bad)   # empty: no node
        return
    with pytest.raises(AsteriskRuntimeError, match="systemname"):
        _runtime(tmp_path)._asterisk_conf(bad)


def test_with_a_node_the_dialplan_keeps_its_call_ids() -> None:
    """Three-way conferences are named after the call id and callback legs carry it in their
    account code: with a node, the dialplan lets the node's characters through (the FILTER
    itself is checked on Asterisk in tests/integration/test_node.py)."""
    site = load_site(GOLDEN / "nantong" / "site.yaml", environ={})
    options = GenerateOptions(ami_secret="golden-ami-secret-0123456789", recordings_dir="/r")
    plain = generate(site, options)["extensions.conf"]
    node = generate(site.model_copy(update={"site": site.site.model_copy(update={"node": "node01"})}),
                    options)["extensions.conf"]
    assert "exten => _X.,1,Set(CONF=${FILTER(0123456789.,${EXTEN})})" in plain
    assert "exten => _[0-9A-Za-z].,1,Set(CONF=${FILTER(--.0-9A-Za-z_,${EXTEN})})" in node
    assert plain.count("cb-${FILTER(0123456789.,${HOTLINE_CB_OF})}") == 2
    assert node.count("cb-${FILTER(--.0-9A-Za-z_,${HOTLINE_CB_OF})}") == 2
    assert "FILTER(0123456789.," not in node
    differing = [(a, b) for a, b in zip(plain.splitlines(), node.splitlines()) if a != b]
    assert len(differing) == 3 and len(plain.splitlines()) == len(node.splitlines())


def test_each_node_has_its_own_stable_asterisk_entity_id(tmp_path: Path) -> None:
    """The nodes of one seat pool tell each other their seats' states: Asterisk keeps each node's
    states apart by entity id, so two nodes must never share one, and a node keeps its own."""
    eids = {n: ids.entity_id(n) for n in ("node-a", "node-b", "node01", "node1")}
    assert len(set(eids.values())) == len(eids)
    assert eids["node-a"] == ids.entity_id("node-a")
    assert all(re.fullmatch(r"02(:[0-9a-f]{2}){5}", e) for e in eids.values())   # locally administered
    text = _runtime(tmp_path)._asterisk_conf("node-a")
    assert f"entityid = {eids['node-a']}" in text
    assert "entityid" not in _runtime(tmp_path)._asterisk_conf(None)
