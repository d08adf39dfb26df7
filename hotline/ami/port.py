"""The one AMI action port: send an action to Asterisk and judge its reply.

Every feature that acts on Asterisk (call control, seats, callbacks, listen/whisper/barge) goes
through :class:`AmiPort`, so a failure maps to the same error everywhere:

* no AMI connection (``ConnectionError`` from the client): :class:`CallControlUnavailable`,
  ``call-control-unavailable``, 503 — Asterisk cannot be reached at all, try again later;
* no reply within the timeout: :class:`AsteriskActionFailed` with message ``no response``,
  ``asterisk-action-failed``, 502 — the action was sent, its fate is unknown;
* a reply other than ``Response: Success``: :class:`AsteriskActionFailed` with Asterisk's
  ``Message``, 502.

(Before this port the seat routes answered a timeout with 503; they now answer 502 like the rest.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hotline.exceptions import AsteriskActionFailed, CallControlUnavailable

AmiSend = Callable[..., Awaitable[Any]]
"""``AmiClient.send(action, timeout=..., as_list=...)``: raises ConnectionError when not connected."""

DEFAULT_TIMEOUT_S = 5.0


def first_reply(response: Any) -> dict[str, Any]:
    """The first message of a reply (a list when the action answers with events), or ``{}``."""
    if isinstance(response, list):
        response = response[0] if response else {}
    return dict(response) if hasattr(response, "get") else {}


def succeeded(reply: dict[str, Any]) -> bool:
    return str(reply.get("Response", "")).lower() == "success"


class AmiPort:
    def __init__(self, send: AmiSend, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self._send = send
        self.timeout = timeout

    async def ask(self, action: dict[str, str], *, as_list: bool | None = None, timeout: float | None = None,
                  **details: object) -> Any:
        """The raw reply (a list of messages with ``as_list``); only an absent connection or reply
        is an error here. ``details`` go into the error (e.g. the steps already done)."""
        try:
            return await self._send(action, timeout=self.timeout if timeout is None else timeout, as_list=as_list)
        except ConnectionError as exc:
            raise CallControlUnavailable(str(exc) or "AMI is not connected") from None
        except TimeoutError:
            raise AsteriskActionFailed(action["Action"], "no response", **details) from None

    async def act(self, action: dict[str, str], *, tolerate: tuple[str, ...] = (), as_list: bool | None = False,
                  timeout: float | None = None, **details: object) -> dict[str, Any]:
        """Send and require success: the first reply message, or :class:`AsteriskActionFailed` with
        Asterisk's message (a reply whose message contains one of ``tolerate`` counts as done)."""
        reply = first_reply(await self.ask(action, as_list=as_list, timeout=timeout, **details))
        message = str(reply.get("Message", ""))
        if not succeeded(reply) and not any(t in message for t in tolerate):
            raise AsteriskActionFailed(action["Action"], message or "error", **details)
        return reply
