"""What the console's phone route answers (``GET /api/seats/{seat_id}/phone``); no request bodies."""

from __future__ import annotations

from typing import TypedDict


class PhoneConfig(TypedDict):
    seat_id: str
    name: str
    uri: str              # sip:<seat>@<host>: the address of record the browser registers
    ws_url: str           # where the browser's SIP over WebSocket goes
    username: str         # the seat's SIP credentials (only ever to the seat's own user)
    password: str
    qualify_seconds: int  # a browser that stops answering is out of the queue after this
