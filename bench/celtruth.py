"""The ground truth "a call entered", from Asterisk's own CEL log (shared by the benchmarks and
the integration tests' fault checks, so both count calls the same way).

A call entered when Asterisk logged the ``CHAN_START`` of a channel created in a ``from-trunk-*``
context whose Uniqueid is the Linkedid: the first leg of a conversation that came in through a
carrier trunk. A channel Asterisk placed *out* on the trunk (a three-way call's leg to 110 or to a
number behind the trunk, originated into the conference) also starts in that context with a
Linkedid of its own, but it never entered: its events name the application ``AppDial2``
(``AppDial`` for a Dial's outgoing channel), Asterisk's own mark of an outgoing channel, or carry
the accountcode the controller's Originate set (``leg-…``). Those conversations are not counted. The lines are read as plain JSON, independently of the product's CEL parser;
unparseable lines (a hostile caller-ID written raw) are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENTRY_EVENT = "CHAN_START"
TRUNK_CONTEXT = "from-trunk-"


def is_entry(eventtype: object, context: object, uniqueid: object, linkedid: object) -> bool:
    """Whether a CEL record is a call entering through a trunk (its first leg starting)."""
    return (eventtype == ENTRY_EVENT and str(context or "").startswith(TRUNK_CONTEXT)
            and bool(uniqueid) and uniqueid == linkedid)


OUTBOUND_APPS = frozenset({"AppDial", "AppDial2"})
LEG_ACCOUNT_PREFIX = "leg-"


def is_outbound(app: object, accountcode: object) -> bool:
    """Whether an event shows its channel was placed out by Asterisk (not a caller coming in)."""
    return str(app or "") in OUTBOUND_APPS or str(accountcode or "").startswith(LEG_ACCOUNT_PREFIX)


def cel_objects(data: bytes) -> Iterator[dict[str, Any] | None]:
    """Each line of a CEL JSON log as a dict, or None when it is not a JSON object."""
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            ev = json.loads(raw)
        except ValueError:
            yield None
            continue
        yield ev if isinstance(ev, dict) else None


def entered_calls(log: Path, since: float) -> list[str]:
    """Linkedids of trunk calls that entered since ``since`` (epoch s), from the CEL log and any
    uncompressed rotated copies beside it (``hotline-cel.json.1`` ...), in file order."""
    out: list[str] = []
    outbound: set[str] = set()
    for path in sorted(log.parent.glob(log.name + "*")):
        if path.suffix == ".gz":
            continue
        for ev in cel_objects(path.read_bytes()):
            if ev is None:
                continue
            if (is_entry(ev.get("eventtype"), ev.get("context"), ev.get("uniqueid"), ev.get("linkedid"))
                    and float(ev.get("eventtime", 0)) >= since):
                out.append(str(ev["linkedid"]))
            elif is_outbound(ev.get("appname"), ev.get("accountcode")) and ev.get("uniqueid") == ev.get("linkedid"):
                outbound.add(str(ev.get("uniqueid")))
    return [c for c in out if c not in outbound]
