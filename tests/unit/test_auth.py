"""Users, login, tokens and roles: password hashes, signed tokens, the role table, the middleware."""

from __future__ import annotations

import base64
import io
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from hotline import cli
from hotline.auth import roles
from hotline.auth.passwords import dummy_verify, hash_password, verify_password
from hotline.auth.services import AuthService
from hotline.auth.tokens import TokenSigner, load_key
from hotline.config import parse_site
from hotline.config.site import Role
from hotline.exceptions import AuthRequired, BadCredentials, ConfigError
from hotline.live.hub import LiveHub
from hotline.store import Store

from authkit import FAST, PASSWORDS, bearer, login, serve, site_with_users
from apikit import api_app

# --- passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "attempt", "ok"), [
    ("correct horse", "correct horse", True),
    ("correct horse", "correct horsE", False),
    ("correct horse", "", False),
    ("口令密码", "口令密码", True),
    ("口令密码", "口令", False),
    ("a", "a ", False),
])
def test_hash_then_verify(password: str, attempt: str, ok: bool) -> None:
    encoded = hash_password(password, iterations=FAST)
    algorithm, iterations, salt, digest = encoded.split("$")
    assert (algorithm, iterations) == ("pbkdf2_sha256", str(FAST))
    assert verify_password(attempt, encoded) is ok


def test_same_password_gets_a_new_salt_each_time() -> None:
    assert hash_password("x", iterations=FAST) != hash_password("x", iterations=FAST)


def test_known_vector() -> None:
    """Django's format and PBKDF2-HMAC-SHA256 (RFC 8018), checked against a fixed salt."""
    published = bytes.fromhex("c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")  # c=4096
    encoded = hash_password("password", iterations=4096, salt=b"salt")
    assert encoded == f"pbkdf2_sha256$4096$c2FsdA==${base64.b64encode(published).decode()}"
    assert verify_password("password", encoded)


@pytest.mark.parametrize("encoded", [
    "", "pbkdf2_sha256$1000$c2FsdA==", "md5$1000$c2FsdA==$YyqoznXVKzOg0G0tsdAUUHubwVyAVzU+/hoz8wpVCnE=",
    "pbkdf2_sha256$x$c2FsdA==$YyqoznXVKzOg0G0tsdAUUHubwVyAVzU+/hoz8wpVCnE=", "pbkdf2_sha256$1000$!!$??",
])
def test_malformed_hash_never_verifies(encoded: str) -> None:
    assert verify_password("password", encoded) is False


def test_dummy_verify_is_false() -> None:
    assert dummy_verify("anything", iterations=FAST) is False


def test_empty_password_cannot_be_hashed() -> None:
    with pytest.raises(ValueError):
        hash_password("")


# --- tokens ---------------------------------------------------------------------------------

KEY = bytes(range(32))


def _tamper(token: str, how: str) -> str:
    payload, signature = token.split(".")
    if how == "payload":
        return payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    if how == "signature":
        return payload + "." + signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    if how == "other-key":
        return TokenSigner(bytes(32)).issue("boss", "admin", None, now=1000, ttl=60)[0]
    if how == "no-dot":
        return payload + signature
    return how


@pytest.mark.parametrize(("check_at", "tamper", "valid"), [
    (1000, None, True),
    (1059, None, True),
    (1060, None, False),       # expired at exactly exp
    (5000, None, False),
    (1000, "payload", False),
    (1000, "signature", False),
    (1000, "other-key", False),
    (1000, "no-dot", False),
    (1000, "", False),
    (1000, "ünïcode.☃", False),
])
def test_token_expiry_and_tamper(check_at: int, tamper: str | None, valid: bool) -> None:
    signer = TokenSigner(KEY)
    token, claims = signer.issue("boss", "supervisor", "1003", now=1000, ttl=60)
    if tamper is not None:
        token = _tamper(token, tamper)
    verified = signer.verify(token, now=check_at)
    assert (verified == claims) if valid else verified is None


def test_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "auth.key"
    first = load_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) == 32 and load_key(path) == first


def test_tokens_survive_a_restart_and_logout_too(tmp_path: Path) -> None:
    site = site_with_users()
    before = AuthService.for_state_dir(site.users, tmp_path)
    user = before.check_password("boss", PASSWORDS["boss"])
    token, _ = before._signer.issue(user.name, user.role.value, user.seat, now=before._now(), ttl=600)
    revoked_token, _ = before._signer.issue(user.name, user.role.value, user.seat, now=before._now(), ttl=600)
    before.logout(before.authenticate(revoked_token))
    after = AuthService.for_state_dir(site.users, tmp_path)   # a new controller process
    assert after.authenticate(token).name == "boss"
    with pytest.raises(AuthRequired):
        after.authenticate(revoked_token)


def test_token_of_a_changed_user_is_refused(tmp_path: Path) -> None:
    site = site_with_users()
    auth = AuthService.for_state_dir(site.users, tmp_path)
    token, _ = auth._signer.issue("s1001", "seat", "1001", now=auth._now(), ttl=600)
    demoted = [u.model_copy(update={"seat": "1002"}) if u.name == "s1001" else u for u in site.users]
    with pytest.raises(AuthRequired):
        AuthService.for_state_dir(demoted, tmp_path).authenticate(token)


@pytest.mark.parametrize(("name", "password"), [("boss", "wrong"), ("nobody", "wrong"), ("nobody", PASSWORDS["boss"])])
def test_bad_credentials_are_one_error(tmp_path: Path, name: str, password: str) -> None:
    auth = AuthService.for_state_dir(site_with_users().users, tmp_path)
    with pytest.raises(BadCredentials) as err:
        auth.check_password(name, password)
    assert err.value.message == "unknown user or wrong password" and err.value.details == {}


# --- the role table -------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "role", "allowed"), [
    ("GET", "/api/calls", Role.seat, True),
    ("HEAD", "/api/calls", Role.seat, True),
    ("POST", "/api/seats/{seat_id}/pause", Role.seat, True),
    ("POST", "/api/seats/{seat_id}/spy", Role.seat, False),
    ("POST", "/api/seats/{seat_id}/spy", Role.supervisor, True),
    ("GET", "/api/live/stream", Role.seat, False),
    ("GET", "/api/live/stream", Role.supervisor, True),
    ("GET", "/api/audit", Role.supervisor, True),
    ("GET", "/api/metrics", Role.seat, False),
    ("GET", "/api/not-in-the-table", Role.supervisor, False),   # closed by default
    ("GET", "/api/not-in-the-table", Role.admin, True),
])
def test_role_table(method: str, path: str, role: Role, allowed: bool) -> None:
    assert roles.allows(role, roles.required_role(method, path)) is allowed


@pytest.mark.parametrize(("role", "own", "seat", "ok"), [
    (Role.seat, "1001", "1001", True), (Role.seat, "1001", "1002", False), (Role.seat, None, "1001", False),
    (Role.supervisor, "1003", "1001", True), (Role.admin, None, "1001", True),
])
def test_own_seat_rule(role: Role, own: str | None, seat: str, ok: bool) -> None:
    assert roles.may_act_on_seat(role, own, seat) is ok


async def test_every_api_route_has_a_role(sqlite_store: Store) -> None:
    """A new route must be placed in the table deliberately (else it is admin-only); with the seat
    and queue routes (hotline.seats) served too."""
    site = site_with_users()
    hub = LiveHub()

    async def no_ami(action: dict[str, str], **_: Any) -> Any:
        raise ConnectionError("no AMI in this test")
    app = api_app(sqlite_store, status=lambda: {}, site=site, hub=hub, ami_send=no_ami)
    served = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.method != "HEAD" and r.resource is not None and r.resource.canonical.startswith("/api/")}
    assert ("POST", "/api/seats/{seat_id}/pause") in served
    assert served - set(roles.MIN_ROLE) - roles.PUBLIC == set()


# --- the site config ------------------------------------------------------------------------


def test_users_are_cross_checked() -> None:
    h = hash_password("x", iterations=FAST)
    with pytest.raises(ConfigError) as err:
        parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}],
                    "seats": [{"id": "1001", "name": "a", "secret": "seat-secret-1"}],
                    "users": [{"name": "boss", "role": "supervisor", "seat": "1009", "password_hash": h},
                              {"name": "boss", "role": "admin", "password_hash": h},
                              {"name": "s1", "role": "seat", "password_hash": h}]}, "t.yaml")
    fields = {p[0]: p[1] for p in err.value.problems}
    assert fields == {"users.0.seat": "unknown seat '1009'", "users.1.name": "duplicate user name 'boss'",
                      "users.2.seat": "a seat user needs its seat"}


@pytest.mark.parametrize(("user", "field"), [
    ({"name": "Boss", "role": "admin"}, "users.0.name"),
    ({"name": "boss", "role": "root"}, "users.0.role"),
    ({"name": "boss", "role": "admin", "password_hash": "plain-text"}, "users.0.password_hash"),
    ({"name": "boss", "role": "admin", "password": "x"}, "users.0.password"),
])
def test_bad_users_name_the_field(user: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}],
                    "users": [{"password_hash": hash_password("x", iterations=FAST), **user}]}, "t.yaml")
    assert field in {p[0] for p in err.value.problems}


def test_cli_hashes_a_password_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret pass\n"))
    assert cli.main(["user", "hash-password"]) == 0
    encoded = capsys.readouterr().out.strip()
    assert verify_password("s3cret pass", encoded) and not verify_password("s3cret pass\n", encoded)


# --- over HTTP ------------------------------------------------------------------------------


async def test_no_users_keeps_the_api_open(sqlite_store: Store, tmp_path: Path) -> None:
    open_site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}]}, "t.yaml")
    async with serve(sqlite_store, tmp_path, open_site) as client:
        assert (await client.get("/api/calls")).status == 200
        assert (await (await client.get("/api/me")).json())["open"] is True
        refused = await client.post("/api/login", json={"name": "a", "password": "b"})
        assert refused.status == 400


@pytest.mark.parametrize("path", ["/status", "/openapi.json", "/metrics", "/wallboard", "/wallboard/wallboard.js",
                                  "/portal", "/portal/portal.js", "/portal/portal.css"])
async def test_open_routes_need_no_token(sqlite_store: Store, tmp_path: Path, path: str) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        assert (await client.get(path)).status == 200


@pytest.mark.parametrize(("headers", "cookie"), [
    ({}, None), ({"Authorization": "Bearer nonsense"}, None), ({"Authorization": "Basic YTpi"}, None),
    ({}, "nonsense"),
])
async def test_api_needs_a_token(sqlite_store: Store, tmp_path: Path, headers: dict[str, str],
                                 cookie: str | None) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        if cookie:
            client.session.cookie_jar.update_cookies({"hotline_token": cookie})
        for path in ("/api/calls", "/api/no/such/route"):
            response = await client.get(path, headers=headers)
            assert response.status == 401
            assert (await response.json())["error_id"] == "auth-required"


async def test_login_bearer_cookie_me_logout(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        response = await client.post("/api/login", json={"name": "boss", "password": PASSWORDS["boss"]})
        body = await response.json()
        assert response.status == 200 and body["role"] == "supervisor" and body["seat"] == "1003"
        set_cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "hotline_token=" in set_cookie
        # the cookie (kept by the client session) works alone
        me = await (await client.get("/api/me")).json()
        assert me == {"name": "boss", "role": "supervisor", "seat": "1003", "expires": body["expires"], "open": False}
        client.session.cookie_jar.clear()
        assert (await client.get("/api/me", headers=bearer(body["token"]))).status == 200
        assert (await client.post("/api/logout", headers=bearer(body["token"]))).status == 200
        gone = await client.get("/api/me", headers=bearer(body["token"]))
        assert gone.status == 401


@pytest.mark.parametrize(("name", "password"), [("boss", "Tr0ub4dor&3x"), ("ghost", "Tr0ub4dor&3x")])
async def test_bad_credentials_over_http(sqlite_store: Store, tmp_path: Path, name: str, password: str) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        response = await client.post("/api/login", json={"name": name, "password": password})
        body = await response.json()
        assert response.status == 401 and body["error_id"] == "bad-credentials"
        assert body["message"] == "unknown user or wrong password" and password not in await response.text()


@pytest.mark.parametrize(("user", "method", "path", "status", "needed"), [
    ("s1001", "GET", "/api/calls", 200, None),
    ("s1001", "GET", "/api/metrics", 403, "supervisor"),
    ("s1001", "GET", "/api/audit", 403, "supervisor"),
    ("s1001", "GET", "/api/live/stream", 403, "supervisor"),
    ("s1001", "POST", "/api/seats/1002/spy", 403, "supervisor"),
    ("boss", "GET", "/api/metrics", 200, None),
    ("boss", "GET", "/api/audit", 200, None),
])
async def test_roles_over_http(sqlite_store: Store, tmp_path: Path, user: str, method: str, path: str,
                               status: int, needed: str | None) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        token = await login(client, user)
        response = await client.request(method, path, headers=bearer(token))
        assert response.status == status, await response.text()
        if needed:
            body = await response.json()
            assert body["error_id"] == "forbidden" and body["details"]["needed"] == needed
            assert f"'{needed}'" in body["message"]


async def test_a_seat_user_acts_on_its_own_seat_only(sqlite_store: Store, tmp_path: Path) -> None:
    """On a seat route of the table (/api/seats/{seat_id}/pause)."""
    site = site_with_users()
    auth = AuthService.for_state_dir(site.users, tmp_path)
    app = api_app(sqlite_store, status=lambda: {}, site=site, auth=auth)
    from aiohttp.test_utils import TestClient, TestServer
    async with TestClient(TestServer(app)) as client:
        token = await login(client, "s1001")
        other = await client.post("/api/seats/1002/pause", json={"reason": "break"}, headers=bearer(token))
        assert other.status == 403 and (await other.json())["details"]["seat_id"] == "1002"
        own = await client.post("/api/seats/1001/pause", json={"reason": "break"}, headers=bearer(token))
        assert own.status != 403


@pytest.mark.parametrize(("user", "created_by", "status"), [
    ("s1001", "1002", 403),     # a seat files work orders as itself only
    ("s1001", "1001", 400),     # its own seat: on to the handler (which finds no such call)
    ("boss", "1002", 400),      # a supervisor for any seat
])
async def test_a_seat_named_in_the_body_is_checked(sqlite_store: Store, tmp_path: Path, user: str, created_by: str,
                                                   status: int) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        response = await client.post("/api/work-orders", headers=bearer(await login(client, user)), json={
            "call_ids": ["nope"], "title": "t", "description": "d", "category": "report", "created_by": created_by})
        body = await response.json()
        assert response.status == status, body
        if status == 403:
            assert body["error_id"] == "forbidden" and body["details"]["field"] == "created_by"
