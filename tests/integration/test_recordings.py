"""A real call answered by a seat is recorded by Asterisk, served by GET /api/calls/{id}/recording
to the seat that answered it and to a supervisor with a reason, refused to another seat and to a
unit, and every read is in the audit log (hotline.recordings)."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request
import wave

from .rig import SEATS, Stack, http_json, login, wait_for


def fetch(stack: Stack, user: str, call_id: str, *, reason: str = "",
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    query = f"?reason={urllib.parse.quote(reason)}" if reason else ""
    req = urllib.request.Request(f"{stack.api}/api/calls/{call_id}/recording{query}",
                                 headers={"Authorization": f"Bearer {login(stack.api, user)}", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def data_chunk_length(body: bytes) -> int:
    """The length the WAV's ``data`` chunk declares (RIFF chunks walked from the header)."""
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE", body[:16]
    at = 12
    while at + 8 <= len(body):
        name, size = body[at:at + 4], int.from_bytes(body[at + 4:at + 8], "little")
        if name == b"data":
            return size
        at += 8 + size + (size & 1)
    raise AssertionError("no data chunk")


def test_a_recorded_call_is_served_to_its_seat_and_a_supervisor_and_every_read_is_audited(stack: Stack) -> None:
    r = stack.call("12345", "13900000377", talk_ms=3000)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000377")
    assert rec["outcome"] == "answered" and rec["recording"] == f"{rec['call_id']}.wav"
    call_id, seat = rec["call_id"], rec["seat"]
    on_disk = stack.recording(rec)
    # MixMonitor writes the WAV header's lengths when it closes the file, at the hang-up
    wait_for("the recording closed", lambda: on_disk.exists() and data_chunk_length(on_disk.read_bytes()) > 0)

    status, headers, body = fetch(stack, "boss", call_id, reason="投诉回访")
    assert status == 200, body[:300]
    assert headers["Content-Type"] == "audio/wav" and int(headers["Content-Length"]) == len(body)
    assert data_chunk_length(body) > 0 and body == on_disk.read_bytes()
    with wave.open(io.BytesIO(body)) as w:
        assert w.getframerate() == 8000 and w.getnframes() > 8000   # more than a second of the conversation

    status, headers, part = fetch(stack, f"seat{seat}", call_id, headers={"Range": "bytes=0-43"})
    assert status == 206 and part == body[:44] and headers["Content-Range"] == f"bytes 0-43/{len(body)}"

    other = next(s for s in SEATS if s != seat)
    status, _, refused = fetch(stack, f"seat{other}", call_id)
    assert status == 403 and json.loads(refused)["error_id"] == "not-your-call"
    status, _, refused = fetch(stack, "renshe1", call_id, reason="核实")
    assert status == 403 and json.loads(refused)["error_id"] == "forbidden"

    code, audit = http_json("GET", f"{stack.api}/api/audit?action=read.recording&limit=50")
    assert code == 200
    reads = [(row["user"], row["status"], row["detail"]["reason"]) for row in audit["items"]
             if row["target"] == f"call:{call_id}"]
    assert reads == [(f"seat{seat}", 206, "unspecified"), ("boss", 200, "投诉回访")]
