"""``GET /api/calls/{call_id}/recording`` on the full app (hotline.recordings): who may listen,
hostile ids and traversal, byte ranges, and one audit row per read."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from apikit import api_app
from authkit import FAST
from conftest import MakeCall

from hotline.auth.passwords import hash_password
from hotline.auth.services import AuthService
from hotline.config import parse_site
from hotline.config.site import SiteConfig
from hotline.recordings.services import REPEAT_WINDOW_S, ReadLog, RecordingService
from hotline.store import Store

CALL, OTHER, SECRET, UNANSWERED, MESSAGE = "1700000000.1", "1700000000.2", "1700000000.3", "1700000000.4", \
    "node-a-1700000000.5"
PASSWORDS = {"boss": "boss-pass-1", "admin": "admin-pass-1", "s1001": "seat-pass-1001",
             "s1002": "seat-pass-1002", "renshe1": "unit-pass-1", "dept": "dept-pass-1"}
USERS = [{"name": "boss", "role": "supervisor"}, {"name": "admin", "role": "admin"},
         {"name": "s1001", "role": "seat", "seat": "1001"}, {"name": "s1002", "role": "seat", "seat": "1002"},
         {"name": "renshe1", "role": "unit", "unit": "renshe"}, {"name": "dept", "role": "department"}]


def site(users: bool = True) -> SiteConfig:
    return parse_site({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": s, "name": f"坐席{s}", "secret": f"seat-secret-{s}"} for s in ("1001", "1002")],
        "orders": {"units": [{"id": "renshe", "name": "人社局", "leader": {"name": "王局长", "phone": "13800000001"}}]},
        "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=FAST)}
                  for u in USERS] if users else []}, "test.yaml")


def wav(frames: int = 4000) -> bytes:
    """A real RIFF/WAVE file: 8 kHz, 16-bit mono, ``frames`` samples."""
    data = bytes(range(256)) * (frames * 2 // 256) + bytes(frames * 2 % 256)
    fmt = (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + \
        (8000).to_bytes(4, "little") + (16000).to_bytes(4, "little") + (2).to_bytes(2, "little") + \
        (16).to_bytes(2, "little")
    body = b"WAVE" + b"fmt " + fmt + b"data" + len(data).to_bytes(4, "little") + data
    return b"RIFF" + len(body).to_bytes(4, "little") + body


@pytest.fixture
def recordings_dir(tmp_path: Path, sqlite_store: Store, make_call: MakeCall) -> Path:
    """Four recorded calls (1001 answered CALL and SECRET, 1002 OTHER; MESSAGE a voice message), one
    unanswered call; SECRET is confidential (a complaint order about it)."""
    d = tmp_path / "monitor"
    d.mkdir()
    for cid, seat in ((CALL, "1001"), (OTHER, "1002"), (SECRET, "1001")):
        sqlite_store.upsert_call(make_call(cid, seat=seat, recording=f"{cid}.wav"))
        (d / f"{cid}.wav").write_bytes(wav())
    sqlite_store.upsert_call(make_call(MESSAGE, outcome="voice_message", recording=f"{MESSAGE}-message.wav"))
    (d / f"{MESSAGE}-message.wav").write_bytes(wav(800))
    sqlite_store.upsert_call(make_call(UNANSWERED, outcome="abandoned_in_queue", recording=None))
    sqlite_store.create_work_order(call_ids=[SECRET], title="t", description="d", category="complaint",
                                   created_by="1001")
    return d


class Api:
    def __init__(self, client: TestClient[Any, Any], store: Store) -> None:
        self.client, self.store = client, store
        self.tokens: dict[str, str] = {}

    async def get(self, user: str | None, url: str, headers: dict[str, str] | None = None,
                  method: str = "GET") -> tuple[int, CIMultiDict[str], bytes]:
        sent = dict(headers or {})
        if user is not None:
            if user not in self.tokens:
                r = await self.client.post("/api/login", json={"name": user, "password": PASSWORDS[user]})
                self.tokens[user] = (await r.json())["token"]
            sent["Authorization"] = f"Bearer {self.tokens[user]}"
        r = await self.client.request(method, url, headers=sent)
        return r.status, CIMultiDict(r.headers), await r.read()

    def reads(self) -> list[dict[str, Any]]:
        return self.store.list_audit(action="read.recording")


async def _serve(store: Store, tmp_path: Path, directory: Path, users: bool = True) -> AsyncIterator[Api]:
    s = site(users)
    app = api_app(store, site=s, auth=AuthService.for_state_dir(s.users, tmp_path / "state"),
                  recordings=RecordingService(store, directory))
    async with TestClient(TestServer(app)) as client:
        yield Api(client, store)


@pytest.fixture
async def api(sqlite_store: Store, tmp_path: Path, recordings_dir: Path) -> AsyncIterator[Api]:
    async for a in _serve(sqlite_store, tmp_path, recordings_dir):
        yield a


def url(call_id: str, query: str = "") -> str:
    return f"/api/calls/{call_id}/recording{query}"


async def test_a_supervisor_gets_the_whole_wav_and_the_read_is_audited(api: Api, recordings_dir: Path) -> None:
    status, headers, body = await api.get("boss", url(CALL, "?reason=投诉回访"))
    assert status == 200
    assert body == (recordings_dir / f"{CALL}.wav").read_bytes() and body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    assert headers["Content-Type"] == "audio/wav"
    assert headers["Content-Length"] == str(len(body))
    assert headers["Accept-Ranges"] == "bytes" and "no-store" in headers["Cache-Control"]
    [row] = api.reads()
    assert (row["user"], row["role"], row["target"], row["status"]) == ("boss", "supervisor", f"call:{CALL}", 200)
    assert row["detail"]["reason"] == "投诉回访" and row["detail"]["recording"] == f"{CALL}.wav"
    assert row["detail"]["route"] == "GET /api/calls/{call_id}/recording" and row["detail"]["range"] is None


async def test_the_reason_header_and_no_reason(api: Api) -> None:
    assert (await api.get("boss", url(CALL), {"X-Hotline-Reason": "质检"}))[0] == 200
    assert (await api.get("admin", url(CALL)))[0] == 200
    assert [(r["user"], r["detail"]["reason"]) for r in api.reads()] == [("admin", "unspecified"), ("boss", "质检")]


async def test_a_seat_hears_only_the_calls_it_answered(api: Api) -> None:
    assert (await api.get("s1001", url(CALL)))[0] == 200
    status, _, body = await api.get("s1001", url(OTHER))
    assert status == 403 and b'"not-your-call"' in body
    status, _, body = await api.get("s1001", url(MESSAGE))   # a voice message: no seat answered it
    assert status == 403 and b'"not-your-call"' in body
    assert [(r["user"], r["target"]) for r in api.reads()] == [("s1001", f"call:{CALL}")]


@pytest.mark.parametrize("user", ["renshe1", "dept"])
async def test_unit_and_department_users_never_get_a_recording(api: Api, user: str) -> None:
    for call_id in (CALL, OTHER, SECRET):
        status, _, body = await api.get(user, url(call_id, "?reason=核实"))
        assert status == 403 and b'"forbidden"' in body and b'"needed": "seat"' in body
    assert api.reads() == []


async def test_a_confidential_call_is_for_a_supervisor_with_a_reason(api: Api) -> None:
    status, _, body = await api.get("s1001", url(SECRET, "?reason=回访"))   # its own call, but confidential
    assert status == 403 and b'"forbidden"' in body and b"confidential" in body
    status, _, body = await api.get("boss", url(SECRET))
    assert status == 403 and b'"reason-required"' in body
    assert api.reads() == []
    assert (await api.get("boss", url(SECRET, "?reason=举报核查")))[0] == 200
    assert [(r["user"], r["detail"]["reason"]) for r in api.reads()] == [("boss", "举报核查")]


async def test_no_recording_is_404_with_its_id(api: Api, recordings_dir: Path) -> None:
    status, _, body = await api.get("boss", url(UNANSWERED))
    assert status == 404 and b'"no-such-recording"' in body
    (recordings_dir / f"{OTHER}.wav").unlink()   # retention took the file
    status, _, body = await api.get("boss", url(OTHER))
    assert status == 404 and b'"no-such-recording"' in body
    status, _, body = await api.get("boss", url("1700000099.9"))
    assert status == 404 and b'"no-such-call"' in body
    assert api.reads() == []


async def test_a_voice_message_is_served_by_its_own_name(api: Api) -> None:
    status, _, body = await api.get("boss", url(MESSAGE))
    assert status == 200 and body[:4] == b"RIFF"
    assert api.reads()[0]["detail"]["recording"] == f"{MESSAGE}-message.wav"


@pytest.mark.parametrize("hostile", [
    "..%2F..%2F..%2Fetc%2Fpasswd", "1700000000.1%2F..%2F1700000000.2", "1700000000.1%00", "1700000000.1.wav",
    "..%5C1700000000.1", "1700000000.1%0A", "abc", "1700000000", "node%2F-1700000000.1", "%2E%2E%2F1700000000.1",
])
async def test_hostile_call_ids_are_refused_by_the_call_id_rule(api: Api, hostile: str) -> None:
    status, _, body = await api.get("boss", url(hostile))
    assert status == 400 and b'"invalid-request"' in body and b'"call_id"' in body, (hostile, status, body[:200])
    assert api.reads() == []


@pytest.mark.parametrize("dots", ["..", "%2E%2E"])
async def test_a_dot_dot_segment_never_reaches_a_file(api: Api, dots: str) -> None:
    """The URL is normalised first (``/api/calls/../recording``): no route, nothing served."""
    status, _, body = await api.get("boss", url(dots))
    assert status == 404 and body[:4] != b"RIFF"
    assert api.reads() == []


async def test_the_file_name_never_comes_from_the_record(sqlite_store: Store, make_call: MakeCall, tmp_path: Path,
                                                         recordings_dir: Path) -> None:
    """A record naming another file (a forged or corrupt row) serves nothing: the name is built from the id."""
    outside = tmp_path / "secret.wav"
    outside.write_bytes(wav())
    sqlite_store.upsert_call(make_call("1700000000.7", seat="1001", recording="../secret.wav"))
    async for api in _serve(sqlite_store, tmp_path, recordings_dir):
        status, _, body = await api.get("boss", url("1700000000.7"))
        assert status == 404 and b'"no-such-recording"' in body


async def test_a_symbolic_link_in_the_directory_is_not_followed(api: Api, recordings_dir: Path,
                                                                tmp_path: Path) -> None:
    target = recordings_dir / f"{OTHER}.wav"
    target.unlink()
    (tmp_path / "elsewhere.wav").write_bytes(wav())
    os.symlink(tmp_path / "elsewhere.wav", target)
    status, _, body = await api.get("boss", url(OTHER))
    assert status == 404 and b'"no-such-recording"' in body


async def test_ranges_for_an_audio_element(api: Api, recordings_dir: Path) -> None:
    whole = (recordings_dir / f"{CALL}.wav").read_bytes()
    size = len(whole)
    status, headers, body = await api.get("boss", url(CALL), {"Range": "bytes=0-"})
    assert status == 206 and body == whole and headers["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    status, headers, body = await api.get("boss", url(CALL), {"Range": "bytes=100-199"})
    assert status == 206 and body == whole[100:200] and headers["Content-Length"] == "100"
    assert headers["Content-Range"] == f"bytes 100-199/{size}" and headers["Content-Type"] == "audio/wav"
    status, headers, body = await api.get("boss", url(CALL), {"Range": "bytes=-44"})
    assert status == 206 and body == whole[-44:]
    status, headers, body = await api.get("boss", url(CALL), {"Range": f"bytes={size - 10}-{size + 1000}"})
    assert status == 206 and body == whole[-10:]
    # one read: the first part is audited, the seeks that follow at once are parts of it
    [row] = api.reads()
    assert row["status"] == 206 and row["detail"]["range"] == f"bytes 0-{size - 1}/{size}"


async def test_ranges_this_server_ignores_or_refuses(api: Api, recordings_dir: Path) -> None:
    whole = (recordings_dir / f"{CALL}.wav").read_bytes()
    size = len(whole)
    for ignored in ("bytes=0-10,20-30", "lines=0-10", "bytes=abc", "bytes=50-10", "bytes=-"):
        status, headers, body = await api.get("boss", url(CALL), {"Range": ignored})
        assert status == 200 and body == whole and "Content-Range" not in headers, ignored
    for refused in (f"bytes={size}-", "bytes=-0"):
        status, headers, body = await api.get("boss", url(CALL), {"Range": refused})
        assert status == 416 and b'"range-not-satisfiable"' in body, refused
        assert headers["Content-Range"] == f"bytes */{size}"
    # If-Range: the part only while the file is the one the client read before
    _, first, _ = await api.get("boss", url(CALL))
    status, _, body = await api.get("boss", url(CALL), {"Range": "bytes=10-19", "If-Range": first["ETag"]})
    assert status == 206 and body == whole[10:20]
    status, _, body = await api.get("boss", url(CALL), {"Range": "bytes=10-19", "If-Range": '"stale"'})
    assert status == 200 and body == whole
    assert all(r["status"] in (200, 206) for r in api.reads())   # the 416s read nothing: no row


async def test_a_bare_range_request_is_audited_and_head_is_not_a_read(api: Api) -> None:
    status, headers, body = await api.get("boss", url(CALL), method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    assert api.reads() == []
    assert (await api.get("boss", url(CALL), {"Range": "bytes=500-"}))[0] == 206   # no read from byte 0 before
    [row] = api.reads()
    assert row["status"] == 206 and row["detail"]["range"].startswith("bytes 500-")
    await api.get("s1001", url(CALL), {"Range": "bytes=500-"})                  # another reader
    await api.get("boss", url(CALL, "?reason=复核"), {"Range": "bytes=500-"})   # another reason
    assert len(api.reads()) == 3


def test_a_later_part_after_the_window_is_a_new_read() -> None:
    now = [0.0]
    log = ReadLog(clock=lambda: now[0])
    key = ("boss", CALL, "unspecified")
    assert log.due(key, from_start=False)
    log.audited(key)
    now[0] += REPEAT_WINDOW_S - 1
    assert not log.due(key, from_start=False) and log.due(key, from_start=True)
    now[0] += 1
    assert log.due(key, from_start=False)


async def test_an_audit_that_cannot_be_written_refuses_the_read(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> int:
        raise RuntimeError("database gone")
    monkeypatch.setattr(api.store, "add_audit", broken)
    status, _, body = await api.get("boss", url(CALL))
    assert status == 500 and body[:4] != b"RIFF" and b'"internal-error"' in body


async def test_the_open_api_audits_its_reads_too(sqlite_store: Store, tmp_path: Path, recordings_dir: Path) -> None:
    async for api in _serve(sqlite_store, tmp_path, recordings_dir, users=False):
        assert (await api.get(None, url(CALL)))[0] == 200
        status, _, body = await api.get(None, url(SECRET))
        assert status == 403 and b'"reason-required"' in body
        assert (await api.get(None, url(SECRET, "?reason=operator")))[0] == 200
        assert [(r["user"], r["role"], r["target"]) for r in api.reads()] == [
            ("", "open", f"call:{SECRET}"), ("", "open", f"call:{CALL}")]


async def test_without_a_recordings_directory_nothing_is_served(sqlite_store: Store, tmp_path: Path,
                                                                recordings_dir: Path) -> None:
    s = site(users=False)
    async with TestClient(TestServer(api_app(sqlite_store, site=s))) as client:   # as composed: no directory
        response = await client.get(url(CALL))
        assert response.status == 404 and (await response.json())["error_id"] == "no-such-recording"
