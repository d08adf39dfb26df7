"""Files the product writes are never world-readable, whatever umask it was started with
(issue 9, deliver 3): generated Asterisk configuration, the SQLite database, the deployed
instance configuration, and the umask the CLI sets for itself and the Asterisk it starts."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

from hotline import asterisk_runtime, cli
from hotline.config import load_site
from hotline.exceptions import ResourceMissingError
from hotline.filemodes import UMASK, ensure_file
from hotline.resources import resource
from hotline.store import Store
from trunk_config import GenerateOptions, generate, write

GOLDEN_SITE = Path(__file__).resolve().parents[1] / "golden" / "minimal" / "site.yaml"


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The worst case: a process started with umask 0 (every file 0666 by default)."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _generated(tmp_path: Path) -> list[Path]:
    site = load_site(str(GOLDEN_SITE))
    files = generate(site, GenerateOptions(ami_secret="s3cret-ami", recordings_dir="/rec"))
    return write(files, tmp_path / "gen")


def test_generated_files_carry_no_secret_world_readable(tmp_path: Path, open_umask: None) -> None:
    written = _generated(tmp_path)
    by_name = {p.name: p for p in written}
    assert "pjsip.conf" in by_name and "manager.conf" in by_name
    assert mode(by_name["manager.conf"]) == 0o600
    for p in written:
        assert mode(p) & 0o007 == 0, f"{p.name} is world-accessible: {oct(mode(p))}"
        assert mode(p) in (0o600, 0o640), f"{p.name}: {oct(mode(p))}"


def test_sqlite_database_is_created_0640(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "hotline.db"
    store = Store(f"sqlite:///{db}")
    try:
        assert mode(db) == 0o640
    finally:
        store.close()


def test_existing_world_readable_database_is_tightened(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "hotline.db"
    db.touch(mode=0o666)
    os.chmod(db, 0o666)
    ensure_file(db, 0o640)
    assert mode(db) == 0o640


def test_deploy_ships_the_static_configuration_with_private_modes(tmp_path: Path, open_umask: None) -> None:
    """The static files (cel.conf: no CEL, no record) come from hotline.resources and land
    beside the generated ones; nothing in the deployed etc is world-readable."""
    _generated(tmp_path)
    rt = asterisk_runtime.Runtime(mode="chroot", root=tmp_path / "root", instance="/srv/hotline/x", version="22")
    rt.deploy(tmp_path / "gen")
    etc = rt.host_path(rt.etc)
    for name in ("cel.conf", "cel_custom.conf", "modules.conf", "pjsip.conf", "manager.conf", "asterisk.conf"):
        assert (etc / name).is_file(), name
    assert (etc / "cel.conf").read_text() == resource("asterisk/static/cel.conf").read_text()
    for p in etc.iterdir():
        assert mode(p) & 0o007 == 0, f"{p.name} is world-accessible: {oct(mode(p))}"


def test_resource_missing_names_where_it_looked() -> None:
    with pytest.raises(ResourceMissingError) as exc:
        resource("asterisk/static/no-such.conf")
    assert exc.value.error_id == "resource-missing"
    assert "no-such.conf" in exc.value.message and "share/hotline12345" in exc.value.message


def test_cli_sets_the_product_umask(open_umask: None) -> None:
    assert cli.main(["--site", str(GOLDEN_SITE), "config", "check"]) == 0
    current = os.umask(0)
    assert current == UMASK == 0o027
