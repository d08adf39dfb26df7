"""Signed routes: a process that took the FastAGI port cannot route calls.

Asterisk cannot authenticate the FastAGI server it connects to, so the dialplan checks what it
answers instead. ``hotline-route`` passes a fresh nonce in the AGI request; the server sets the
route variables and then ``HOTLINE_ROUTE_SIG`` = SHA-1 of the key, the nonce and the variables'
values (in ``ROUTE_VARS`` order, ``|`` between them, an unset variable as empty). The dialplan
computes the same with ``SHA1()`` from the key in its globals (``HOTLINE_AGI_KEY``, from
``<state>/agi.key``, mode 0600; extensions.conf is not world-readable) and uses the route only when
they match; otherwise the call fails open to its number's queue and the record says
``routing_fallback: unsigned``. Pure functions: the generator and the server share them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

# Every variable the dialplan reads from the FastAGI answer, in signing order (the names are the
# spine's: hotline.spine.marks).
from hotline.spine.marks import ROUTE_SIG as SIGNATURE_VAR  # noqa: F401  (re-exported)
from hotline.spine.marks import ROUTE_VARS

NONCE_PARAM = "nonce"


def signed_text(key: str, nonce: str, values: Mapping[str, str]) -> str:
    return "|".join([key, nonce, *(str(values.get(name, "")) for name in ROUTE_VARS)])


def route_signature(key: str, nonce: str, values: Mapping[str, str]) -> str:
    """What Asterisk's ``${SHA1(key|nonce|v1|v2|v3|v4)}`` gives: 40 lower-case hex digits."""
    return hashlib.sha1(signed_text(key, nonce, values).encode()).hexdigest()


def dialplan_signature(key_var: str = "HOTLINE_AGI_KEY", nonce_var: str = "HOTLINE_AGI_NONCE") -> str:
    """The dialplan expression computing the same signature from the channel's variables."""
    parts = "|".join([f"${{{key_var}}}", f"${{{nonce_var}}}", *(f"${{{name}}}" for name in ROUTE_VARS)])
    return f"${{SHA1({parts})}}"
