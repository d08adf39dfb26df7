"""Login hardening (lockout per user and address, the bounded hash pool, failed logins audited)
and the web guard (Host without users, Content-Type and Origin on every write)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hotline.auth import services as auth_services
from hotline.auth.hashpool import HashPool
from hotline.auth.throttle import LoginThrottle
from hotline.auth.webguard import host_allowed, origin_matches
from hotline.config import parse_site
from hotline.exceptions import LoginBusy, TooManyAttempts
from hotline.store import Store

from authkit import PASSWORDS, bearer, login, serve, site_with_users

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the throttle ---------------------------------------------------------------------------


def test_five_failures_in_five_minutes_lock_the_user_for_fifteen() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for i in range(4):
        assert throttle.failed("s1001", f"10.0.0.{i}") == []
        throttle.check("s1001", "10.0.0.99")
    assert throttle.failed("s1001", "10.0.0.4") == ["user"]
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("s1001", "10.0.0.99")      # from any address
    assert caught.value.retry_after == 900
    assert caught.value.headers() == {"Retry-After": "900"}
    throttle.check("s1002", "10.0.0.99")           # another user is not locked
    clock.now += 899
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("s1001", None)
    assert caught.value.retry_after == 1
    clock.now += 1
    throttle.check("s1001", None)                  # the lockout ended


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        throttle.failed("s1001", None)
    clock.now += 301
    assert throttle.failed("s1001", None) == []
    throttle.check("s1001", None)


def test_a_success_resets_the_users_counter() -> None:
    throttle = LoginThrottle(clock=Clock())
    for _ in range(4):
        throttle.failed("s1001", "10.0.0.1")
    throttle.succeeded("s1001")
    for _ in range(4):
        assert throttle.failed("s1001", "10.0.0.1") == []
    throttle.check("s1001", "10.0.0.1")


def test_an_address_trying_many_names_is_locked() -> None:
    throttle = LoginThrottle(clock=Clock(), address_failures=20)
    locked = [throttle.failed(f"guess{i}", "203.0.113.9") for i in range(20)]
    assert locked[-1] == ["address"] and not any(locked[:-1])
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("admin", "203.0.113.9")
    assert caught.value.details["locked"] == "address"
    throttle.check("admin", "203.0.113.10")


def test_the_counters_have_bounded_memory() -> None:
    throttle = LoginThrottle(clock=Clock(), max_keys=100)
    for i in range(10_000):
        throttle.failed(f"name{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert throttle.sizes() == (100, 100)


# --- the hash pool --------------------------------------------------------------------------


async def test_a_full_hash_pool_refuses_at_once() -> None:
    pool = HashPool(workers=2, queue=1)
    release = threading.Event()
    try:
        running = [asyncio.ensure_future(pool.run(release.wait, 30)) for _ in range(3)]
        await asyncio.sleep(0)
        assert pool.busy == 3
        with pytest.raises(LoginBusy) as caught:
            await pool.run(lambda: None)
        assert caught.value.http_status == 503 and caught.value.headers() == {"Retry-After": "1"}
    finally:
        release.set()
    assert await asyncio.gather(*running) == [True, True, True]
    assert pool.busy == 0
    assert await pool.run(lambda: 7) == 7
    pool.close()


async def _until(condition: Callable[[], bool], what: str, deadline_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while not condition():
        assert loop.time() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_bogus_logins_do_not_stall_the_default_executor(sqlite_store: Store, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Logins hash on two threads of their own with a short queue; the rest are answered
    ``login-busy`` at once, and the loop's default executor (the reconciler's, the store's)
    stays free even while every hash hangs."""
    release = threading.Event()
    entered: list[str] = []

    running = [0, 0]   # now, most at once
    lock = threading.Lock()

    def slow_verify(password: str, encoded: str) -> bool:
        with lock:
            entered.append(password)
            running[0] += 1
            running[1] = max(running)
        release.wait(30)
        with lock:
            running[0] -= 1
        return False

    monkeypatch.setattr(auth_services, "verify_password", slow_verify)
    async with serve(sqlite_store, tmp_path) as client:
        answers: list[int] = []

        async def bogus(i: int) -> None:
            response = await client.post("/api/login", json={"name": "admin", "password": f"guess-{i}"})
            answers.append(response.status)
            if response.status == 503:
                body = await response.json()
                assert body["error_id"] == "login-busy" and response.headers["Retry-After"] == "1"

        tasks = [asyncio.ensure_future(bogus(i)) for i in range(16)]
        try:
            await _until(lambda: answers.count(503) == 6, "six logins refused as busy (2 hashing + 8 waiting)")
            await _until(lambda: len(entered) == 2, "the two hashing threads to start")
            assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 10) == "free"
            assert (await client.get("/api/me")).status == 401    # the API still answers
        finally:
            release.set()
        await asyncio.gather(*tasks)
    assert sorted(answers) == [401] * 10 + [503] * 6
    assert len(entered) == 10 and running[1] == 2   # never more than two at once: eight waited their turn


# --- lockout and audit over HTTP -----------------------------------------------------------


async def test_lockout_over_http_then_even_the_right_password_waits(sqlite_store: Store, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        for i in range(5):
            response = await client.post("/api/login", json={"name": "s1001", "password": f"wrong-{i}"})
            assert response.status == 401
        hashed: list[str] = []
        monkeypatch.setattr(auth_services, "verify_password", lambda p, e: hashed.append(p) or True)
        response = await client.post("/api/login", json={"name": "s1001", "password": PASSWORDS["s1001"]})
        assert response.status == 429, await response.text()
        body = await response.json()
        assert body["error_id"] == "too-many-attempts" and body["details"]["locked"] == "user"
        assert 0 < int(response.headers["Retry-After"]) <= 900
        assert hashed == []                         # locked out: no hash was computed
        monkeypatch.undo()
        await login(client, "s1002")                # another user still logs in


async def test_a_success_resets_the_count_over_http(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        for _ in range(2):
            for i in range(4):
                response = await client.post("/api/login", json={"name": "s1001", "password": f"wrong-{i}"})
                assert response.status == 401
            await login(client, "s1001")


async def test_failed_logins_are_audited_without_the_password(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        for i in range(5):
            await client.post("/api/login", json={"name": "s1002", "password": f"secret-guess-{i}"})
        await client.post("/api/login", json={"name": "nobody", "password": "secret-guess-x"})
        locked = await client.post("/api/login", json={"name": "s1002", "password": "secret-guess-y"})
        assert locked.status == 429
        token = await login(client, "boss")
        response = await client.get("/api/audit?action=login.failed", headers=bearer(token))
        rows = (await response.json())["items"]
    assert [r["user"] for r in rows] == ["nobody"] + ["s1002"] * 5    # newest first; the 429 is not a row
    assert all(r["status"] == 401 and r["role"] == "none" and r["detail"]["address"] == "127.0.0.1"
               and r["detail"]["reason"] == "bad-credentials" for r in rows)
    assert rows[1]["detail"]["locked"] == ["user"]                     # the fifth failure locked it
    assert "secret-guess" not in json.dumps(rows)


# --- the web guard: Host without users ------------------------------------------------------


@pytest.mark.parametrize(("host", "ok"), [
    ("localhost:8080", True), ("LOCALHOST", True), ("127.0.0.1:8080", True), ("[::1]:8080", True),
    ("10.1.2.3", True), ("hotline.city.example", True), ("hotline.city.example.:80", True),
    ("evil.example", False), ("evil.example:8080", False), ("localhost.evil.example", False), ("", False),
])
def test_host_allowed(host: str, ok: bool) -> None:
    assert host_allowed(host, frozenset({"localhost", "hotline.city.example"})) is ok


@pytest.mark.parametrize(("origin", "host", "ok"), [
    ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
    ("http://localhost", "localhost:80", True),
    ("https://hotline.example", "hotline.example", True),
    ("http://127.0.0.1:8081", "127.0.0.1:8080", False),
    ("http://evil.example", "127.0.0.1:8080", False),
    ("null", "127.0.0.1:8080", False),
    ("file://", "127.0.0.1:8080", False),
])
def test_origin_matches(origin: str, host: str, ok: bool) -> None:
    assert origin_matches(origin, host) is ok


def open_site(**api: Any) -> Any:
    return parse_site({"trunks": [{"name": "carrier", "host": "127.0.0.2"}], "api": api}, "test.yaml")


@pytest.mark.parametrize(("host", "status"), [
    ("evil.example", 403), ("rebound.attacker.example:8080", 403),
    ("localhost", 200), ("127.0.0.1:8080", 200), ("[::1]:8080", 200), ("hotline.city.example", 200),
])
async def test_without_users_only_this_servers_names_are_served(sqlite_store: Store, tmp_path: Path, host: str,
                                                                  status: int) -> None:
    site = open_site(allowed_hosts=["hotline.city.example"])
    async with serve(sqlite_store, tmp_path, site) as client:
        response = await client.get("/api/calls", headers={"Host": host})
        assert response.status == status, await response.text()
        if status == 403:
            body = await response.json()
            assert body["error_id"] == "bad-host" and body["details"]["value"] == host
        assert (await client.get("/status", headers={"Host": host})).status == 200   # not /api/


async def test_with_users_the_host_is_not_checked(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        token = await login(client, "admin")
        response = await client.get("/api/calls", headers={**bearer(token), "Host": "hotline.anywhere.example"})
        assert response.status == 200


def test_allowed_hosts_are_validated() -> None:
    from hotline.exceptions import ConfigError
    with pytest.raises(ConfigError) as caught:
        open_site(allowed_hosts=["bad host/"])
    assert "api.allowed_hosts" in str(caught.value)


# --- the web guard: Content-Type and Origin on writes -------------------------------------


@pytest.mark.parametrize("with_users", [True, False])
@pytest.mark.parametrize(("content_type", "status"), [
    ("text/plain", 415), ("application/x-www-form-urlencoded", 415), ("multipart/form-data; boundary=x", 415),
    ("application/json", 201), ("application/json; charset=utf-8", 201),
])
async def test_a_write_body_must_be_json(sqlite_store: Store, tmp_path: Path, with_users: bool,
                                         content_type: str, status: int) -> None:
    site = site_with_users() if with_users else open_site()
    async with serve(sqlite_store, tmp_path, site) as client:
        headers = {"Content-Type": content_type}
        if with_users:
            headers.update(bearer(await login(client, "admin")))
        body = json.dumps({"callback_number": "13800138000", "note": "x"}).encode()
        response = await client.post("/api/callbacks", data=body, headers=headers)
        if status == 415:
            assert response.status == 415
            assert (await response.json())["error_id"] == "unsupported-media-type"
        else:
            assert response.status != 415, await response.text()


async def test_a_login_as_a_form_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        response = await client.post("/api/login", data={"name": "admin", "password": PASSWORDS["admin"]})
        assert response.status == 415
        assert "hotline_token" not in response.cookies


@pytest.mark.parametrize("with_users", [True, False])
@pytest.mark.parametrize(("origin", "status"), [
    ("http://evil.example", 403), ("null", 403), ("http://127.0.0.1:1", 403), (None, 200), ("same", 200),
])
async def test_a_write_from_another_origin_is_refused(sqlite_store: Store, tmp_path: Path, with_users: bool,
                                                      origin: str | None, status: int) -> None:
    site = site_with_users() if with_users else open_site()
    async with serve(sqlite_store, tmp_path, site) as client:
        headers = bearer(await login(client, "admin")) if with_users else {}
        reads = await client.get("/api/me", headers={**headers, "Origin": "http://evil.example"})
        assert reads.status == 200    # reads are not writes (the cookie is SameSite=Strict)
        if origin is not None:
            headers["Origin"] = f"http://{client.host}:{client.port}" if origin == "same" else origin
        response = await client.post("/api/logout", headers=headers)
        assert response.status == status, await response.text()
        if status == 403:
            assert (await response.json())["error_id"] == "bad-origin"


# --- the wallboard still works ----------------------------------------------------------------


def test_the_wallboard_sends_json_with_a_content_type() -> None:
    """The wallboard's requests go through the pages' shared api() (hotline/pages/static/common.js)."""
    shared = (REPO / "hotline" / "pages" / "static" / "common.js").read_text()
    helper = re.search(r"  async function api\(method, path, body\) \{(.*?)\n  \}", shared, re.S)
    assert helper is not None
    assert '{"Content-Type": "application/json"}' in helper.group(1)
    assert "JSON.stringify(body)" in helper.group(1)
    assert len(re.findall(r"\bfetch\(", shared)) == 1   # every request goes through api()
    script = (REPO / "hotline" / "wallboard" / "static" / "wallboard.js").read_text()
    assert "const {$, el, api} = Hotline;" in script and not re.findall(r"\bfetch\(", script)
    page = (REPO / "hotline" / "wallboard" / "static" / "index.html").read_text()
    assert page.index('src="/pages/common.js"') < page.index('src="/wallboard/wallboard.js"')


async def test_the_wallboard_session_same_origin_with_the_cookie(sqlite_store: Store, tmp_path: Path) -> None:
    """What the browser sends: Origin and JSON on the login, then the cookie only."""
    async with serve(sqlite_store, tmp_path) as client:
        origin = {"Origin": f"http://{client.host}:{client.port}"}
        assert (await client.get("/wallboard")).status == 200
        response = await client.post("/api/login", json={"name": "boss", "password": PASSWORDS["boss"]},
                                     headers=origin)
        assert response.status == 200, await response.text()
        me = await client.get("/api/me")
        assert me.status == 200 and (await me.json())["name"] == "boss"
        assert (await client.get("/api/calls")).status == 200
        logout = await client.post("/api/logout", headers=origin)
        assert logout.status == 200 and (await logout.json())["logged_out"] is True

