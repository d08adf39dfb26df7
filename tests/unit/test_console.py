"""The seat console (issue 13): the pinned browser SIP library, the page's routes, the seat's phone
route and its own-seat rule, the install's DTLS certificate. The phone itself is tested end to end
in tests/integration/test_console_webrtc.py (real Asterisk, sipp and Chromium)."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest

from hotline.asterisk_certs import CERT_FILE, KEY_FILE, ensure_dtls_cert
from hotline.auth.passwords import hash_password
from hotline.config import parse_site
from hotline.config.site import SiteConfig
from hotline.console import vendor
from hotline.console.errors import VendorRefused
from hotline.store import Store
from trunk_config import webrtc

from authkit import FAST, bearer, serve

REPO = Path(__file__).resolve().parents[2]
PASSWORDS = {"web": "web-pass-1011", "desk": "desk-pass-1001", "boss": "boss-pass-1"}


def _site(**asterisk: Any) -> SiteConfig:
    users = [{"name": "web", "role": "seat", "seat": "1011"}, {"name": "desk", "role": "seat", "seat": "1001"},
             {"name": "boss", "role": "supervisor"}]
    return parse_site({
        "asterisk": asterisk,
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"},
                  {"id": "1011", "name": "网页坐席", "secret": "seat-secret-1011", "phone": "browser"}],
        "seat_rules": {"pause_reasons": [{"code": "break", "name": "小休"}, {"code": "x", "name": "<b>培训</b>"}]},
        "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=FAST)} for u in users]},
        "t.yaml")


async def _token(client: Any, name: str) -> str:
    r = await client.post("/api/login", json={"name": name, "password": PASSWORDS[name]})
    assert r.status == 200, await r.text()
    return str((await r.json())["token"])


# --- the library -------------------------------------------------------------------------------


def test_the_packaged_library_is_the_pinned_one_and_the_fetch_script_pins_the_same() -> None:
    assert vendor.integrity_of(vendor.tarball()) == vendor.INTEGRITY
    script = (REPO / "scripts" / "fetch-sipjs.sh").read_text()
    assert f"VERSION={vendor.VERSION}\n" in script and f"INTEGRITY={vendor.INTEGRITY}\n" in script


def test_a_tampered_tarball_is_refused() -> None:
    data = bytearray(vendor.tarball())
    data[-10] ^= 0xFF
    with pytest.raises(VendorRefused) as caught:
        vendor.load(bytes(data))
    assert caught.value.error_id == "vendor-refused" and caught.value.details["pinned"] == vendor.INTEGRITY


def test_every_import_of_the_library_resolves_to_a_served_file() -> None:
    """The browser loads the ES modules one by one: a relative import with no file would break the phone."""
    files = vendor.library().files
    assert "index.js" in files and "platform/web/index.js" in files
    for path, text in files.items():
        for target in re.findall(rb'(?:from|import)\s+"(\.[^"]+)"', text):
            resolved = Path("/", path).parent.joinpath(target.decode()).resolve().relative_to("/")
            assert str(resolved) in files, f"{path} imports {target!r}, not in the tarball"


# --- the routes --------------------------------------------------------------------------------


async def test_the_page_and_its_assets_are_served_with_a_strict_policy(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path, site=_site()) as client:
        page = await client.get("/console")
        assert page.status == 200
        text = await page.text()
        assert "坐席工作台" in text and "{{" not in text
        assert "&lt;b&gt;培训&lt;/b&gt;" in text    # the pause reasons, escaped into an attribute
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "connect-src 'self' ws: wss:" in csp and "unsafe" not in csp
        for name in ("console.js", "phone.js", "console.css"):
            assert (await client.get(f"/console/{name}")).status == 200
        assert (await client.get("/console/evil.js")).status == 404
        lib = await client.get("/console/vendor/sip.js/index.js")
        assert lib.status == 200 and lib.content_type == "application/javascript"
        assert (await client.get("/console/vendor/sip.js/nope.js")).status == 404
        assert (await client.get("/console/vendor/sip.js/../http.py")).status == 404


async def test_a_seat_reads_its_own_browser_phone_and_no_other(sqlite_store: Store, tmp_path: Path) -> None:
    site = _site(webrtc={"port": 18088, "qualify_seconds": 4})
    async with serve(sqlite_store, tmp_path, site=site) as client:
        r = await client.get("/api/seats/1011/phone")
        assert r.status == 401, await r.text()
        desk, web = await _token(client, "desk"), await _token(client, "web")   # (the cookie: web's)
        r = await client.get("/api/seats/1011/phone", headers=bearer(web))
        assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
        body = await r.json()
        assert body["username"] == "1011" and body["password"] == "seat-secret-1011"
        assert body["ws_url"] == "ws://127.0.0.1:18088/ws" and body["uri"] == "sip:1011@127.0.0.1"
        assert body["qualify_seconds"] == 4
        # another seat's phone: refused before anything is read (the own-seat rule)
        r = await client.get("/api/seats/1011/phone", headers=bearer(desk))
        assert r.status == 403 and "seat-secret-1011" not in await r.text()
        r = await client.get("/api/seats/1001/phone", headers=bearer(desk))   # a desk phone's seat
        assert r.status == 409 and (await r.json())["error_id"] == "not-a-browser-phone"
        boss = await _token(client, "boss")
        r = await client.get("/api/seats/9999/phone", headers=bearer(boss))
        assert r.status == 404 and (await r.json())["error_id"] == "no-such-seat"


def test_the_websocket_address_follows_the_site() -> None:
    from hotline.console.services import ws_url

    assert ws_url(_site(webrtc={"port": 9000}), "seat.example", secure=False) == "ws://seat.example:9000/ws"
    tls = _site(webrtc={"port": 9000, "tls_port": 9443})
    assert ws_url(tls, "seat.example", secure=True) == "wss://seat.example:9443/ws"
    assert ws_url(tls, "::1", secure=False) == "ws://[::1]:9000/ws"
    assert ws_url(_site(webrtc={"public_url": "wss://sip.example/ws"}), "x", secure=True) == "wss://sip.example/ws"


def test_bad_webrtc_config_names_the_field() -> None:
    from hotline.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"seats\.0\.phone: .*'softphone'"):
        _site_with_seat_phone("softphone")
    with pytest.raises(ConfigError, match=r"asterisk\.webrtc\.public_url"):
        _site(webrtc={"public_url": "http://not-a-websocket"})


def _site_with_seat_phone(phone: str) -> SiteConfig:
    return parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}],
                       "seats": [{"id": "1001", "name": "x", "secret": "secret-1234", "phone": phone}]}, "t.yaml")


# --- the DTLS certificate ----------------------------------------------------------------------


class _Runtime:
    def __init__(self, root: Path) -> None:
        self.root, self.mode, self.instance = root, "chroot", "/srv/hotline/x"
        self.etc, self.sounds_inner = f"{self.instance}/etc", f"{self.instance}/sounds"

    def host_path(self, inner: str) -> Path:
        return self.root / inner.lstrip("/")


def test_the_install_makes_the_dtls_certificate_once_never_world_readable(tmp_path: Path) -> None:
    rt = _Runtime(tmp_path)
    cert, key = ensure_dtls_cert(rt)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(cert.stat().st_mode) == 0o640
    assert b"BEGIN CERTIFICATE" in cert.read_bytes() and b"PRIVATE KEY" in key.read_bytes()
    first = cert.read_bytes()
    key.chmod(0o644)   # loosened by hand: tightened again, the pair kept
    ensure_dtls_cert(rt)
    assert cert.read_bytes() == first and stat.S_IMODE(key.stat().st_mode) == 0o600
    # the generator names the same files Asterisk is given
    assert (CERT_FILE, KEY_FILE) == (webrtc.CERT_FILE, webrtc.KEY_FILE)
