"""Every promised callback becomes a task (issue 8, item 6): records reconciled before the
service started, a database error at request time, and a controller restart in between."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

from hotline.ami.port import AmiPort
from hotline.callbacks.intents import IntentFile
from hotline.callbacks.model import Status
from hotline.callbacks.services import CallbackService
from hotline.calls.cel import CelEvent
from hotline.calls.model import CallRecord, Outcome
from hotline.config.site import SiteConfig
from hotline.exceptions import StoreError
from hotline.store import Store

SITE = SiteConfig.model_validate({
    "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
    "queues": [{"name": "hotline", "callback": {"attempts": 2}}],
    "seats": [{"id": "1001", "name": "张三", "secret": "seat-secret-1001"}],
})
CALL = "1700000000.1"


class FakeAmi:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def __call__(self, action: dict[str, str], **_: Any) -> dict[str, str]:
        self.sent.append(action)
        return {"Response": "Success"}


def request_event(number: str = "13800138000", reason: str = "timeout") -> CelEvent:
    return CelEvent(name="HOTLINE_CALLBACK_REQUEST", time=1700000000.5, channel="PJSIP/trunk-carrier-00000001",
                    uniqueid=CALL, linkedid=CALL, appdata=f"HOTLINE_CALLBACK_REQUEST,{number}|hotline|{reason}")


class FlakyCreate:
    """tasks.create failing with StoreError ``failures`` times (the database down), then the real one."""

    def __init__(self, real: Callable[..., Any], failures: int) -> None:
        self.real, self.failures, self.calls = real, failures, 0

    def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise StoreError("database is down")
        return self.real(**kwargs)


async def settle(service: CallbackService, until: Callable[[], bool]) -> None:
    for _ in range(500):
        if until():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def fast(service: CallbackService) -> CallbackService:
    service.RETRY_FIRST_S = service.RETRY_MAX_S = 0.01  # type: ignore[misc]
    return service


async def test_a_reconciled_record_before_start_becomes_a_task(sqlite_store: Store, make_call: Callable[..., CallRecord]
                                                                ) -> None:
    service = fast(CallbackService(SITE, sqlite_store, AmiPort(FakeAmi())))
    record = make_call(CALL, outcome=Outcome.callback_requested, queue="hotline",
                       extra={"callback": {"reason": "key", "queue": "hotline"}})
    service.on_record(record)          # the start-up reconcile runs before the service starts
    service.start()
    await settle(service, lambda: service.tasks.for_call(CALL) is not None)
    task = service.tasks.for_call(CALL)
    assert task is not None and task.status is Status.requested and task.number == "13800138000"
    await service.stop()


async def test_a_database_error_at_request_time_is_retried_until_the_task_exists(sqlite_store: Store) -> None:
    ami = FakeAmi()
    service = fast(CallbackService(SITE, sqlite_store, AmiPort(ami)))
    flaky = FlakyCreate(service.tasks.create, failures=3)
    service.tasks.create = flaky  # type: ignore[method-assign]
    service.start()
    service.on_event(request_event())
    await settle(service, lambda: service.tasks.for_call(CALL) is not None)
    assert flaky.calls == 4 and service.retries == 3
    await settle(service, lambda: any(a["Action"] == "Originate" for a in ami.sent))   # the fallback's placeholder
    assert sum(a["Action"] == "Originate" for a in ami.sent) == 1
    await service.stop()


async def test_a_request_the_database_never_took_survives_a_restart(sqlite_store: Store, tmp_path: Path) -> None:
    intents = IntentFile(tmp_path / "callbacks.pending.json")
    before = fast(CallbackService(SITE, sqlite_store, AmiPort(FakeAmi()), intents=intents))
    before.tasks.create = FlakyCreate(before.tasks.create, failures=10**9)  # type: ignore[method-assign]
    before.start()
    before.on_event(request_event())
    await settle(before, lambda: before.retries >= 2)
    await before.stop()                # the controller stops with the database still down
    assert before.tasks.for_call(CALL) is None
    assert [p[3] for p in IntentFile(tmp_path / "callbacks.pending.json").pending()] == [CALL]
    assert before.status()["pending_requests"] == 1 and before.status()["retries"] >= 2

    after = fast(CallbackService(SITE, sqlite_store, AmiPort(FakeAmi()), intents=IntentFile(tmp_path / "callbacks.pending.json")))
    after.start()
    await settle(after, lambda: after.tasks.for_call(CALL) is not None)
    await settle(after, lambda: intents.pending() == [])
    await after.stop()


async def test_a_number_the_dialler_will_not_dial_makes_no_task(sqlite_store: Store) -> None:
    service = fast(CallbackService(SITE, sqlite_store, AmiPort(FakeAmi())))
    service.start()
    service.on_event(request_event(number="1234"))
    await asyncio.sleep(0.05)
    assert service.tasks.for_call(CALL) is None
    await service.stop()
