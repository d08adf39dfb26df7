"""Listen / whisper / barge: ring the supervisor's phone (``users[].seat``) and, when it answers,
ChanSpy on the seat's channel (``hotline-spy`` context, ``trunk_config/spy.py``).

Checked before anything rings: the seat exists, the supervisor has a phone that is not the
seat itself, and the seat has a live channel now (``CoreShowChannels``: a channel named
``PJSIP/<seat>-…``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hotline.ami import actions
from hotline.config.site import SiteConfig
from hotline.exceptions import (
    AsteriskActionFailed,
    CallControlUnavailable,
    InvalidRequest,
    NoSuchSeat,
    NoSupervisorPhone,
    SeatNotOnCall,
)

log = logging.getLogger(__name__)

Sender = Callable[..., Awaitable[Any]]


class SpyService:
    def __init__(self, site: SiteConfig | None, send: Sender | None, *, timeout: float = 5.0) -> None:
        self._site = site
        self._send = send
        self._timeout = timeout

    async def _ami(self, action: dict[str, str], *, as_list: bool) -> Any:
        if self._send is None:
            raise CallControlUnavailable("this API runs without the controller's AMI connection")
        try:
            return await self._send(action, timeout=self._timeout, as_list=as_list)
        except ConnectionError as exc:
            raise CallControlUnavailable(str(exc) or "AMI is not connected") from None
        except TimeoutError:
            raise AsteriskActionFailed(action["Action"], "no response") from None

    async def seat_channels(self, seat_id: str) -> list[str]:
        response = await self._ami(actions.core_show_channels(), as_list=True)
        messages = response if isinstance(response, list) else [response]
        prefix = f"PJSIP/{seat_id}-"
        return [str(m.get("Channel")) for m in messages
                if m.get("Event") == "CoreShowChannel" and str(m.get("Channel", "")).startswith(prefix)]

    async def spy(self, *, user: str | None, phone: str | None, seat_id: str, mode: str) -> dict[str, Any]:
        if self._site is None or self._site.seat(seat_id) is None:
            raise NoSuchSeat(seat_id)
        if phone is None:
            raise NoSupervisorPhone(user)
        if phone == seat_id:
            raise InvalidRequest("seat_id", "a supervisor cannot listen to their own phone", seat_id)
        channels = await self.seat_channels(seat_id)
        if not channels:
            raise SeatNotOnCall(seat_id)
        action = actions.spy_originate(phone, seat_id, mode)
        response = await self._ami(action, as_list=False)
        if isinstance(response, list):
            response = response[0] if response else {}
        if str(response.get("Response", "")).lower() != "success":
            raise AsteriskActionFailed("Originate", str(response.get("Message", "")) or "error")
        log.info("%s: %s on seat %s (%s) from phone %s", user, mode, seat_id, ", ".join(channels), phone)
        return {"seat_id": seat_id, "mode": mode, "phone": phone, "channels": channels}
