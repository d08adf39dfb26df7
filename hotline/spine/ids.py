"""The call-id rule: what an Asterisk Uniqueid or Linkedid looks like, in one place.

Asterisk names every channel ``<epoch>.<sequence>`` (the creation second and a counter that
starts again at 0 with each process), or ``<systemname>-<epoch>.<sequence>`` when asterisk.conf
sets ``systemname`` (the standard way to keep ids unique across nodes). A call's id is the
Linkedid of its conversation, so this one rule is used by the CEL parser, the assembler (leg and
callback account codes), the store's callers, the API and the live state.

Asterisk itself copies any ``systemname`` into the id; this product allows only the node names
its site config accepts (``hotline.config.site.NODE_NAME``: ascii letters, digits, ``_`` and
``-``, at most 32), so an id is always safe in a file name, a URL path, a Redis key, a conf line
and an account code: never a space, ``|``, ``,``, ``;``, ``/``, ``.`` in the name, or a newline.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from hotline.config.site import NODE_NAME

CALL_ID = rf"(?:(?P<node>{NODE_NAME})-)?(?P<epoch>[0-9]{{1,12}})\.(?P<seq>[0-9]{{1,9}})"
"""The pattern of a call id (no anchors and no group-name clash when embedded: use
:data:`CALL_ID_PLAIN` inside a larger pattern)."""

CALL_ID_PLAIN = rf"(?:{NODE_NAME}-)?[0-9]{{1,12}}\.[0-9]{{1,9}}"
"""The same rule without named groups, to embed in another pattern (account codes, file names)."""

MAX_LENGTH = 32 + 1 + 12 + 1 + 9

_CALL_ID = re.compile(CALL_ID)


@dataclass(frozen=True)
class CallId:
    node: str | None   # the systemname prefix; None for an Asterisk without one
    epoch: int         # the second the channel was created
    seq: int           # Asterisk's channel counter (0 again after each restart)

    def __str__(self) -> str:
        bare = f"{self.epoch}.{self.seq}"
        return f"{self.node}-{bare}" if self.node else bare


def parse(value: object) -> CallId | None:
    """The parts of a call id, or None when ``value`` is not one (fullmatch: no trailing newline)."""
    if not isinstance(value, str):
        return None
    m = _CALL_ID.fullmatch(value)
    if m is None:
        return None
    return CallId(node=m.group("node"), epoch=int(m.group("epoch")), seq=int(m.group("seq")))


def is_call_id(value: object) -> bool:
    return isinstance(value, str) and _CALL_ID.fullmatch(value) is not None


def check(value: object, what: str = "call id") -> str:
    """``value`` when it is a call id, else ValueError naming ``what`` and the value."""
    if not is_call_id(value):
        raise ValueError(f"not a {what} ([systemname-]epoch.sequence): {value!r}")
    assert isinstance(value, str)
    return value


# -- the same rule in the dialplan ---------------------------------------------------------------


def dialplan_filter(node: str | None) -> str:
    """FILTER()'s allowed characters that keep a call id of this node and drop anything else.

    Without a node exactly the old ``0123456789.`` (the golden dialplans do not move). With one:
    ascii letters, digits, ``_``, ``.`` and ``-``; ``--.`` is FILTER's range from ``-`` to ``.``
    (a lone ``-`` would start a range). tests/integration/test_node.py checks it on Asterisk."""
    return "--.0-9A-Za-z_" if node else "0123456789."


def dialplan_pattern(node: str | None) -> str:
    """An extension pattern that matches a call id of this node (``_X.`` without a node)."""
    return "_[0-9A-Za-z]." if node else "_X."


def entity_id(node: str) -> str:
    """The Asterisk entity id (a locally administered MAC-48) of node ``node``: distinct per node,
    the same across its restarts (the nodes of one seat pool keep each other's states by it)."""
    digest = hashlib.sha256(node.encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))
