"""Listen / whisper / barge: ring the supervisor's phone (``users[].seat``) and, when it answers,
ChanSpy on the seat's channel (``hotline-spy`` context, ``trunk_config/spy.py``).

Checked before anything rings: the seat exists, the supervisor has a phone that is not the
seat itself, and the seat has a live channel now (``CoreShowChannels``: a channel named
``PJSIP/<seat>-…``)."""

from __future__ import annotations

import logging
from typing import Any

from hotline.ami import actions
from hotline.ami.port import AmiPort
from hotline.config.site import SiteConfig
from hotline.exceptions import (
    InvalidRequest,
    NoSuchSeat,
    NoSupervisorPhone,
    SeatNotOnCall,
)

log = logging.getLogger(__name__)


class SpyService:
    def __init__(self, site: SiteConfig, ami: AmiPort) -> None:
        self._site = site
        self._ami = ami

    async def seat_channels(self, seat_id: str) -> list[str]:
        response = await self._ami.ask(actions.core_show_channels(), as_list=True)
        messages = response if isinstance(response, list) else [response]
        prefix = f"PJSIP/{seat_id}-"
        return [str(m.get("Channel")) for m in messages
                if m.get("Event") == "CoreShowChannel" and str(m.get("Channel", "")).startswith(prefix)]

    async def spy(self, *, user: str | None, phone: str | None, seat_id: str, mode: str) -> dict[str, Any]:
        if self._site.seat(seat_id) is None:
            raise NoSuchSeat(seat_id)
        if phone is None:
            raise NoSupervisorPhone(user)
        if phone == seat_id:
            raise InvalidRequest("seat_id", "a supervisor cannot listen to their own phone", seat_id)
        channels = await self.seat_channels(seat_id)
        if not channels:
            raise SeatNotOnCall(seat_id)
        action = actions.spy_originate(phone, seat_id, mode)
        await self._ami.act(action)
        log.info("%s: %s on seat %s (%s) from phone %s", user, mode, seat_id, ", ".join(channels), phone)
        return {"seat_id": seat_id, "mode": mode, "phone": phone, "channels": channels}
