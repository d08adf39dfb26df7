"""The unit portal's page (hotline.portal): served without a token with a strict CSP and the
site's time zone; its script writes no HTML and sends every write as JSON through one helper.
The page itself is driven in headless Chromium by tests/integration/test_portal.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.config import parse_site
from hotline.store import Store

from authkit import serve

STATIC = Path(__file__).resolve().parents[2] / "hotline" / "portal" / "static"


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


@pytest.mark.parametrize("sink", ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                                  "new Function", "http://", "https://"])
def test_the_script_writes_no_html_and_loads_nothing_else(sink: str) -> None:
    """Order texts come from citizens: the page only ever writes text nodes; no CDN, no other origin."""
    for name in ("portal.js", "index.html"):
        assert sink not in (STATIC / name).read_text(), (name, sink)


def test_every_request_goes_through_one_json_helper() -> None:
    script = (STATIC / "portal.js").read_text()
    helper = re.search(r"async function api\(method, path, body\) \{(.*?)\n\}", script, re.S)
    assert helper is not None
    assert '{"Content-Type": "application/json"}' in helper.group(1) and "JSON.stringify(body)" in helper.group(1)
    assert len(re.findall(r"\bfetch\(", script)) == 1
