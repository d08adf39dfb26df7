"""The work-order service's test clock (HOTLINE_TEST_ORDER_CLOCK): tests only, refused under systemd."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hotline.work_orders import testclock
from hotline.work_orders.testclock import ENV, FileClock, OrderClockRefused


def test_no_variable_means_the_real_clock() -> None:
    assert testclock.from_env({}) is None and testclock.from_env({ENV: ""}) is None


def test_the_clock_is_the_files_time_and_real_while_the_file_is_absent(tmp_path: Path) -> None:
    clock = testclock.from_env({ENV: str(tmp_path / "now")})
    assert isinstance(clock, FileClock)
    before = dt.datetime.now(dt.UTC)
    assert before <= clock() <= dt.datetime.now(dt.UTC)
    (tmp_path / "now").write_text("2026-11-02T10:00:00+08:00\n")
    assert clock() == dt.datetime(2026, 11, 2, 2, tzinfo=dt.UTC)
    (tmp_path / "now").write_text("2026-11-09T09:30:00+08:00")   # moved: read again
    assert clock() == dt.datetime(2026, 11, 9, 1, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("text", ["2026-11-02T10:00:00", "next monday"])
def test_a_time_without_offset_or_not_a_time_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "now").write_text(text)
    with pytest.raises(OrderClockRefused) as err:
        FileClock(tmp_path / "now")()
    assert err.value.error_id == "test-clock-refused" and err.value.details["value"] == text


def test_refused_in_a_controller_started_by_systemd(tmp_path: Path) -> None:
    with pytest.raises(OrderClockRefused, match="tests only") as err:
        testclock.from_env({ENV: str(tmp_path / "now"), "INVOCATION_ID": "0123abcd"})
    assert err.value.details["variable"] == ENV


def test_build_services_puts_the_order_service_on_it(tmp_path: Path) -> None:
    import secrets

    from hotline.auth.services import AuthService
    from hotline.calls.services import CallTracker, directory_for
    from hotline.compose import build_services
    from hotline.config import parse_site
    from hotline.live.hub import LiveHub
    from hotline.store import Store

    site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}]}, "t.yaml")
    store = Store(f"sqlite:///{tmp_path}/h.db")
    directory = directory_for(site)
    (tmp_path / "now").write_text("2026-11-02T10:00:00+08:00")

    async def no_ami(action: dict[str, str], **_: object) -> object:
        raise ConnectionError("no AMI")
    try:
        services = build_services(site, store, ami_send=no_ami, hub=LiveHub(""),
                                  tracker=CallTracker(directory, lambda r: None, on_partial=lambda c: None),
                                  directory=directory, auth=AuthService([], secrets.token_bytes(32)),
                                  status=lambda: {}, database_status=lambda: {"ok": True},
                                  order_clock=FileClock(tmp_path / "now"))
        assert services.work_orders.now() == dt.datetime(2026, 11, 2, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    finally:
        store.close()


def test_the_kpi_clock_is_its_own_variable(tmp_path: Path) -> None:
    assert testclock.from_env({ENV: str(tmp_path / "now")}, testclock.KPI_ENV) is None
    clock = testclock.from_env({testclock.KPI_ENV: str(tmp_path / "kpi")}, testclock.KPI_ENV)
    assert isinstance(clock, FileClock)
    (tmp_path / "kpi").write_text("today")
    with pytest.raises(OrderClockRefused, match=testclock.KPI_ENV):
        clock()
    with pytest.raises(OrderClockRefused, match="tests only") as err:
        testclock.from_env({testclock.KPI_ENV: str(tmp_path / "kpi"), "INVOCATION_ID": "0123abcd"}, testclock.KPI_ENV)
    assert err.value.details["variable"] == testclock.KPI_ENV


def test_build_services_puts_the_rolling_window_on_the_kpi_clock(tmp_path: Path) -> None:
    """The rolling 24 h answer rate ends at the KPI clock's now; the order service keeps its own."""
    import secrets

    from hotline.auth.services import AuthService
    from hotline.calls.services import CallTracker, directory_for
    from hotline.compose import build_services
    from hotline.config import parse_site
    from hotline.live.hub import LiveHub
    from hotline.store import Store

    site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}]}, "t.yaml")
    store = Store(f"sqlite:///{tmp_path}/h.db")
    store.upgrade()
    directory = directory_for(site)
    (tmp_path / "kpi").write_text("2026-11-02T10:00:00+08:00")

    async def no_ami(action: dict[str, str], **_: object) -> object:
        raise ConnectionError("no AMI")
    try:
        services = build_services(site, store, ami_send=no_ami, hub=LiveHub(""),
                                  tracker=CallTracker(directory, lambda r: None, on_partial=lambda c: None),
                                  directory=directory, auth=AuthService([], secrets.token_bytes(32)),
                                  status=lambda: {}, database_status=lambda: {"ok": True},
                                  kpi_clock=FileClock(tmp_path / "kpi", testclock.KPI_ENV))
        rolling = services.metrics.rolling()
        assert (rolling["window_start"], rolling["window_end"]) == ("2026-11-01T10:00:00+08:00",
                                                                    "2026-11-02T10:00:00+08:00")
        assert services.metrics.today()["day"] == "2026-11-02"
        before = dt.datetime.now(dt.UTC)
        assert before <= services.work_orders.now()
    finally:
        store.close()
