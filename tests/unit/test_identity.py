"""Callers' identity (issue #9, 5): who sees a full number, confidential calls, audited reads,
a seat acting on its own calls only, and every role on every route of the fully built app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_call_control import FakeAmi, make, two_party
from test_call_legs import SEAT_LEAVES, SITE

from authkit import FAST, PASSWORDS, bearer, login
from hotline.auth import roles
from hotline.auth.passwords import hash_password
from hotline.auth.services import AuthService
from hotline.records.call import Outcome
from hotline.config import parse_site
from hotline.config.site import Role, SiteConfig
from hotline.exceptions import ConfigError
from hotline.live.hub import LiveHub
from hotline.privacy import OPEN_API, Viewer, mask_record, sees_full
from hotline.store import Store
from apikit import api_app

USERS = [("admin", "admin", None), ("boss", "supervisor", "1003"), ("s1001", "seat", "1001"),
         ("s1002", "seat", "1002"), ("dept", "department", None)]
ROLE_OF = {"admin": Role.admin, "boss": Role.supervisor, "s1001": Role.seat, "dept": Role.department}
CALLER = "13800138000"


def site_with_department() -> SiteConfig:
    return parse_site({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": s, "name": f"坐席{s}", "secret": f"seat-secret-{s}"} for s in ("1001", "1002", "1003")],
        "users": [{"name": n, "role": r, **({"seat": s} if s else {}),
                   "password_hash": hash_password(PASSWORDS[n], iterations=FAST)} for n, r, s in USERS]}, "t.yaml")


# --- the rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("viewer", "handled", "confidential", "full"), [
    (Viewer("admin", "admin"), [None], False, True),
    (Viewer("admin", "admin"), [None], True, True),
    (Viewer("boss", "supervisor", "1003"), ["1001"], True, True),
    (Viewer("s1001", "seat", "1001"), ["1001"], False, True),      # its own call
    (Viewer("s1001", "seat", "1001"), ["1002"], False, False),     # another seat's
    (Viewer("s1001", "seat", "1001"), [None], False, False),       # nobody's (abandoned)
    (Viewer("s1001", "seat", "1001"), ["1001"], True, False),      # its own, but confidential
    (Viewer("s1001", "seat", "1001"), ["1002", "1001"], False, True),   # a three-way call it is in
    (Viewer("dept", "department"), ["1001"], False, False),        # a department never
    (Viewer("x", "seat", None), [None], False, False),
    (OPEN_API, [None], True, True),                                # no users: the operator's own API
])
def test_who_sees_a_full_number(viewer: Viewer, handled: list[str | None], confidential: bool, full: bool) -> None:
    assert sees_full(viewer, handled_by=handled, confidential=confidential) is full


def test_mask_record_masks_the_citizens_number_wherever_it_is() -> None:
    record = {"caller_number": CALLER, "dialled_number": "12345", "seat": "1001"}
    assert mask_record(record) == {"caller_number": "138****8000", "dialled_number": "12345", "seat": "1001"}
    callback = {"caller_number": CALLER, "dialled_number": CALLER}   # a callback dials the citizen
    assert mask_record(callback) == {"caller_number": "138****8000", "dialled_number": "138****8000"}
    assert mask_record(mask_record(callback)) == mask_record(callback) and record["caller_number"] == CALLER


def test_a_department_user_has_no_seat() -> None:
    with pytest.raises(ConfigError) as err:
        parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}],
                    "seats": [{"id": "1001", "name": "a", "secret": "seat-secret-1"}],
                    "users": [{"name": "d", "role": "department", "seat": "1001",
                               "password_hash": hash_password("x", iterations=FAST)}]}, "t.yaml")
    assert ("users.0.seat", "a department user has no seat") in {(p[0], p[1]) for p in err.value.problems}


# --- every role on every route ------------------------------------------------------------------

async def _no_ami(action: dict[str, str], **_: Any) -> Any:
    raise ConnectionError("no AMI in this test")


def full_app(store: Store, state_dir: Path) -> Any:
    site = site_with_department()
    hub = LiveHub()
    return api_app(store, status=lambda: {}, site=site, hub=hub, ami_send=_no_ami,
                   auth=AuthService.for_state_dir(site.users, state_dir))


def api_routes(app: Any) -> list[tuple[str, str]]:
    return sorted({(r.method, r.resource.canonical) for r in app.router.routes()
                   if r.method != "HEAD" and r.resource is not None and r.resource.canonical.startswith("/api/")})


def test_every_route_of_the_built_app_has_a_rule_and_every_rule_a_route(sqlite_store: Store, tmp_path: Path) -> None:
    served = set(api_routes(full_app(sqlite_store, tmp_path)))
    assert served - set(roles.MIN_ROLE) - roles.PUBLIC == set(), "a route without a rule in hotline.auth.roles"
    assert set(roles.MIN_ROLE) - served == set(), "a rule for a route the app does not serve"
    assert roles.CALL_ACTIONS <= served


def _concrete(path: str, seat: str | None) -> str:
    values = {"seat_id": seat or "1001", "call_id": "1.1", "party": "seat", "work_order_id": "WO-1",
              "callback_id": "1", "number": "12345", "queue": "hotline", "delivery_id": "1",
              "revisit_id": "1", "unit": "renshe", "entry_id": "1", "alert_id": "1"}
    return re.sub(r"\{([a-z_]+)\}", lambda m: values[m.group(1)], path)


@pytest.fixture
async def full_client(sqlite_store: Store, tmp_path: Path
                      ) -> AsyncIterator[tuple[TestClient[Any, Any], dict[str, str], list[tuple[str, str]]]]:
    app = full_app(sqlite_store, tmp_path)
    async with TestClient(TestServer(app)) as client:
        tokens = {name: await login(client, name) for name in ROLE_OF}
        yield client, tokens, api_routes(app)


async def test_each_role_on_each_route(full_client: Any) -> None:
    """The table, asked over HTTP: each role on each route of the built app is refused with
    ``forbidden`` exactly when the table ranks it below the route's minimum role."""
    client, tokens, routes = full_client
    checked = 0
    for method, path in routes:
        if (method, path) in roles.PUBLIC or (method, path) == ("POST", "/api/logout"):
            continue
        needed = roles.MIN_ROLE[(method, path)]
        for name, role in ROLE_OF.items():
            seat = {"s1001": "1001", "boss": "1003"}.get(name)
            response = await client.request(method, _concrete(path, seat), json={}, headers={
                **bearer(tokens[name]), "Origin": str(client.make_url("")).rstrip("/")})
            body = await response.json() if response.content_type == "application/json" else {}
            refused = response.status == 403 and body.get("error_id") == "forbidden"
            assert refused is not roles.allows(role, needed), (name, method, path, response.status, body)
            checked += 1
    assert checked >= 4 * 30


# --- full numbers over HTTP, and their audit ----------------------------------------------------

@pytest.fixture
async def calls_api(sqlite_store: Store, tmp_path: Path, make_call: Any
                    ) -> AsyncIterator[tuple[TestClient[Any, Any], dict[str, str], Store]]:
    sqlite_store.upsert_call(make_call("1700000000.1", seat="1001"))
    sqlite_store.upsert_call(make_call("1700000000.2", seat="1002", caller_number="13911112222"))
    sqlite_store.upsert_call(make_call("1700000000.3", seat="1001", caller_number="13733334444"))
    sqlite_store.create_work_order(call_ids=["1700000000.3"], title="投诉", description="x", category="complaint",
                                   created_by="1001")   # complaints: confidential by default
    sqlite_store.upsert_call(make_call("1700000000.4", seat=None, outcome=Outcome.abandoned_in_queue,
                                       caller_number="13655556666", answered_at=None, queue="hotline"))
    async with TestClient(TestServer(full_app(sqlite_store, tmp_path))) as client:
        tokens = {name: await login(client, name) for name in ("admin", "boss", "s1001", "s1002", "dept")}
        yield client, tokens, sqlite_store


async def numbers(client: TestClient[Any, Any], token: str, url: str, key: str = "caller_number",
                  **headers: str) -> dict[str, str]:
    response = await client.get(url, headers={**bearer(token), **headers})
    assert response.status == 200, await response.text()
    return {item["call_id"]: item[key] for item in (await response.json())["items"]}


async def test_a_seat_sees_full_numbers_of_its_own_calls_only(calls_api: Any) -> None:
    client, tokens, store = calls_api
    seen = await numbers(client, tokens["s1001"], "/api/calls")
    assert seen == {"1700000000.1": CALLER,                       # its own
                    "1700000000.2": "139****2222",                # another seat's
                    "1700000000.3": "137****4444",                # its own, but a confidential complaint
                    "1700000000.4": "136****6666"}                # nobody's
    one = await client.get("/api/calls/1700000000.2", headers=bearer(tokens["s1001"]))
    assert (await one.json())["caller_number"] == "139****2222"
    assert await numbers(client, tokens["s1002"], "/api/calls") == {
        "1700000000.1": "138****8000", "1700000000.2": "13911112222", "1700000000.3": "137****4444",
        "1700000000.4": "136****6666"}
    rows = store.list_audit(action="read.caller_number")
    assert [(r["user"], r["target"], r["detail"]["call_ids"], r["detail"]["reason"]) for r in rows] == [
        ("s1002", "call:1700000000.2", ["1700000000.2"], "unspecified"),
        ("s1001", "call:1700000000.1", ["1700000000.1"], "unspecified")]   # the masked read is not one


async def test_supervisors_and_admins_see_every_number_and_each_read_is_audited_with_its_reason(
        calls_api: Any) -> None:
    client, tokens, store = calls_api
    full = {"1700000000.1": CALLER, "1700000000.2": "13911112222", "1700000000.3": "13733334444",
            "1700000000.4": "13655556666"}
    assert await numbers(client, tokens["boss"], "/api/calls?reason=complaint%20WO-1") == full
    assert await numbers(client, tokens["admin"], "/api/calls", **{"X-Hotline-Reason": "court order"}) == full
    rows = store.list_audit(action="read.caller_number")
    assert [(r["user"], r["role"], r["detail"]["reason"], r["detail"]["count"], r["detail"]["route"])
            for r in rows] == [("admin", "admin", "court order", 4, "GET /api/calls"),
                               ("boss", "supervisor", "complaint WO-1", 4, "GET /api/calls")]
    assert sorted(rows[0]["detail"]["call_ids"]) == sorted(full) and rows[0]["at"]
    too_long = await client.get("/api/calls?reason=" + "x" * 201, headers=bearer(tokens["boss"]))
    assert too_long.status == 400 and (await too_long.json())["details"]["field"] == "reason"


async def test_a_department_user_reads_work_orders_and_nothing_with_a_number(calls_api: Any) -> None:
    client, tokens, store = calls_api
    order = store.work_orders_for_call("1700000000.3")[0]
    got = await client.get(f"/api/work-orders/{order['id']}", headers=bearer(tokens["dept"]))
    assert got.status == 200 and CALLER not in await got.text()
    for url in ("/api/calls", "/api/calls/1700000000.1", "/api/calls/live", "/api/abandoned", "/api/callbacks"):
        refused = await client.get(url, headers=bearer(tokens["dept"]))
        assert refused.status == 403 and (await refused.json())["details"]["needed"] == "seat", url


async def test_full_1_on_abandoned_calls_is_for_supervisors_and_audited(calls_api: Any) -> None:
    client, tokens, store = calls_api
    seat = await numbers(client, tokens["s1001"], "/api/abandoned?full=1")
    assert seat == {"1700000000.4": "136****6666"}     # no seat handled an abandoned call
    boss = await numbers(client, tokens["boss"], "/api/abandoned?full=1&reason=callback%20campaign")
    assert boss == {"1700000000.4": "13655556666"}
    assert await numbers(client, tokens["boss"], "/api/abandoned") == {"1700000000.4": "136****6666"}
    rows = store.list_audit(action="read.caller_number")
    assert [(r["user"], r["detail"]["reason"], r["detail"]["route"]) for r in rows] == [
        ("boss", "callback campaign", "GET /api/abandoned")]


# --- live calls: the seat on the call, and call control on its own calls only --------------------

@pytest.fixture
async def live_api(sqlite_store: Store, tmp_path: Path
                   ) -> AsyncIterator[tuple[TestClient[Any, Any], dict[str, str], FakeAmi, Store]]:
    """A live call answered by seat 1001 (CEL captured on Asterisk 22), users of site_with_department."""
    control, ami, tracker = make(two_party())
    users = site_with_department().users
    app = api_app(sqlite_store, status=lambda: {}, control=control, site=SITE, live_calls=tracker.live_calls,
                  auth=AuthService.for_state_dir(users, tmp_path))
    async with TestClient(TestServer(app)) as client:
        tokens = {name: await login(client, name) for name in ("boss", "s1001", "s1002")}
        yield client, tokens, ami, sqlite_store


async def test_live_calls_show_the_full_number_to_the_seat_on_the_call(live_api: Any) -> None:
    client, tokens, _, store = live_api
    full = (await numbers(client, tokens["s1001"], "/api/calls/live"))[SEAT_LEAVES]
    assert full.isdigit()
    other = (await numbers(client, tokens["s1002"], "/api/calls/live"))[SEAT_LEAVES]
    assert "*" in other and other[-4:] == full[-4:]
    assert (await numbers(client, tokens["boss"], "/api/calls/live"))[SEAT_LEAVES] == full
    assert [r["user"] for r in store.list_audit(action="read.caller_number")] == ["boss", "s1001"]


async def test_a_seat_acts_on_its_own_call_only_and_every_action_is_audited(live_api: Any) -> None:
    client, tokens, ami, store = live_api
    url = f"/api/calls/{SEAT_LEAVES}"
    for what, method, body in [("/transfer", "POST", {"target": "110"}), ("/conference", "POST", {"target": "110"}),
                               ("/conference/department", "DELETE", None), ("/emergency", "POST", {})]:
        refused = await client.request(method, url + what, json=body, headers=bearer(tokens["s1002"]))
        got = await refused.json()
        assert refused.status == 403 and got["error_id"] == "not-your-call", (what, got)
        assert got["details"]["seats_on_call"] == ["1001"]
    assert ami.sent == []   # nothing touched the call
    own = await client.post(url + "/transfer", json={"target": "110"}, headers=bearer(tokens["s1001"]))
    assert own.status == 202, await own.text()
    rows = store.list_audit()
    assert [(r["user"], r["action"], r["status"]) for r in rows] == [
        ("s1001", "calls.transfer", 202), ("s1002", "calls.emergency", 403),
        ("s1002", "calls.conference.delete", 403), ("s1002", "calls.conference", 403),
        ("s1002", "calls.transfer", 403)]
    assert rows[0]["target"] == f"call:{SEAT_LEAVES}" and rows[0]["detail"]["body"] == {"target": "110"}


async def test_a_supervisor_acts_on_any_call(live_api: Any) -> None:
    client, tokens, ami, store = live_api
    done = await client.post(f"/api/calls/{SEAT_LEAVES}/transfer", json={"target": "110"},
                             headers=bearer(tokens["boss"]))
    assert done.status == 202 and ami.sent, await done.text()
    assert [(r["user"], r["action"]) for r in store.list_audit(action="calls.transfer")] == [("boss", "calls.transfer")]


def test_call_rule() -> None:
    assert roles.may_act_on_call(Role.seat, "1001", {"1001"})
    assert not roles.may_act_on_call(Role.seat, "1001", {"1002"})
    assert not roles.may_act_on_call(Role.seat, None, set())
    assert roles.may_act_on_call(Role.supervisor, None, {"1002"}) and roles.may_act_on_call(Role.admin, None, set())
    assert not roles.may_act_on_call(Role.department, None, {"1001"})



def test_a_department_acts_on_no_seat() -> None:
    assert not roles.may_act_on_seat(Role.department, None, "1001")
    assert roles.may_act_on_seat(Role.seat, "1001", "1001") and not roles.may_act_on_seat(Role.seat, "1001", "1002")


async def test_a_full_number_read_that_cannot_be_audited_is_refused(calls_api: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    client, tokens, store = calls_api

    def broken(**_: Any) -> int:
        raise OSError("disk full")
    monkeypatch.setattr(store, "add_audit", broken)
    response = await client.get("/api/calls", headers=bearer(tokens["boss"]))
    assert response.status == 500 and "13911112222" not in await response.text()
    masked = await client.get("/api/calls/1700000000.2", headers=bearer(tokens["s1001"]))   # nothing to audit
    assert masked.status == 200 and (await masked.json())["caller_number"] == "139****2222"
