"""The outbox routes as the controller builds them (``hotline.compose``): the order system pushes
changes back with its own token or HMAC (replays answered with the first result, bad input named
by field), supervisors see, retry and discard dead letters; the site config section."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.app import Controller
from hotline.config import load_site, parse_site
from hotline.exceptions import ConfigError, HotlineError
from hotline.metrics.prom import PromMetrics
from hotline.outbox.inbound import InboundChange
from hotline.outbox.services import OutboxService
from hotline.outbox.store import publish_in
from hotline.store import Store
from hotline.store.models import OutboxDeliveryRow, OutboxEventRow
from hotline.work_orders.lifecycle import Urgency
from hotline.work_orders.services import WorkOrderService
from hotline.work_orders.transitions import Actor
from authkit import bearer, login, serve, site_with_users
from outboxkit import Clock
from tests.unit.conftest import MakeCall

TOKEN = "tok-gongdan-1"
INTEGRATION = {"systems": [{"name": "gongdan", "token": TOKEN}],
               "webhooks": [{"name": "gongdan", "url": "http://127.0.0.1:9/events", "secret": "hook-secret-1"}]}
SITE = site_with_users(integration=INTEGRATION)
CHANGE = {"idempotency_key": "GD-2026-0001:signed", "order_id": "WO-20261201-000001", "change": "signed",
          "at": "2026-12-01T09:30:00+08:00", "data": {"note": "已签收"}}
URL = "/api/integration/gongdan/changes"


def signed(body: bytes, secret: str = TOKEN) -> dict[str, str]:
    return {"X-Hotline-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


async def dispatched(store: Store, make_call: MakeCall) -> str:
    """A filed order, in its lifecycle and dispatched to the unit ``renshe``."""
    store.upsert_call(make_call("1700000000.9"))
    oid = str(store.create_work_order(call_ids=["1700000000.9"], title="欠薪", description="工资拖欠",
                                      category="help", created_by="1001")["id"])
    orders = WorkOrderService(store, outbox=OutboxService(SITE.integration, SITE.site.id, store))
    await orders.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=Actor("s1001", "seat"))
    await orders.act(oid, "dispatch", Actor("s1001", "seat"), {"unit": "renshe"})
    return oid


async def test_a_change_is_applied_once_and_a_replay_gets_the_first_answer(sqlite_store: Store, tmp_path: Path,
                                                                           make_call: MakeCall) -> None:
    """The composed controller: the lifecycle is the hook (signed: the unit's ``sign``)."""
    oid = await dispatched(sqlite_store, make_call)
    change = {**CHANGE, "order_id": oid}
    async with serve(sqlite_store, tmp_path, SITE) as client:
        first = await client.post(URL, json=change, headers=bearer(TOKEN))
        assert first.status == 202, await first.text()
        answer = await first.json()
        assert (answer["applied"], answer["replayed"], answer["order_id"]) == (True, False, oid)
        assert (answer["action"], answer["from_state"], answer["state"], answer["unit"]) == (
            "sign", "dispatched", "signed", "renshe")
        body = json.dumps({**change, "data": {"note": "changed"}}).encode()
        again = await client.post(URL, data=body, headers=signed(body))   # same key, HMAC this time
        assert again.status == 202
        assert await again.json() == {**answer, "replayed": True}
        boss = bearer(await login(client, "boss"))
        listed = await (await client.get("/api/integration/changes", headers=boss)).json()
        assert listed["total"] == 1 and listed["items"][0]["data"] == {"note": "已签收"}
    assert events(sqlite_store) == 3   # created, dispatched, signed: the replay published nothing


async def test_inbound_changes_are_pruned_after_the_retention(sqlite_store: Store) -> None:
    clock = Clock()
    outbox = OutboxService(SITE.integration, "puyang", sqlite_store, clock=clock)
    body = json.dumps(CHANGE).encode()
    assert (await outbox.receive("gongdan", body, authorization=f"Bearer {TOKEN}", signature=None))[1] is False
    clock.advance(days=6)
    assert await outbox.prune() == 0 and len(await outbox.inbound_changes(10)) == 1
    clock.advance(days=2)
    assert await outbox.prune() == 1 and await outbox.inbound_changes(10) == []


@pytest.mark.parametrize(("change", "field"), [
    ({**CHANGE, "change": "teleported"}, "change"),
    ({**CHANGE, "at": "2026-12-01T09:30:00"}, "at"),
    ({k: v for k, v in CHANGE.items() if k != "idempotency_key"}, "idempotency_key"),
    ({**CHANGE, "order_id": "WO 1; drop"}, "order_id"),
    ({**CHANGE, "data": []}, "data"),
    ({**CHANGE, "extra": 1}, "extra"),
])
async def test_bad_input_names_the_field_and_stores_nothing(sqlite_store: Store, tmp_path: Path,
                                                            change: dict[str, Any], field: str) -> None:
    async with serve(sqlite_store, tmp_path, SITE) as client:
        response = await client.post(URL, json=change, headers=bearer(TOKEN))
        assert response.status == 400
        error = await response.json()
        assert (error["error_id"], error["details"]["field"]) == ("invalid-request", field)
        boss = bearer(await login(client, "boss"))
        assert (await (await client.get("/api/integration/changes", headers=boss)).json())["total"] == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-1"}, {"Authorization": TOKEN},
                                     {"X-Hotline-Signature": "sha256=00"}])
async def test_without_the_token_or_signature_nothing_is_read(sqlite_store: Store, tmp_path: Path,
                                                               headers: dict[str, str]) -> None:
    async with serve(sqlite_store, tmp_path, SITE) as client:
        for url in (URL, "/api/integration/nobody/changes"):
            response = await client.post(url, json=CHANGE, headers=headers)
            assert response.status == 401
            assert (await response.json())["error_id"] == "inbound-auth-failed"
        assert (await client.post("/api/integration/nobody/changes", json=CHANGE, headers=bearer(TOKEN))).status == 401


class Illegal(HotlineError):
    error_id = "illegal-transition"
    http_status = 409


def events(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxEventRow)) or 0)


async def test_the_hook_applies_in_the_same_transaction_and_a_refusal_is_replayed(sqlite_store: Store,
                                                                                   tmp_path: Path) -> None:
    """What the lifecycle will do: apply the change and publish the order's event in the session
    of the stored change; a refusal rolls that back, and is the answer to every replay."""
    outbox: OutboxService

    def hook(session: Session, change: InboundChange) -> dict[str, Any]:
        outbox.publish(change.order_id, change.change, {"by": change.system}, session=session)
        if change.data.get("refuse"):
            raise Illegal("cannot sign a closed order", order_id=change.order_id)
        return {"applied": True}

    outbox = OutboxService(SITE.integration, "puyang", sqlite_store, inbound_hook=hook)
    async with serve(sqlite_store, tmp_path, SITE, outbox=outbox) as client:
        ok = await client.post(URL, json=CHANGE, headers=bearer(TOKEN))
        assert (ok.status, (await ok.json())["applied"], events(sqlite_store)) == (202, True, 1)
        refused = {**CHANGE, "idempotency_key": "GD-2", "data": {"refuse": True}}
        for replayed in (False, True):
            response = await client.post(URL, json=refused, headers=bearer(TOKEN))
            answer = await response.json()
            assert (response.status, answer["error_id"], answer["replayed"]) == (409, "illegal-transition", replayed)
        assert events(sqlite_store) == 1   # the refused change's event rolled back with it


async def test_dead_letters_for_supervisors(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path, SITE) as client:
        seat, boss = bearer(await login(client, "s1001")), bearer(await login(client, "boss"))
        assert (await client.get("/api/outbox/dead-letters", headers=seat)).status == 403
        with sqlite_store.session() as session:
            publish_in(session, site_id="puyang", webhooks=SITE.integration.webhooks, order_id="WO-1",
                       event_type="created", payload={}, now=datetime.now(UTC))
            session.flush()
            session.execute(OutboxDeliveryRow.__table__.update().values(status="dead", attempts=12,
                                                                        last_error="HTTP 500"))
        [dead] = (await (await client.get("/api/outbox/dead-letters", headers=boss)).json())["items"]
        assert (dead["idempotency_key"], dead["attempts"], dead["last_error"]) == ("puyang:WO-1:1", 12, "HTTP 500")
        retried = await client.post(f"/api/outbox/dead-letters/{dead['id']}/retry", headers=boss)
        assert (retried.status, (await retried.json())["status"]) == (200, "pending")
        again = await client.post(f"/api/outbox/dead-letters/{dead['id']}/retry", headers=boss)
        assert (again.status, (await again.json())["error_id"]) == (404, "no-such-dead-letter")
        with sqlite_store.session() as session:
            session.execute(OutboxDeliveryRow.__table__.update().values(status="dead"))
        assert (await client.delete(f"/api/outbox/dead-letters/{dead['id']}", headers=boss)).status == 204
        assert (await client.delete(f"/api/outbox/dead-letters/{dead['id']}", headers=boss)).status == 404
        assert (await client.delete("/api/outbox/dead-letters/abc", headers=boss)).status == 404
        assert (await (await client.get("/api/outbox/dead-letters?limit=0", headers=boss)).json())["details"][
            "field"] == "limit"


def test_the_site_config_section_refuses_what_it_does_not_know() -> None:
    base = {"trunks": [{"name": "carrier", "host": "127.0.0.2"}]}
    for bad, where in (
            ({"webhooks": [{**INTEGRATION["webhooks"][0], "retries": 3}]}, "retries"),
            ({"webhooks": [{**INTEGRATION["webhooks"][0], "events": ["teleported"]}]}, "events"),
            ({"webhooks": [{**INTEGRATION["webhooks"][0], "url": "ftp://x"}]}, "url"),
            ({"webhooks": INTEGRATION["webhooks"] * 2}, "more than once"),
            ({"backoff_base_ms": 5000, "backoff_cap_ms": 1000}, "backoff_cap_ms")):
        with pytest.raises(ConfigError) as exc:
            parse_site({**base, "integration": bad}, "site.yaml")
        assert where in str(exc.value), (bad, str(exc.value))
    site = parse_site({**base, "integration": INTEGRATION}, "site.yaml")
    assert site.integration.webhooks[0].events[0] == "created" and site.integration.retention_days == 7


def test_metrics_show_the_outbox() -> None:
    text = PromMetrics("puyang", node="n1").exposition(
        {"outbox": {"ok": True, "pending_rows": 3, "delivered_rows": 9, "dead_rows": 2, "sent": 9, "failed": 4}}
    ).decode()
    assert 'hotline_outbox_deliveries{node="n1",site="puyang",status="dead"} 2.0' in text
    assert 'hotline_outbox_attempts_total{node="n1",result="failed",site="puyang"} 4.0' in text


async def test_the_controller_builds_the_outbox_once_and_reports_it(controller_paths: Any) -> None:
    site = load_site(str(Path(__file__).resolve().parents[2] / "examples" / "nantong" / "site.yaml"))
    controller = Controller(site, controller_paths)
    try:
        assert controller.outbox is controller.services.outbox
        controller.store.upgrade()
        controller.outbox.start()   # what Controller.start does (the rest needs Asterisk)
        assert controller.status()["outbox"]["running"] is True
        assert controller.status()["outbox"]["ok"] is True
        await controller.outbox.stop()
        assert controller.status()["outbox"]["running"] is False
    finally:
        controller.journal.stop()
        controller.store.close()
        controller.state_lock.release()
