"""``hotline edge`` (hotline/edge_runtime.py, hotline/deploy.py generate_edge): the generated files,
their modes, the refusals. Kamailio itself runs in tests/integration/test_edge.py."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from hotline import edge_runtime
from hotline.cli import main
from hotline.exceptions import EdgeRuntimeError

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
EDGE_SITE = GOLDEN / "edge" / "site.yaml"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_edge_generate_writes_the_config_where_the_edge_reads_it(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--site", str(EDGE_SITE), "--state-dir", str(tmp_path), "edge", "generate",
                        "--user", "")
    assert code == 0, out
    edge = edge_runtime.for_state(tmp_path)
    seats = edge.directory / "seats.cfg"
    assert out.split() == [str(edge.directory / "dispatcher.list"), str(edge.config), str(seats)]
    cfg = edge.config.read_text()
    assert f'"list_file", "{edge.directory}/dispatcher.list"' in cfg
    assert f'"binrpc", "unix:{edge.ctl_socket}"' in cfg
    assert f'include_file "{seats}"' in cfg
    assert "route[SEAT_SECRET]" in seats.read_text()   # the seats' passwords
    for f in (edge.config, edge.directory / "dispatcher.list", seats):
        assert stat.S_IMODE(f.stat().st_mode) == 0o640   # never world-readable


def test_a_site_without_edge_has_no_edge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--site", str(GOLDEN / "minimal" / "site.yaml"), "--state-dir", str(tmp_path),
                        "edge", "start")
    assert code == 2
    assert "[edge-runtime]" in err and "no edge: section" in err
    assert not (tmp_path / "edge" / "kamailio.cfg").exists()


def test_status_of_an_edge_that_does_not_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--site", str(EDGE_SITE), "--state-dir", str(tmp_path), "edge", "status")
    assert code == 3 and json.loads(out)["running"] is False
    code, out, _ = _run(capsys, "--site", str(EDGE_SITE), "--state-dir", str(tmp_path), "edge", "stop")
    assert code == 0 and json.loads(out) == {"stopped": False}


@pytest.mark.skipif(not Path(edge_runtime.KAMAILIO).exists(), reason="kamailio is not installed")
def test_the_edge_never_runs_as_root(tmp_path: Path) -> None:
    edge = edge_runtime.for_state(tmp_path)
    with pytest.raises(EdgeRuntimeError, match="never runs as root"):
        edge.argv("root")
    if os.geteuid() == 0:
        with pytest.raises(EdgeRuntimeError, match="never runs as root"):
            edge.argv(None)
    with pytest.raises(EdgeRuntimeError, match="no account"):
        edge.argv("no-such-account-here")
    argv = edge.argv("kamailio")
    assert argv[:5] == [edge_runtime.KAMAILIO, "-DD", "-E", "-f", str(edge.config)]
    assert argv[5:7] == ["-u", "kamailio"]


def test_the_dispatcher_list_is_read_back_as_node_states() -> None:
    class Fake(edge_runtime.Edge):
        def rpc(self, *command: str, check: bool = True) -> str | None:
            return ("{\n\tNRSETS: 1\n\tRECORDS: {\n\t\tSET: {\n\t\t\tID: 1\n\t\t\tTARGETS: {\n"
                    "\t\t\t\tDEST: {\n\t\t\t\t\tURI: sip:10.0.0.11:5080\n\t\t\t\t\tFLAGS: AP\n\t\t\t\t}\n"
                    "\t\t\t\tDEST: {\n\t\t\t\t\tURI: sip:10.0.0.12:5080\n\t\t\t\t\tFLAGS: IP\n\t\t\t\t}\n")

    assert Fake(directory=Path("/nonexistent")).nodes() == {"sip:10.0.0.11:5080": "AP", "sip:10.0.0.12:5080": "IP"}


def test_the_edge_unit_drops_root_and_restarts() -> None:
    from hotline.supervise import parse_unit

    unit = Path(__file__).resolve().parents[2] / "packaging" / "systemd" / "hotline-edge.service"
    text = unit.read_text()
    for line in ("Restart=always", "UMask=0027", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                 "User=hotline"):
        assert line in text.splitlines(), line
    spec = parse_unit(unit)
    assert spec.argv[-4:] == ["edge", "run", "--user", "kamailio"] and spec.restart == "always"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package systemd)")
def test_the_edge_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    exe = tmp_path / "hotline"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    unit = Path(__file__).resolve().parents[2] / "packaging" / "systemd" / "hotline-edge.service"
    (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/hotline/bin/hotline", str(exe)))
    r = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit.name)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
