"""``GET /api/seats/{seat_id}/pop`` on the full app (issue 13): the live call at the seat from the
seat's queue events, the caller's number as the reader's role may see it (audited), location and
carrier, the person's earlier calls and orders in any form of the number, the order form's fields
(POSTed as they are), and the refusals: another seat's pop, a department, an unknown seat."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from apikit import Api, api_services
from authkit import FAST
from conftest import MakeCall

from hotline.api.app import build_app
from hotline.audit.disclosure import DISCLOSURE
from hotline.auth.passwords import hash_password
from hotline.auth.services import AuthService
from hotline.config import parse_site
from hotline.pop.services import PopService
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store

LIVE = "1795444590.7"
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
PASSWORDS = {"boss": "boss-pass-1", "s1001": "seat-pass-1001", "s1002": "seat-pass-1002", "dept": "dept-pass-1"}
USERS = [{"name": "boss", "role": "supervisor"}, {"name": "s1001", "role": "seat", "seat": "1001"},
         {"name": "s1002", "role": "seat", "seat": "1002"}, {"name": "dept", "role": "department"}]
SITE = parse_site({
    "site": {"name": "测试热线", "hotline_number": "12345", "default_queue": "hotline"},
    "trunks": [{"name": "carrier", "host": "192.0.2.10"}],
    "queues": [{"name": "hotline", "title": "市热线"}, {"name": "renshe_q"}],
    "seats": [{"id": s, "name": f"坐席{s}", "secret": f"seat-secret-{s}", "queues": ["hotline", "renshe_q"]}
              for s in ("1001", "1002")],
    "departments": [{"id": "renshe", "name": "人社局", "queue": "renshe_q"}],
    "legacy_numbers": [{"number": "12333", "mode": "merged", "department": "renshe", "hotline": "人社咨询热线",
                        "queue": "renshe_q"}],
    "orders": {"units": [{"id": "renshe-unit", "name": "人社局", "department": "renshe",
                          "leader": {"name": "王局长", "phone": "13800000001"}}],
               "subjects": [{"id": "social-security", "name": "社保", "unit": "renshe-unit"},
                            {"id": "roads", "name": "道路"}]},
    "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=FAST)} for u in USERS],
}, "test.yaml")


class Env:
    def __init__(self, api: Api, pop: PopService, live: dict[str, CallRecord], store: Store) -> None:
        self.api, self.pop, self.live, self.store = api, pop, live, store

    def ring(self, seat: str, caller: str, call_id: str = LIVE, dialled: str = "12333") -> None:
        """The caller waits in renshe_q and the seat's phone rings (app_queue's events)."""
        seats = self.pop._seats
        self.live[call_id] = CallRecord(call_id=call_id, dialled_number=dialled, caller_number=caller,
                                        arrived_at=datetime.now(UTC), queue="renshe_q", legacy_mode="merged",
                                        department="renshe")
        seats.on_ami_event({"Event": "QueueCallerJoin", "Queue": "renshe_q", "CallerIDNum": caller,
                            "Uniqueid": call_id, "Linkedid": call_id, "Position": "1", "Count": "1"})
        seats.on_ami_event({"Event": "AgentCalled", "Queue": "renshe_q", "MemberName": seat, "CallerIDNum": caller,
                            "Uniqueid": call_id, "Linkedid": call_id})

    def answer(self, seat: str, caller: str, call_id: str = LIVE) -> None:
        seats = self.pop._seats
        seats.on_ami_event({"Event": "QueueCallerLeave", "Queue": "renshe_q", "Uniqueid": call_id, "Position": "1"})
        seats.on_ami_event({"Event": "AgentConnect", "Queue": "renshe_q", "MemberName": seat, "CallerIDNum": caller,
                            "Uniqueid": call_id, "Linkedid": call_id, "HoldTime": "4"})


@pytest.fixture
async def env(sqlite_store: Store, tmp_path: Path, make_call: MakeCall) -> AsyncIterator[Env]:
    for i, (number, seat) in enumerate((("013812345678", "1001"), ("13812345678", "1002"),
                                        ("8613812345678", "1001"), ("13900000000", "1001"))):
        sqlite_store.upsert_call(make_call(f"1700000000.{i}", caller_number=number, seat=seat, queue="hotline",
                                           arrived_at=T0 + timedelta(hours=i)))
    sqlite_store.create_work_order(call_ids=["1700000000.1"], title="社保卡补办", description="d",
                                   category="complaint", created_by="1002")
    live: dict[str, CallRecord] = {}
    services = api_services(sqlite_store, site=SITE, auth=AuthService.for_state_dir(SITE.users, tmp_path / "st"))
    pop = PopService(SITE, services.seats, sqlite_store, live.get)
    app = build_app(dataclasses.replace(services, pop=pop))
    async with TestClient(TestServer(app)) as client:
        api = Api(client, PASSWORDS)
        for seat in ("1001", "1002"):
            status, body = await api.call(f"s{seat}", "POST", f"/api/seats/{seat}/login")
            assert status == 200, body
        yield Env(api, pop, live, sqlite_store)


async def test_no_call_is_200_with_call_null(env: Env) -> None:
    status, body = await env.api.call("s1001", "GET", "/api/seats/1001/pop")
    assert status == 200
    assert body["call"] is None and body["order_prefill"] is None and body["seat_id"] == "1001"
    assert body["history"] == {"ok": True, "error": None, "calls": [], "orders": []}


async def test_the_ringing_seat_sees_its_caller_and_the_person_history(env: Env) -> None:
    env.ring("1001", "+8613812345678")
    status, body = await env.api.call("s1001", "GET", "/api/seats/1001/pop?calls=5&orders=5")
    assert status == 200, body
    call = body["call"]
    assert (call["call_id"], call["state"], call["queue"], call["dialled_number"]) == (LIVE, "ringing", "renshe_q",
                                                                                     "12333")
    assert call["caller_number"] == "+8613812345678"   # the seat it rings at is handling it
    assert call["location"] == {"region": "CN", "province": "江苏省", "city": "连云港市", "carrier": "中国移动",
                                "description": "江苏省连云港市"}
    assert call["legacy_number"] == {"number": "12333", "mode": "merged", "hotline": "人社咨询热线",
                                     "department": "renshe", "department_name": "人社局", "unit": "renshe-unit"}
    assert isinstance(call["waited_seconds"], float) and call["waited_seconds"] >= 0
    # earlier calls of the same person, newest first; numbers in full only where this seat answered
    assert [(c["call_id"], c["caller_number"]) for c in body["history"]["calls"]] == [
        ("1700000000.2", "8613812345678"), ("1700000000.1", "138****5678"), ("1700000000.0", "013812345678")]
    [order] = body["history"]["orders"]
    assert (order["title"], order["state"], order["caller_confidential"]) == ("社保卡补办", "created", True)
    assert body["order_prefill"] == {"call_ids": [LIVE], "created_by": "1001"}
    assert body["order_context"] == {"caller_number": "+8613812345678", "dialled_number": "12333",
                                     "department": "renshe", "department_name": "人社局", "unit": "renshe-unit",
                                     "subjects": ["social-security"]}
    reads = env.store.list_audit(action="read.caller_number")
    assert len(reads) == 1 and reads[0]["detail"]["route"] == "GET /api/seats/{seat_id}/pop"
    assert set(reads[0]["detail"]["call_ids"]) == {LIVE, "1700000000.2", "1700000000.0"}


async def test_talking_and_the_order_form_posts_as_prefilled(env: Env) -> None:
    env.ring("1001", "013812345678")
    env.answer("1001", "013812345678")
    status, body = await env.api.call("s1001", "GET", "/api/seats/1001/pop")
    assert body["call"]["state"] == "talking" and len(body["history"]["calls"]) == 3
    env.store.upsert_call(dataclasses.replace(env.live[LIVE], outcome=Outcome.answered, seat="1001"))
    status, order = await env.api.call("s1001", "POST", "/api/work-orders",
                                       {**body["order_prefill"], "title": "咨询社保", "description": "来电咨询",
                                        "category": "consult"})
    assert status == 201, order
    assert order["call_ids"] == [LIVE] and order["created_by"] == "1001"


async def test_supervisor_sees_every_number_and_other_seats_are_refused(env: Env) -> None:
    env.ring("1001", "13812345678")
    status, body = await env.api.call("boss", "GET", "/api/seats/1001/pop")
    assert status == 200 and body["call"]["caller_number"] == "13812345678"
    assert [c["caller_number"] for c in body["history"]["calls"]] == ["8613812345678", "13812345678",
                                                                      "013812345678"]
    status, body = await env.api.call("s1002", "GET", "/api/seats/1001/pop")
    assert (status, body["error_id"], body["details"]["seat_id"]) == (403, "forbidden", "1001")
    status, body = await env.api.call("dept", "GET", "/api/seats/1001/pop")
    assert (status, body["error_id"]) == (403, "forbidden")
    status, body = await env.api.call("boss", "GET", "/api/seats/9999/pop")
    assert (status, body["error_id"]) == (404, "no-such-seat")
    status, body = await env.api.call("s1002", "GET", "/api/seats/1002/pop")   # its own: no call there
    assert status == 200 and body["call"] is None


async def test_a_confidential_call_is_masked_even_for_its_seat(env: Env) -> None:
    env.ring("1001", "13812345678")
    env.store.upsert_call(dataclasses.replace(env.live[LIVE], seat="1001"))
    env.store.create_work_order(call_ids=[LIVE], title="举报", description="d", category="report", created_by="1001")
    status, body = await env.api.call("s1001", "GET", "/api/seats/1001/pop")
    assert body["call"]["caller_number"] == "138****5678"
    assert body["order_context"]["caller_number"] == "138****5678"
    assert body["call"]["location"]["city"] == "连云港市"   # the area stays: it names nobody


@pytest.mark.parametrize(("query", "field"), [("calls=-1", "calls"), ("orders=51", "orders"), ("calls=x", "calls"),
                                              ("nope=1", "nope"), ("calls=1&calls=2", "calls")])
async def test_bad_query_names_the_parameter(env: Env, query: str, field: str) -> None:
    status, body = await env.api.call("s1001", "GET", f"/api/seats/1001/pop?{query}")
    assert (status, body["error_id"], body["details"]["field"]) == (400, "invalid-request", field)


async def test_anonymous_and_unknown_callers_have_no_history_and_null_location(env: Env) -> None:
    env.ring("1001", "anonymous")
    status, body = await env.api.call("s1001", "GET", "/api/seats/1001/pop")
    assert status == 200 and body["call"]["caller_number"] == "anonymous"
    assert body["history"]["calls"] == [] and set(body["call"]["location"].values()) == {None}


async def test_the_store_down_keeps_the_live_call(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.exceptions import StoreError

    def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("database unavailable: connection refused")
    monkeypatch.setattr("hotline.pop.services.history", down)
    monkeypatch.setattr(env.api.client.app[DISCLOSURE], "_confidential", down)
    env.ring("1001", "13812345678")
    status, body = await env.api.call("s1001", "GET", "/api/seats/1001/pop")
    assert status == 200 and body["call"]["call_id"] == LIVE
    assert body["history"]["ok"] is False and "unavailable" in body["history"]["error"]
    assert body["call"]["caller_number"] == "138****5678"   # confidentiality unknown: masked


async def _next_event(response: Any) -> tuple[str, dict[str, Any]]:
    """The next SSE event (heartbeat comments skipped)."""
    while True:
        block = (await response.content.readuntil(b"\n\n")).decode()
        lines = [line for line in block.splitlines() if line and not line.startswith(":")]
        if lines:
            fields = dict(line.split(": ", 1) for line in lines)
            return fields["event"], json.loads(fields["data"])


async def test_the_seat_event_stream_says_when_to_read_the_pop(env: Env) -> None:
    client = env.api.client
    await env.api.call("s1001", "GET", "/api/me")   # logged in: its token
    headers = {"Authorization": f"Bearer {env.api.tokens['s1001']}"}
    response = await client.get("/api/seats/1001/pop/events", headers=headers)
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    event, data = await asyncio.wait_for(_next_event(response), 10)
    assert (event, data["seat_id"], data["state"], data["call_id"]) == ("seat", "1001", "idle", None)
    env.ring("1001", "13812345678")
    event, data = await asyncio.wait_for(_next_event(response), 10)
    assert (event, data["state"], data["call_id"]) == ("seat", "ringing", LIVE)
    assert set(data) == {"seat_id", "state", "call_id", "since"}   # no number in the stream
    env.answer("1001", "13812345678")
    event, data = await asyncio.wait_for(_next_event(response), 10)
    assert (data["state"], data["call_id"]) == ("talking", LIVE)
    response.close()
    refused = await client.get("/api/seats/1001/pop/events",
                               headers={"Authorization": f"Bearer {await _token(env, 's1002')}"})
    assert refused.status == 403 and (await refused.json())["error_id"] == "forbidden"


async def _token(env: Env, user: str) -> str:
    await env.api.call(user, "GET", "/api/me")
    return env.api.tokens[user]


async def test_a_call_of_the_seat_on_another_node_is_popped_from_that_node(env: Env) -> None:
    """Several nodes: this node has no call at the seat (it is on another node); the other node's
    view of it (hotline.calls.relay: its live_call) is the pop, with the history from the one store,
    masked and audited here."""
    asked: list[str] = []
    other = "node-b-1795444590.9"

    async def peer_call(seat: str) -> dict[str, Any] | None:
        asked.append(seat)
        return {"call_id": other, "state": "talking", "state_since": 1.0, "seat": seat, "queue": "hotline",
                "dialled_number": "12345", "legacy_number": None, "arrived_at": T0.isoformat(),
                "waited_seconds": 3.0, "caller_number": "13812345678", "location": {"region": "CN"}}

    env.pop.peer_call = peer_call
    status, body = await env.api.call("s1002", "GET", "/api/seats/1002/pop")
    assert status == 200 and asked == ["1002"], body
    assert body["call"]["call_id"] == other and body["call"]["caller_number"] == "13812345678"
    assert len(body["history"]["calls"]) == 3 and body["order_prefill"] == {"call_ids": [other], "created_by": "1002"}
    env.ring("1001", "013812345678")   # a call here: the node's own, the other nodes not asked
    status, body = await env.api.call("s1001", "GET", "/api/seats/1001/pop")
    assert body["call"]["call_id"] == LIVE and asked == ["1002"]
