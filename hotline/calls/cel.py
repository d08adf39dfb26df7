"""Channel Event Logging (CEL) records, from Asterisk's JSON log.

The controller reads CEL from the JSON log, one object a line (cel_custom), live
(:mod:`hotline.calls.tail`) and after a restart (the reconciler): :func:`from_json_line`
gives a :class:`CelEvent`, the assembler's input. CEL over AMI (cel_manager) is off
(``asterisk/static/cel.conf``: it costs Asterisk CPU per event) and has no reader: one
source of records. Parsing never raises on bad input: it returns ``None`` and the caller logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from hotline.spine.ids import is_call_id

_MAX_TIME = 253402300800.0  # 10000-01-01T00:00:00Z, beyond what datetime can hold


@dataclass(frozen=True)
class CelEvent:
    name: str              # CEL event type, or the user-defined type for USER_DEFINED events
    time: float            # epoch seconds
    channel: str
    uniqueid: str          # the leg
    linkedid: str          # the conversation
    peer: str = ""
    app: str = ""
    appdata: str = ""
    caller_num: str = ""
    exten: str = ""
    context: str = ""
    dnid: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Set by the controller on the legs it originates ("leg-<call id>-<target>", see
    # hotline.calls.legs); absent from log lines written before the field was configured.
    accountcode: str = ""

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.time, tz=timezone.utc)


def _time(value: str | None, fallback: str | None = None) -> float | None:
    for v in (value, fallback):
        if v:
            try:
                t = float(v)
            except ValueError:
                continue
            if 0 < t < _MAX_TIME:  # also refuses nan and inf: every event time must make a datetime
                return t
    return None


def _extra(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"raw": raw[:500]}
    return value if isinstance(value, dict) else {"raw": str(value)[:500]}


def _build(name: str, userdeftype: str, time: float | None, fields: Mapping[str, str]) -> CelEvent | None:
    if name == "USER_DEFINED" or (userdeftype and name == userdeftype):
        name = userdeftype or name
    uniqueid, linkedid = fields.get("uniqueid", ""), fields.get("linkedid", "")
    if not name or time is None or not is_call_id(uniqueid) or not is_call_id(linkedid):
        return None
    return CelEvent(name=name, time=time, channel=fields.get("channel", ""), uniqueid=uniqueid,
                    linkedid=linkedid, peer=fields.get("peer", ""), app=fields.get("app", ""),
                    appdata=fields.get("appdata", ""), caller_num=fields.get("caller_num", ""),
                    exten=fields.get("exten", ""), context=fields.get("context", ""),
                    dnid=fields.get("dnid", ""), extra=_extra(fields.get("extra")),
                    accountcode=fields.get("accountcode", ""))


def from_json_line(line: str | bytes) -> CelEvent | None:
    """One line of the cel_custom JSON log (``hotline-cel.json``)."""
    if isinstance(line, bytes):  # a caller name with invalid UTF-8 must not lose the whole record
        line = line.decode("utf-8", errors="replace")
    try:
        # strict=False: Asterisk writes a caller-ID's raw CR/LF into the JSON string unescaped
        d = json.loads(line, strict=False)
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    return from_json_object(d)


# The first field Asterisk writes after the caller-controlled ones (asterisk/static/cel_custom.conf).
TRUSTED_FIRST_KEY = '"eventtype":'


def from_trusted_suffix(text: str) -> CelEvent | None:
    """Rebuild a record whose caller-controlled fields broke the JSON.

    cel_custom escapes ``"`` but not ``\\`` in values, so a caller-ID ending in a backslash
    swallows the next quote and breaks the line. Our field order puts every caller-controlled
    field (name, num, dnid, exten) first: everything from the *last* ``"eventtype":`` on was
    written by Asterisk itself, so that suffix is parsed alone, without the caller's fields.
    JSON keeps the last of duplicate keys, so an injected ``"linkedid"`` earlier in the line
    can never override the real one either.
    """
    i = text.rfind(TRUSTED_FIRST_KEY)
    if i <= 0:
        return None
    try:
        value = json.loads("{" + text[i:], strict=False)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    event = from_json_object(value)
    return event


def from_json_object(d: Mapping[str, Any]) -> CelEvent | None:
    """One decoded cel_custom record (a JSON object)."""
    s = {k: (v if isinstance(v, str) else str(v)) for k, v in d.items()}
    return _build(s.get("eventtype", ""), s.get("userdeftype", ""), _time(s.get("eventtime")),
                  {"uniqueid": s.get("uniqueid", ""), "linkedid": s.get("linkedid", ""),
                   "channel": s.get("channame", ""), "peer": s.get("peer", ""),
                   "app": s.get("appname", ""), "appdata": s.get("appdata", ""),
                   "caller_num": s.get("num", ""), "exten": s.get("exten", ""),
                   "context": s.get("context", ""), "dnid": s.get("dnid", ""),
                   "extra": s.get("eventextra", ""), "accountcode": s.get("accountcode", "")})
