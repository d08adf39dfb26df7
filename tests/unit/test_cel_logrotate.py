"""The CEL log's logrotate rule (issue 8, item 4): plain renames, bounded, never copytruncate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from hotline import deploy
from hotline.asterisk_runtime import Runtime
from hotline.config.paths import Paths


def runtime(tmp_path: Path) -> Runtime:
    return Runtime(mode="system", root=Path("/"), instance=str(tmp_path / "asterisk"), version="22")


def test_the_rule_renames_and_bounds_the_log(tmp_path: Path) -> None:
    rule = runtime(tmp_path).logrotate_rule(keep_days=14)
    body = [line.strip() for line in rule.splitlines()]
    rt = runtime(tmp_path)
    assert f'"{rt.cel_log}" "{rt.cdr_log}" {{' in body   # Asterisk's CDR log: the same rule
    assert {"rotate 14", "maxage 14", "nocopytruncate", "nocompress", "nocreate", "daily"} <= set(body)
    assert "copytruncate" not in body and "compress" not in body


def test_the_site_retention_sets_how_many_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = Paths.from_env(state_dir=str(tmp_path / "state"))
    paths.ensure()
    monkeypatch.setattr(deploy.asterisk_runtime, "load", lambda p: runtime(tmp_path))
    default = deploy.write_logrotate(SimpleNamespace(), paths)  # type: ignore[arg-type]
    assert default is not None and "rotate 30" in default.read_text()
    site = SimpleNamespace(retention=SimpleNamespace(cel_days=7))
    assert "rotate 7" in deploy.write_logrotate(site, paths).read_text()  # type: ignore[arg-type, union-attr]
    forever = SimpleNamespace(retention=SimpleNamespace(cel_days=0))
    text = deploy.write_logrotate(forever, paths).read_text()  # type: ignore[arg-type, union-attr]
    assert "rotate -1" in text and "maxage" not in text


@pytest.mark.skipif(shutil.which("logrotate") is None, reason="logrotate not installed")
def test_logrotate_rotates_by_renaming(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    rt.cel_log.parent.mkdir(parents=True)
    rt.cel_log.write_bytes(b'{"x": 1}\n')
    inode = rt.cel_log.stat().st_ino
    conf = tmp_path / "rule.conf"
    conf.write_text(rt.logrotate_rule(3))
    r = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "state"), str(conf)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rotated = rt.cel_log.with_name(rt.cel_log.name + ".1")
    assert rotated.stat().st_ino == inode and not rt.cel_log.exists()
