"""The disk alarm: thresholds, the reason it gives, /status (503 only when critical), /metrics,
and the retention section of the site config."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hotline import asterisk_runtime
from hotline.config import parse_site
from hotline.config.paths import Paths
from hotline.config.site import Retention
from hotline.disk import space
from hotline.disk.services import DiskService
from hotline.exceptions import ConfigError
from hotline.metrics.prom import PromMetrics
from prometheus_client.parser import text_string_to_metric_families
from hotline.store import Store
from apikit import api_app

MB = 1024 * 1024
GB = 1024 * MB
R = Retention(min_free_percent=5, min_free_mb=1024, warn_free_percent=15, warn_free_mb=4096)


@pytest.mark.parametrize("free, total, alarm", [
    (50 * GB, 100 * GB, None),
    (14 * GB, 100 * GB, "low"),            # under warn_free_percent
    (3 * GB, 10 * GB, "low"),              # 30% free, but under warn_free_mb
    (4 * GB, 100 * GB, "critical"),        # under min_free_percent
    (900 * MB, 1 * GB, "critical"),        # 88% free, but under min_free_mb
    (0, 100 * GB, "critical"),
])
def test_alarm_levels(free: int, total: int, alarm: str | None) -> None:
    assert space.level(free, total, R) == alarm


def fake_statvfs(free: int, total: int, frsize: int = 4096) -> Any:
    return lambda path: SimpleNamespace(f_bavail=free // frsize, f_blocks=total // frsize, f_frsize=frsize)


def test_the_worst_volume_decides_and_the_reason_says_why() -> None:
    samples = [space.sample("state", Path("/s"), R, fake_statvfs(0, 10 * GB)),
               space.sample("recordings", Path("/r"), R, fake_statvfs(10 * GB, 100 * GB)),
               space.sample("cel_log", Path("/c"), R, fake_statvfs(50 * GB, 100 * GB))]
    s = space.summary(samples, R)
    assert (s["ok"], s["alarm"], s["free_bytes"], s["free_percent"]) == (False, "critical", 0, 0.0)
    assert s["reason"].startswith("state: 0 B free (0.0%), under min_free_mb 1024 MB")
    assert "records wait in the controller's memory" in s["reason"]
    assert [v["alarm"] for v in s["volumes"]] == ["critical", "low", None]

    low = space.summary(samples[1:], R)
    assert (low["ok"], low["alarm"]) == (True, "low") and low["reason"].startswith("recordings: 10.0 GB free (10.0%)")
    assert space.summary(samples[2:], R)["alarm"] is None and space.summary(samples[2:], R)["reason"] is None


def test_a_missing_directory_is_measured_on_its_parent_and_a_failure_is_reported(tmp_path: Path) -> None:
    seen: list[Path] = []

    def statvfs(path: Path) -> Any:
        seen.append(path)
        return fake_statvfs(50 * GB, 100 * GB)(path)
    assert space.sample("recordings", tmp_path / "not" / "yet", R, statvfs).alarm is None
    assert seen == [tmp_path]

    def broken(path: Path) -> Any:
        raise OSError(5, "Input/output error")
    bad = space.sample("state", tmp_path, R, broken)
    assert bad.free_bytes is None and bad.error == "statvfs failed: Input/output error"
    assert space.summary([bad], R)["errors"] == ["state: statvfs failed: Input/output error"]


async def test_the_service_samples_the_real_file_systems_and_runs_the_janitor(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "state", tmp_path / "root")
    paths.ensure()   # no Asterisk runtime recorded: the state directory only
    (paths.state_dir / "records.journal.rejected").write_text("x\n")
    os.utime(paths.state_dir / "records.journal.rejected", (0, 0))
    service = DiskService.for_site(Retention(rejected_days=1, min_free_mb=0, min_free_percent=0, warn_free_mb=0,
                                             warn_free_percent=0, disk_check_seconds=0.01), paths)
    status = await service.check()
    st = os.statvfs(paths.state_dir)
    assert status["ok"] is True and status["alarm"] is None
    assert [v["role"] for v in status["volumes"]] == ["state"]
    assert status["volumes"][0]["total_bytes"] == st.f_blocks * st.f_frsize
    task = asyncio.create_task(service.run())
    try:
        for _ in range(500):
            if service.status()["janitor"]["runs"]:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert service.status()["janitor"]["deleted"]["rejected"] == 1
    assert not (paths.state_dir / "records.journal.rejected").exists()


def test_prometheus_gauges() -> None:
    samples = [space.sample("state", Path('/v"ar'), R, fake_statvfs(0, 10 * GB)),
               space.sample("recordings", Path("/r"), R, fake_statvfs(10 * GB, 100 * GB))]
    disk = {**space.summary(samples, R), "janitor": {"deleted": {"recordings": 3, "cel_log": 0}}}
    text = PromMetrics("s", "n").exposition({"disk": disk}).decode()   # the names of before, in the registry
    assert 'hotline_disk_free_bytes{node="n",path="/v\\"ar",role="state",site="s"} 0.0' in text
    parsed = {(m.name, tuple(sorted(m.labels.items()))): m.value
              for family in text_string_to_metric_families(text) for m in family.samples}
    assert parsed[("hotline_disk_free_bytes", (("node", "n"), ("path", "/r"), ("role", "recordings"),
                                               ("site", "s")))] == 10 * GB
    assert 'hotline_disk_free_ratio{node="n",path="/r",role="recordings",site="s"} 0.1' in text
    assert 'hotline_disk_alarm{node="n",site="s"} 2.0' in text
    assert 'hotline_component_up{component="disk",node="n",site="s"} 0.0' in text
    assert 'hotline_janitor_deleted_total{kind="recordings",node="n",site="s"} 3.0' in text
    assert "# TYPE hotline_janitor_deleted_total counter" in text


@pytest.mark.parametrize("alarm, code", [(None, 200), ("low", 200), ("critical", 503)])
async def test_status_is_503_only_when_the_disk_is_critical(sqlite_store: Store, alarm: str | None,
                                                            code: int) -> None:
    disk = {"ok": alarm != "critical", "alarm": alarm}
    app = api_app(sqlite_store, status=lambda: {"ami": {"ok": True}, "disk": disk})
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/status")
        assert response.status == code
        assert (await response.json())["disk"]["alarm"] == alarm


BASE = {"trunks": [{"name": "carrier", "host": "192.0.2.10"}]}


def test_retention_defaults_and_a_custom_section() -> None:
    r = parse_site(BASE).retention
    assert (r.recordings_days, r.rejected_days, r.min_free_percent, r.warn_free_percent) == (180, 0, 5, 15)
    r = parse_site({**BASE, "retention": {"recordings_days": 0, "min_free_mb": 10, "warn_free_mb": 10}}).retention
    assert (r.recordings_days, r.min_free_mb, r.warn_free_mb) == (0, 10, 10)


@pytest.mark.parametrize("section, field, value", [
    ({"recordings_days": -1}, "retention.recordings_days", -1),
    ({"min_free_percent": 101}, "retention.min_free_percent", 101),
    ({"janitor_every_minutes": 0}, "retention.janitor_every_minutes", 0),
    ({"keep_days": 3}, "retention.keep_days", 3),
    ({"min_free_percent": 20, "warn_free_percent": 10}, "retention.warn_free_percent", 10),
    ({"min_free_mb": 5000}, "retention.warn_free_mb", 4096),
])
def test_bad_retention_names_the_field_and_value(section: dict[str, Any], field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        parse_site({**BASE, "retention": section})
    problems = {p: v for p, _, v in info.value.problems}
    assert problems.get(field) == value, info.value.message


async def test_asterisk_logs_are_rotated_over_ami_not_the_chroot_cli(tmp_path: Path) -> None:
    """Found by the service install: the controller runs as an unprivileged account, which may not
    chroot, so ``asterisk -rx 'logger rotate'`` failed and messages.log grew without bound. The
    AMI action LoggerRotate (class reporting, which the controller's AMI user has) does it."""
    paths = Paths(tmp_path / "state", tmp_path / "root")
    paths.ensure()
    (paths.state_dir / "asterisk-runtime").write_text(f"chroot\n{tmp_path / 'root'}\n22\n")
    log_dir = asterisk_runtime.load(paths).log_dir
    log_dir.mkdir(parents=True)
    (log_dir / "messages.log").write_bytes(b"x" * (1024 * 1024 + 1))
    sent: list[dict[str, str]] = []

    async def ami_send(action: dict[str, str]) -> dict[str, str]:
        sent.append(action)
        return {"Response": "Success"}

    service = DiskService.for_site(Retention(asterisk_log_max_mb=1, min_free_mb=0, min_free_percent=0, warn_free_mb=0,
                                             warn_free_percent=0, disk_check_seconds=0.01), paths,
                                   ami_send=ami_send, ami_ready=(ready := asyncio.Event()))
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0.05)
    assert sent == []   # the first janitor run (at start-up) waits for the AMI login
    ready.set()
    try:
        for _ in range(500):
            if service.status()["janitor"]["runs"]:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert sent == [{"Action": "LoggerRotate"}]
    assert service.status()["janitor"]["log_rotations"] == 1
