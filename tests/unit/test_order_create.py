"""One request files an order and enters it into its lifecycle (issue 11: created by a seat from calls
or a voice message), in one transaction: refused, nothing is filed. Emergency items are reported to the
duty office (``orders.duty_office``) at once: a recorded event, its users see them read-only, and its
webhook gets the report from the outbox."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.auth.passwords import hash_password
from hotline.config import parse_site
from hotline.config.site import SiteConfig
from hotline.exceptions import ConfigError
from hotline.outbox.services import OutboxService
from hotline.records.call import Outcome
from hotline.store import Store
from hotline.store.models import OutboxDeliveryRow, OutboxEventRow
from hotline.work_orders.schemas import WorkOrderCreate
from hotline.work_orders.services import WorkOrderService

from apikit import Api
from authkit import FAST, serve
from conftest import MakeCall

TZ = dt.timezone(dt.timedelta(hours=8))
PASSWORDS = {"s1001": "seat-pass-1001", "boss": "boss-pass-1", "renshe1": "unit-pass-renshe",
             "zhiban1": "unit-pass-zhiban"}
LEADER = {"name": "王局长", "phone": "13800000001"}
BODY = {"call_ids": ["c1"], "title": "停水", "description": "全楼停水", "category": "help", "created_by": "1001"}
VOICE = "1795444539.0"


def site(**orders: Any) -> SiteConfig:
    users = [{"name": "s1001", "role": "seat", "seat": "1001"}, {"name": "boss", "role": "supervisor"},
             {"name": "renshe1", "role": "unit", "unit": "renshe"},
             {"name": "zhiban1", "role": "unit", "unit": "zongzhiban"}]
    return parse_site({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
        "orders": {"units": [{"id": "renshe", "name": "人社局", "leader": LEADER}],
                   "subjects": [{"id": "water", "name": "供水", "unit": "renshe"}],
                   "areas": [{"id": "hualong", "name": "华龙区"}],
                   "duty_office": {"id": "zongzhiban", "name": "市政府总值班室", "phones": ["03938999110"],
                                   "webhook": "duty"}, **orders},
        "integration": {"webhooks": [{"name": "duty", "url": "http://127.0.0.1:9/duty", "secret": "duty-secret-123",
                                      "events": ["reported_duty"]}]},
        "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=FAST)} for u in users]})


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


class Env:
    def __init__(self, store: Store, s: SiteConfig, at: dt.datetime) -> None:
        self.clock = Clock(at)
        self.outbox = OutboxService(s.integration, s.site.id, store)
        self.service = WorkOrderService(store, orders=s.orders, now=self.clock, outbox=self.outbox)


def _env(store: Store, at: dt.datetime = dt.datetime(2026, 12, 1, 10, tzinfo=TZ)) -> tuple[SiteConfig, Env]:
    s = site()
    return s, Env(store, s, at)


def _api(client: Any) -> Api:
    return Api(client, PASSWORDS)


@pytest.fixture
def with_call(store: Store, make_call: MakeCall) -> Store:
    store.upsert_call(make_call("c1", caller_number="13912345678"))
    return store


async def _count(api: Api) -> int:
    status, found = await api.call("boss", "GET", "/api/work-orders")
    assert status == 200, found
    return int(found["total"])


async def test_one_request_files_and_starts(with_call: Store, tmp_path: Path) -> None:
    s, env = _env(with_call)
    async with serve(with_call, tmp_path, s, work_orders=env.service) as client:
        api = _api(client)
        status, order = await api.call("s1001", "POST", "/api/work-orders",
                                       {**BODY, "urgency": "key", "subject": "water", "area": "hualong"})
        assert status == 201, order
        assert [e["action"] for e in order["events"]] == ["create"]
        assert order["events"][0]["actor"] == "s1001" and order["status"] == "open"
        status, life = await api.call("s1001", "GET", f"/api/work-orders/{order['id']}/lifecycle")
        assert status == 200
        assert (life["lifecycle"]["state"], life["lifecycle"]["urgency"], life["lifecycle"]["subject"],
                life["lifecycle"]["area"]) == ("created", "key", "water", "hualong")
        assert life["lifecycle"]["dispatch_due"] == "2026-12-02T16:00:00+00:00"   # end of Wed 2 Dec (site time)
        # the old way still works: filed, then started
        status, filed = await api.call("s1001", "POST", "/api/work-orders", BODY)
        assert status == 201 and "events" not in filed
        status, started = await api.call("s1001", "POST", f"/api/work-orders/{filed['id']}/start",
                                         {"urgency": "normal"})
        assert status == 201 and [e["action"] for e in started["events"]] == ["create"]
        # started already: the one-request order refuses a second start
        status, body = await api.call("s1001", "POST", f"/api/work-orders/{order['id']}/start", {})
        assert (status, body["error_id"]) == (409, "illegal-transition")


LONG = "x" * 10_240


@pytest.mark.parametrize(("change", "field"), [
    ({"subject": "gas"}, "subject"),                 # not in the catalogue
    ({"area": "nowhere"}, "area"),
    ({"urgency": "urgent"}, "urgency"),
    ({"urgency": 1}, "urgency"),                      # wrong type
    ({"urgency": ["emergency"]}, "urgency"),
    ({"subject": 7}, "subject"),
    ({"subject": LONG}, "subject"),                   # 10 KB
    ({"area": LONG}, "area"),
    ({"title": LONG, "urgency": "normal"}, "title"),
    ({"description": LONG, "urgency": "normal"}, "description"),
    ({"call_ids": ["c1", "nope"], "urgency": "normal"}, "call_ids"),
    ({"call_ids": ["c1", "c1"], "urgency": "emergency"}, "call_ids"),
    ({"start": True, "urgency": "normal"}, "start"),  # not a field
])
async def test_a_refused_request_files_nothing(with_call: Store, tmp_path: Path, change: dict[str, Any],
                                               field: str) -> None:
    s, env = _env(with_call)
    async with serve(with_call, tmp_path, s, work_orders=env.service) as client:
        api = _api(client)
        status, body = await api.call("s1001", "POST", "/api/work-orders", {**BODY, **change})
        assert (status, body["error_id"], body["details"]["field"]) == (400, "invalid-request", field), body
        assert await _count(api) == 0
        assert with_call.work_orders_for_call("c1") == []
        status, order = await api.call("s1001", "POST", "/api/work-orders", {**BODY, "urgency": "normal"})
        assert status == 201 and order["id"].endswith("-000001")   # the daily sequence was not taken either


async def test_a_refusal_inside_the_transaction_files_nothing(with_call: Store, tmp_path: Path) -> None:
    """The filing and the lifecycle are one transaction: the lifecycle refused after the order row was
    written (a date the calendar does not know; the outbox failing) rolls the filing back too."""
    s, env = _env(with_call, at=dt.datetime(2031, 3, 3, 10, tzinfo=TZ))   # no calendar for 2031
    async with serve(with_call, tmp_path, s, work_orders=env.service) as client:
        api = _api(client)
        status, body = await api.call("s1001", "POST", "/api/work-orders", {**BODY, "urgency": "normal"})
        assert (status, body["error_id"]) == (422, "date-outside-calendar"), body
        assert await _count(api) == 0
        env.clock.at = dt.datetime(2026, 12, 1, 10, tzinfo=TZ)

        def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
            raise RuntimeError("outbox down")
        env.outbox.publish = broken   # type: ignore[method-assign]
        status, body = await api.call("s1001", "POST", "/api/work-orders", {**BODY, "urgency": "emergency"})
        assert status == 500, body
        assert await _count(api) == 0 and with_call.work_orders_for_call("c1") == []


async def test_from_a_voice_message_one_request_completes_its_order(store: Store, tmp_path: Path,
                                                                    make_call: MakeCall) -> None:
    message = make_call(VOICE, caller_number="13800001111", outcome=Outcome.voice_message, queue="night",
                        recording=f"{VOICE}-message.wav",
                        extra={"fallback": {"action": "message", "reason": "no_seat", "queue": "night"}})
    store.upsert_call(message)
    (placeholder,) = store.work_orders_for_call(VOICE)
    assert placeholder["created_by"] == "system"
    s, env = _env(store)
    async with serve(store, tmp_path, s, work_orders=env.service) as client:
        api = _api(client)
        status, order = await api.call("s1001", "POST", "/api/work-orders", {
            **BODY, "call_ids": [VOICE], "title": "留言：全楼停水", "category": "complaint", "urgency": "emergency",
            "subject": "water"})
        assert status == 201, order
        assert order["id"] == placeholder["id"]               # the message's order, not a second one
        assert order["title"] == "留言：全楼停水" and order["category"] == "complaint"
        assert order["caller_confidential"] is True          # 投诉: confidential by default
        assert order["description"].startswith("全楼停水\n\n") and f"{VOICE}-message.wav" in order["description"]
        create, report = order["events"]
        assert create["action"] == "create" and create["actor"] == "s1001"
        assert create["fields"]["voice_message"] == VOICE and create["fields"]["created_by"] == "1001"
        assert report["action"] == "report_duty"
        store.upsert_call(message)                            # a replayed record files nothing more
        assert [o["id"] for o in store.work_orders_for_call(VOICE)] == [order["id"]]
        # once started, the message's order is not taken over again: a new order is filed
        status, second = await api.call("s1001", "POST", "/api/work-orders",
                                        {**BODY, "call_ids": [VOICE], "urgency": "normal"})
        assert status == 201 and second["id"] != order["id"]


async def test_an_emergency_item_is_reported_to_the_duty_office(with_call: Store, tmp_path: Path) -> None:
    s, env = _env(with_call)
    async with serve(with_call, tmp_path, s, work_orders=env.service) as client:
        api = _api(client)
        status, urgent = await api.call("s1001", "POST", "/api/work-orders", {**BODY, "urgency": "emergency"})
        assert status == 201, urgent
        create, report = urgent["events"]
        assert (report["action"], report["actor"], report["role"]) == ("report_duty", "system", "system")
        assert report["at"] == create["at"] == "2026-12-01T10:00:00+08:00"   # at once
        assert report["fields"] == {"to": "zongzhiban", "name": "市政府总值班室", "phones": ["03938999110"],
                                    "filed_by": "s1001"}
        status, normal = await api.call("s1001", "POST", "/api/work-orders", {**BODY, "urgency": "normal"})
        assert status == 201 and [e["action"] for e in normal["events"]] == ["create"]
        for oid in (urgent["id"], normal["id"]):
            assert (await api.call("s1001", "POST", f"/api/work-orders/{oid}/dispatch", {"unit": "renshe"}))[0] == 200
        # the duty office's list: the emergency item only, flagged, with the report time
        status, found = await api.call("zhiban1", "GET", "/api/work-orders")
        assert status == 200 and [i["id"] for i in found["items"]] == [urgent["id"]]
        item = found["items"][0]
        assert (item["urgency"], item["unit"]) == ("emergency", "renshe")
        assert dt.datetime.fromisoformat(item["reported_at"]) == dt.datetime(2026, 12, 1, 10, tzinfo=TZ)
        assert "call_ids" not in item
        # the 主办 unit sees both, the urgency on each
        status, found = await api.call("renshe1", "GET", "/api/work-orders")
        assert {i["id"]: (i["urgency"], i["reported_at"] is not None) for i in found["items"]} == {
            urgent["id"]: ("emergency", True), normal["id"]: ("normal", False)}
        # read-only for the duty office: it reads the emergency item, acts on nothing, reads no other
        status, life = await api.call("zhiban1", "GET", f"/api/work-orders/{urgent['id']}/lifecycle")
        assert status == 200 and life["lifecycle"]["urgency"] == "emergency"
        assert "call_ids" not in life["order"]
        status, body = await api.call("zhiban1", "POST", f"/api/work-orders/{urgent['id']}/sign", {})
        assert (status, body["error_id"]) == (403, "not-your-order")
        status, body = await api.call("zhiban1", "GET", f"/api/work-orders/{normal['id']}/lifecycle")
        assert (status, body["error_id"]) == (403, "not-your-order")
        assert (await api.call("renshe1", "POST", f"/api/work-orders/{urgent['id']}/sign", {}))[0] == 200
    # the duty office's own system hears the report from the outbox (its webhook takes reported_duty only)
    with with_call.session() as session:
        rows = session.execute(select(OutboxEventRow.event_type, OutboxDeliveryRow.webhook, OutboxEventRow.order_id)
                               .join(OutboxDeliveryRow, OutboxDeliveryRow.event_id == OutboxEventRow.id)).all()
    assert [tuple(r) for r in rows] == [("reported_duty", "duty", urgent["id"])]


def test_the_duty_office_defaults_and_its_checks() -> None:
    plain = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}]})
    office = plain.orders.duty_office
    assert (office.id, office.name, office.phones, office.webhook) == ("duty", "市政府总值班室", [], None)
    assert site().orders.is_unit_id("zongzhiban") and not site().orders.is_unit_id("duty")
    for duty, message in [({"id": "zongzhiban", "webhook": "nope"}, "unknown webhook 'nope'"),
                          ({"id": "zongzhiban", "webhook": "all"}, "does not take reported_duty")]:
        with pytest.raises(ConfigError) as err:
            parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}], "orders": {"duty_office": duty},
                        "integration": {"webhooks": [{"name": "all", "url": "http://127.0.0.1:9/x",
                                                      "secret": "secret-12345", "events": ["created"]}]}})
        assert "orders.duty_office.webhook" in str(err.value) and message in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}], "orders": {"duty_office": {"id": "Bad Id"}}})
    assert "orders.duty_office.id" in str(err.value)


def test_the_create_body_and_its_openapi_schema_name_the_same_fields() -> None:
    from hotline.work_orders.openapi import SCHEMAS
    assert set(SCHEMAS["WorkOrderCreate"]["properties"]) == set(WorkOrderCreate.model_fields)
    assert set(SCHEMAS["OrderStart"]["properties"]) <= set(WorkOrderCreate.model_fields)


def test_the_emergency_deadline_is_8_clock_hours_across_midnight_and_a_holiday() -> None:
    """Dispatched at 20:00 on 30 Sep 2026, the eve of the National Day holiday (1-7 Oct): an emergency
    item is due at 04:00 on 1 Oct, a holiday, after midnight; a normal one counts working days past
    the holiday (8, 9, Sat 10 a make-up day, 12, 13 Oct: end of 13 Oct)."""
    from hotline.config.site import Deadlines
    from hotline.work_orders.lifecycle import Urgency
    from hotline.work_orders.transitions import Actor, Clock as OrderClock, apply, new_order
    from hotline.work_orders.workdays import WorkingCalendar
    clock = OrderClock(WorkingCalendar([]), Deadlines())
    eve = dt.datetime(2026, 9, 30, 20, tzinfo=TZ)
    seat = Actor("s1001", "seat")
    due = {u: apply(new_order("WO-20260930-000001", u, eve, clock), "dispatch", seat, {"unit": "renshe"}, eve,
                    clock)[0].due for u in (Urgency.emergency, Urgency.normal)}
    assert due[Urgency.emergency] == dt.datetime(2026, 10, 1, 4, tzinfo=TZ)
    assert due[Urgency.normal] == dt.datetime(2026, 10, 14, 0, tzinfo=TZ)


async def test_no_revisit_at_filing_and_changed_later(with_call: Store, tmp_path: Path) -> None:
    """不需回访: given at filing (both ways of filing), changed with PATCH by a seat or a supervisor
    (audited, as every supervisor's write), never by a unit; a bad body names the field."""
    s, env = _env(with_call)
    async with serve(with_call, tmp_path, s, work_orders=env.service) as client:
        api = _api(client)
        status, plain = await api.call("s1001", "POST", "/api/work-orders", BODY)
        assert status == 201 and plain["no_revisit"] is False
        status, order = await api.call("s1001", "POST", "/api/work-orders",
                                       {**BODY, "urgency": "normal", "no_revisit": True})
        assert status == 201 and order["no_revisit"] is True, order
        oid = plain["id"]
        for body, field in (({"no_revisit": "yes"}, "no_revisit"), ({}, "no_revisit"),
                            ({"no_revisit": True, "title": "x"}, "title")):
            status, refused = await api.call("s1001", "PATCH", f"/api/work-orders/{oid}", body)
            assert (status, refused["error_id"], refused["details"]["field"]) == (400, "invalid-request", field)
        status, changed = await api.call("s1001", "PATCH", f"/api/work-orders/{oid}", {"no_revisit": True})
        assert status == 200 and changed["no_revisit"] is True, changed
        status, read = await api.call("boss", "GET", f"/api/work-orders/{oid}")
        assert read["no_revisit"] is True
        status, refused = await api.call("renshe1", "PATCH", f"/api/work-orders/{oid}", {"no_revisit": False})
        assert status == 403, refused
        status, missing = await api.call("s1001", "PATCH", "/api/work-orders/WO-20261201-999999", {"no_revisit": True})
        assert (status, missing["error_id"]) == (404, "no-such-work-order")
        status, back = await api.call("boss", "PATCH", f"/api/work-orders/{oid}", {"no_revisit": False})
        assert status == 200 and back["no_revisit"] is False
        status, audit = await api.call("boss", "GET", "/api/audit?action=work-orders.patch")
        assert status == 200 and [(a["user"], a["target"]) for a in audit["items"]] == [("boss", f"work_order:{oid}")]
