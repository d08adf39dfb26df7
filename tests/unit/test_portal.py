"""The unit portal's page (hotline.portal): served without a token with a strict CSP and the
site's time zone; its script writes no HTML and sends every write as JSON through one helper,
the pages' shared script (hotline.pages: /pages/common.js, the wallboard's too). /api/me names a
unit user's unit. The page itself is driven in headless Chromium by tests/integration/test_portal.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.auth.passwords import hash_password
from hotline.config import parse_site
from hotline.store import Store

from authkit import FAST, serve

PASSWORDS = {"renshe1": "unit-pass-renshe", "boss": "boss-pass-1"}

STATIC = Path(__file__).resolve().parents[2] / "hotline" / "portal" / "static"
SHARED = Path(__file__).resolve().parents[2] / "hotline" / "pages" / "static" / "common.js"


async def test_the_page_and_its_assets(sqlite_store: Store, tmp_path: Path) -> None:
    site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}], "site": {"timezone": "Asia/Urumqi"}}, "t.yaml")
    async with serve(sqlite_store, tmp_path, site) as client:
        page = await client.get("/portal")
        assert page.status == 200 and page.content_type == "text/html"
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY"
        text = await page.text()
        assert '<meta name="hotline-timezone" content="Asia/Urumqi">' in text and "承办单位门户" in text
        script = await client.get("/portal/portal.js")
        assert script.status == 200 and script.content_type == "application/javascript"
        assert (await client.get("/portal/portal.css")).content_type == "text/css"
        missing = await client.get("/portal/index.html.bak")
        assert missing.status == 404 and (await missing.json())["error_id"] == "not-found"
        shared = await client.get("/pages/common.js")   # the script the portal and the wallboard share
        assert shared.status == 200 and shared.content_type == "application/javascript"
        assert await shared.text() == SHARED.read_text()
        assert text.index('src="/pages/common.js"') < text.index('src="/portal/portal.js"')
        for bad in ("/pages/portal.js", "/pages/..%2Fhttp.py"):
            refused = await client.get(bad)
            assert refused.status == 404 and (await refused.json())["error_id"] == "not-found"


@pytest.mark.parametrize("sink", ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                                  "new Function", "http://", "https://"])
def test_the_script_writes_no_html_and_loads_nothing_else(sink: str) -> None:
    """Order texts come from citizens: the page only ever writes text nodes; no CDN, no other origin."""
    for path in (STATIC / "portal.js", STATIC / "index.html", SHARED):
        assert sink not in path.read_text(), (path.name, sink)


def test_every_request_goes_through_one_json_helper() -> None:
    """The portal has no fetch of its own: the shared api() sends JSON with its content type."""
    shared = SHARED.read_text()
    helper = re.search(r"  async function api\(method, path, body\) \{(.*?)\n  \}", shared, re.S)
    assert helper is not None
    assert '{"Content-Type": "application/json"}' in helper.group(1) and "JSON.stringify(body)" in helper.group(1)
    assert len(re.findall(r"\bfetch\(", shared)) == 1
    script = (STATIC / "portal.js").read_text()
    assert "const {$, el, api} = Hotline;" in script and not re.findall(r"\bfetch\(", script)


def test_the_pages_share_their_helpers_instead_of_copying_them() -> None:
    """The element, API and session helpers are defined once, in the shared script."""
    pages = [STATIC / "portal.js", STATIC.parent.parent / "wallboard" / "static" / "wallboard.js"]
    for name in ("function el(", "async function api(", "async function login(", "async function logout(",
                 "const $ = "):
        assert name in SHARED.read_text(), name
        for page in pages:
            assert name not in page.read_text(), (page.name, name)


async def test_me_names_a_unit_users_unit(sqlite_store: Store, tmp_path: Path) -> None:
    """The portal's header shows the unit's name (orders.units[].name), not its id."""
    leader = {"name": "王局长", "phone": "13800000001"}
    users = [{"name": "renshe1", "role": "unit", "unit": "renshe"}, {"name": "boss", "role": "supervisor"}]
    site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}],
                       "orders": {"units": [{"id": "renshe", "name": "市人社局", "leader": leader}]},
                       "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=FAST)}
                                 for u in users]}, "t.yaml")
    async with serve(sqlite_store, tmp_path, site) as client:
        for name, expected in (("renshe1", {"unit": "renshe", "unit_name": "市人社局"}), ("boss", {})):
            login = await client.post("/api/login", json={"name": name, "password": PASSWORDS[name]})
            token = (await login.json())["token"]
            me = await (await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})).json()
            assert {k: me[k] for k in ("unit", "unit_name") if k in me} == expected, name


def test_the_page_shows_the_units_duty_phone_tests() -> None:
    """The unit's month of duty-phone dial tests (GET /api/duty-probes: its own unit only) in a
    section of the list view: the counts, the 不通 events with their times, refused duty phones."""
    page, script = (STATIC / "index.html").read_text(), (STATIC / "portal.js").read_text()
    assert 'id="duty-probes"' in page and "值班电话拨测" in page and 'id="dp-events"' in page
    assert page.index('id="list-view"') < page.index('id="duty-probes"') < page.index('id="detail"')
    assert "`/api/duty-probes?month=${encodeURIComponent(month)}`" in script
    for shown in ("unit.unreachable", "unit.answered", "unit.tries", "unit.refused_phones", "when(e.at)"):
        assert shown in script, shown
