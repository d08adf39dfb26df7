"""``/api/abandoned`` and ``/api/callbacks`` over a real SQLite store, with a fake AMI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hotline.ami.port import AmiPort
from hotline.callbacks.model import CallbackTask, Kind, Status, Step
from hotline.callbacks.services import CallbackService
from hotline.records.call import CallRecord, Outcome
from hotline.config.site import SiteConfig
from hotline.store import Store
from apikit import api_app

MakeCall = Callable[..., CallRecord]
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
SITE = SiteConfig.model_validate({
    "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
    "queues": [{"name": "hotline", "callback": {"attempts": 2}}, {"name": "renshe"}],
    "seats": [{"id": "1001", "name": "张三", "secret": "seat-secret-1001"},
              {"id": "1002", "name": "李四", "secret": "seat-secret-1002"}],
})


class FakeAmi:
    """Answers Getvar DEVICE_STATE(PJSIP/<seat>) from ``states``; accepts Originate."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.states: dict[str, str] = {"1001": "NOT_INUSE", "1002": "INUSE"}

    async def __call__(self, action: dict[str, str], **_: Any) -> dict[str, str]:
        self.sent.append(action)
        if action["Action"] == "Getvar":
            seat = action["Variable"].removeprefix("DEVICE_STATE(PJSIP/").rstrip(")")
            return {"Response": "Success", "Value": self.states.get(seat, "UNAVAILABLE")}
        return {"Response": "Success", "Message": "Originate successfully queued"}


@pytest.fixture
def ami() -> FakeAmi:
    return FakeAmi()


@pytest.fixture
def service(sqlite_store: Store, ami: FakeAmi) -> CallbackService:
    return CallbackService(SITE, sqlite_store, AmiPort(ami))


@pytest.fixture
async def client(sqlite_store: Store, service: CallbackService) -> AsyncIterator[TestClient[Any, Any]]:
    app = api_app(sqlite_store, status=lambda: {}, site=SITE, callbacks=service)
    async with TestClient(TestServer(app)) as c:
        yield c


def _abandoned(make_call: MakeCall, call_id: str, at: datetime, **fields: Any) -> CallRecord:
    values: dict[str, Any] = {"outcome": Outcome.abandoned_in_queue, "queue": "hotline", "queued_at": at,
                              "wait_seconds": 42.0, "arrived_at": at, **fields}
    return make_call(call_id, **values)


@pytest.mark.parametrize(("record", "body", "status", "error_id"), [
    (None, {"call_id": "1700000000.9"}, 404, "no-such-call"),
    ({"outcome": Outcome.answered}, {"call_id": "1700000000.1"}, 409, "not-abandoned"),
    ({"outcome": Outcome.abandoned_in_queue, "caller_number": "anonymous"}, {"call_id": "1700000000.1"}, 422,
     "no-caller-number"),
    ({"outcome": Outcome.abandoned_before_queue, "caller_number": "110"}, {"call_id": "1700000000.1"}, 422,
     "no-caller-number"),
    (None, {"call_id": "not an id"}, 400, "invalid-request"),
    (None, {"call": "1700000000.1"}, 400, "invalid-request"),
])
async def test_create_refusals(client: TestClient[Any, Any], sqlite_store: Store, make_call: MakeCall,
                               record: dict[str, Any] | None, body: dict[str, Any], status: int,
                               error_id: str) -> None:
    if record is not None:
        sqlite_store.upsert_call(make_call("1700000000.1", **record))
    response = await client.post("/api/callbacks", json=body)
    assert response.status == status
    assert (await response.json())["error_id"] == error_id


async def test_create_list_and_exists(client: TestClient[Any, Any], sqlite_store: Store, make_call: MakeCall) -> None:
    sqlite_store.upsert_call(_abandoned(make_call, "1700000000.1", T0))
    response = await client.post("/api/callbacks", json={"call_id": "1700000000.1"})
    assert response.status == 201
    task = await response.json()
    assert response.headers["Location"] == f"/api/callbacks/{task['id']}"
    assert (task["kind"], task["status"], task["attempts"], task["max_attempts"], task["queue"]) == \
        ("abandoned", "requested", 0, 2, "hotline")
    again = await client.post("/api/callbacks", json={"call_id": "1700000000.1"})
    assert (again.status, (await again.json())["error_id"]) == (409, "callback-exists")
    listed = await (await client.get("/api/callbacks?status=requested")).json()
    assert [t["id"] for t in listed["items"]] == [task["id"]]
    assert listed["items"][0]["number"] == "138****8000"
    assert (await (await client.get("/api/callbacks?status=connected")).json())["items"] == []
    bad = await client.get("/api/callbacks?status=nope")
    assert (bad.status, (await bad.json())["details"]["field"]) == (400, "status")
    one = await client.get(f"/api/callbacks/{task['id']}")
    assert (await one.json())["number"] == "13800138000"


@pytest.mark.parametrize(("task_id", "seat", "prepare", "status", "error_id"), [
    ("999", "1001", None, 404, "no-such-callback"),
    ("abc", "1001", None, 404, "no-such-callback"),
    ("{id}", "9999", None, 404, "no-such-seat"),
    ("{id}", "1002", None, 409, "seat-busy"),           # INUSE: on a call
    ("{id}", "1001", Step.cancel, 409, "callback-closed"),
    ("{id}", "1001", Step.dial, 409, "callback-closed"),  # another seat took it already
])
async def test_take_refusals(client: TestClient[Any, Any], sqlite_store: Store, make_call: MakeCall,
                             service: CallbackService, ami: FakeAmi, task_id: str, seat: str,
                             prepare: Step | None, status: int, error_id: str) -> None:
    sqlite_store.upsert_call(_abandoned(make_call, "1700000000.1", T0))
    task = await service.create_for_call("1700000000.1")
    if prepare is not None:
        service.tasks.apply(task.id, prepare)
    response = await client.post(f"/api/callbacks/{task_id.format(id=task.id)}/take", json={"seat": seat})
    assert response.status == status
    assert (await response.json())["error_id"] == error_id
    assert not any(a["Action"] == "Originate" for a in ami.sent)


async def test_take_rings_the_seat_then_dials_the_citizen(client: TestClient[Any, Any], sqlite_store: Store,
                                                         make_call: MakeCall, service: CallbackService,
                                                         ami: FakeAmi) -> None:
    sqlite_store.upsert_call(_abandoned(make_call, "1700000000.1", T0))
    task = await service.create_for_call("1700000000.1")
    response = await client.post(f"/api/callbacks/{task.id}/take", json={"seat": "1001"})
    assert response.status == 202
    body = await response.json()
    assert (body["status"], body["seat"]) == ("dialling", "1001")
    originate = next(a for a in ami.sent if a["Action"] == "Originate")
    assert originate["Channel"] == "PJSIP/1001" and originate["Context"] == "hotline-cb-dial"
    assert originate["Account"] == "cb-1700000000.1"
    assert "__HOTLINE_CB_NUMBER=13800138000" in originate["Variable"].split(",")
    assert "__HOTLINE_CB_OF=1700000000.1" in originate["Variable"].split(",")


async def test_abandoned_list(client: TestClient[Any, Any], sqlite_store: Store, make_call: MakeCall,
                             service: CallbackService) -> None:
    sqlite_store.upsert_call(_abandoned(make_call, "1700000000.1", T0, caller_number="13900000001"))
    sqlite_store.upsert_call(_abandoned(make_call, "1700000000.2", T0 + timedelta(minutes=1),
                                        caller_number="13900000002", outcome=Outcome.abandoned_before_queue,
                                        queue=None, queued_at=None, wait_seconds=None))
    sqlite_store.upsert_call(_abandoned(make_call, "1700000000.3", T0 + timedelta(minutes=2), queue="renshe"))
    # the first caller called again and got through; an answered call is not listed
    sqlite_store.upsert_call(make_call("1700000000.4", caller_number="13900000001",
                                       arrived_at=T0 + timedelta(minutes=5)))
    sqlite_store.upsert_call(make_call("1700000000.5", outcome=Outcome.callback_requested))
    await service.create_for_call("1700000000.2")
    body = await (await client.get("/api/abandoned")).json()
    assert [r["call_id"] for r in body["items"]] == ["1700000000.3", "1700000000.2", "1700000000.1"]
    first = body["items"][2]
    assert (first["caller_number"], first["served_later"], first["callback"], first["wait_seconds"]) == \
        ("139****0001", True, None, 42.0)
    second = body["items"][1]
    assert second["served_later"] is False and second["callback"]["status"] == "requested"
    assert second["outcome"] == "abandoned_before_queue" and second["dialled_number"] == "12345"
    full = await (await client.get("/api/abandoned?full=1&queue=hotline")).json()
    assert [r["caller_number"] for r in full["items"]] == ["13900000001"]
    since = await (await client.get("/api/abandoned?since=2026-11-23T01:00:30%2B00:00&limit=1")).json()
    assert [r["call_id"] for r in since["items"]] == ["1700000000.3"]
    for query, field in (("since=yesterday", "since"), ("limit=0", "limit"), ("queue=Bad!", "queue"),
                         ("full=maybe", "full"), ("nope=1", "nope")):
        bad = await client.get(f"/api/abandoned?{query}")
        assert (bad.status, (await bad.json())["details"]["field"]) == (400, field), query


def _try(make_call: MakeCall, call_id: str, parent: str, *, answered: bool, result: str,
         kind: str = "queue_callback") -> CallRecord:
    return make_call(call_id, outcome=Outcome.answered if answered else Outcome.failed, seat="1001",
                     queue="hotline", extra={"callback_of": parent, "callback_result": result,
                                             "callback_kind": kind, "direction": "callback"})


async def test_records_drive_a_queue_callback(sqlite_store: Store, make_call: MakeCall, service: CallbackService,
                                              ami: FakeAmi) -> None:
    """requested (from the original record) -> try failed (back to requested, a retry at the head of
    the queue) -> try failed again (failed after 2 tries); replays change nothing."""
    service.start()
    original = make_call("1700000000.1", outcome=Outcome.callback_requested, queue="hotline",
                         extra={"callback": {"reason": "key", "queue": "hotline"}})
    await service._record(original)
    task = service.tasks.for_call("1700000000.1")
    assert task is not None and (task.kind.value, task.status, task.max_attempts) == \
        ("queue_callback", Status.requested, 2)
    first = _try(make_call, "1700000001.1", "1700000000.1", answered=False, result="noanswer")
    await service._record(first)
    await service._record(first)   # replayed: the same try
    task = service.tasks.get(task.id)
    assert (task.status, task.attempts, task.last_result) == (Status.requested, 1, "noanswer")
    retry = [t for t in service._background.pending if not t.done()]
    assert retry, "a retry is scheduled"
    await service._place(task, position=1)
    placeholder = next(a for a in ami.sent if a["Action"] == "Originate")
    assert placeholder["Channel"] == "Local/hotline@hotline-cb-hold/n"
    assert "__HOTLINE_CB_POS=1" in placeholder["Variable"].split(",")
    await service._record(_try(make_call, "1700000002.1", "1700000000.1", answered=False, result="busy"))
    task = service.tasks.get(task.id)
    assert (task.status, task.attempts, task.callback_call_id) == (Status.failed, 2, "1700000002.1")
    await service.stop()


async def test_records_connect_an_abandoned_callback(sqlite_store: Store, make_call: MakeCall,
                                                     service: CallbackService) -> None:
    sqlite_store.upsert_call(_abandoned(make_call, "1700000000.1", T0))
    task = await service.create_for_call("1700000000.1")
    service.tasks.apply(task.id, Step.dial, seat="1001")
    # the seat did not answer its ring: no try used, back to requested
    await service._record(_try(make_call, "1700000001.1", "1700000000.1", answered=False, result="seat_missed",
                               kind="abandoned"))
    assert (service.tasks.get(task.id).status, service.tasks.get(task.id).attempts) == (Status.requested, 0)
    service.tasks.apply(task.id, Step.dial, seat="1001")
    await service._record(_try(make_call, "1700000002.1", "1700000000.1", answered=True, result="answer",
                               kind="abandoned"))
    done = service.tasks.get(task.id)
    assert (done.status, done.attempts, done.seat, done.callback_call_id) == \
        (Status.connected, 1, "1001", "1700000002.1")


async def test_a_restart_resumes_pending_retries(sqlite_store: Store, make_call: MakeCall, ami: FakeAmi) -> None:
    before = CallbackService(SITE, sqlite_store, AmiPort(ami))
    waiting, _ = before.tasks.create(kind=Kind.queue_callback, call_id="1700000000.1", number="13800138000",
                                     queue="hotline", max_attempts=2)
    retry, _ = before.tasks.create(kind=Kind.queue_callback, call_id="1700000000.2", number="13800138001",
                                   queue="hotline", max_attempts=2)
    before.tasks.apply(retry.id, Step.try_failed, last_result="noanswer")
    after = CallbackService(SITE, sqlite_store, AmiPort(ami))
    scheduled: list[int] = []

    async def record_retry(task: CallbackTask) -> None:
        scheduled.append(task.id)

    after._retry_later = record_retry  # type: ignore[method-assign]
    after.start()
    await after._background.settle()
    assert scheduled == [retry.id]
    assert waiting.id not in scheduled


async def test_with_several_nodes_each_resumes_its_own_nodes_callbacks(sqlite_store: Store, ami: FakeAmi) -> None:
    """Two controllers on one store (site.node): a pending retry is resumed by the node of its call
    only, so a restart of both never places it twice."""
    ids = {"node-a": "node-a-1700000000.2", "node-b": "node-b-1700000000.3"}
    tasks = CallbackService(SITE, sqlite_store, AmiPort(ami)).tasks
    made = {}
    for node, call_id in ids.items():
        made[node], _ = tasks.create(kind=Kind.queue_callback, call_id=call_id, number="13800138002",
                                     queue="hotline", max_attempts=2)
        tasks.apply(made[node].id, Step.try_failed, last_result="noanswer")
    for node in ids:
        site = SITE.model_copy(update={"site": SITE.site.model_copy(update={"node": node})})
        service = CallbackService(site, sqlite_store, AmiPort(ami))
        scheduled: list[int] = []

        async def record_retry(task: CallbackTask, into: list[int] = scheduled) -> None:
            into.append(task.id)

        service._retry_later = record_retry  # type: ignore[method-assign]
        service.start()
        await service._background.settle()
        assert scheduled == [made[node].id], node
        await service.stop()
