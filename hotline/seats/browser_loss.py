"""A browser phone that lost its network (issue 13 item 2): out of the queue, its caller not lost.

A seat with ``phone: browser`` answers in the console page over a WebSocket. When the browser's
network goes, nothing closes the connection: Asterisk notices only when the contact stops
answering its OPTIONS (``asterisk.webrtc.qualify_seconds``, then pjsip's qualify timeout), and
marks the device unavailable. Then this service, as soon as app_queue reports it
(``QueueMemberStatus`` with the device unavailable):

* hangs up the seat's leg if it was ringing (the caller is still in ``Queue()``: app_queue offers
  it to the next free seat instead of ringing a dead browser until the ring timeout);
* logs the seat out of every queue (the API, the wallboard and the state log show 未签入).

A seat talking when its browser is lost is left as it is (logging out refuses a seat on a call);
its caller stays with the silent leg until Asterisk's RTP timeout. A desk phone (``phone: sip``)
that goes unavailable is not rung meanwhile and is logged out only after
``seat_rules.unreachable_logout_after`` (:mod:`hotline.seats.reach`, which applies to every seat).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from hotline.ami import actions
from hotline.exceptions import HotlineError
from queue_manager import seats as sm

from .services import SeatService

log = logging.getLogger(__name__)
UNAVAILABLE = "5"   # AST_DEVICE_UNAVAILABLE, as app_queue reports a member's Status


class BrowserAwareSeats(SeatService):
    """The seat service, plus the rule above for browser seats."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._losing: set[str] = set()                     # seats being logged out
        self._loss_tasks: set[asyncio.Task[None]] = set()  # kept until done (asyncio keeps weak references)

    def _on_queuememberstatus(self, h: dict[str, str]) -> None:
        super()._on_queuememberstatus(h)
        seat_id = self._seat_of(h)
        cfg = self.site.seat(seat_id) if seat_id is not None else None
        if seat_id is None or cfg is None or cfg.phone != "browser" or h.get("Status") != UNAVAILABLE:
            return
        if seat_id in self._losing or self.seats[seat_id].state == sm.SeatState.logged_out:
            return
        self._losing.add(seat_id)
        task = asyncio.get_running_loop().create_task(self._browser_lost(seat_id))
        self._loss_tasks.add(task)
        task.add_done_callback(self._loss_tasks.discard)

    async def _browser_lost(self, seat_id: str) -> None:
        log.warning("seat %s: its browser phone is unreachable; logging it out of its queues", seat_id)
        try:
            if self.seats[seat_id].state == sm.SeatState.ringing:
                # the dead ring: hung up (app_queue offers the caller to the next seat); the device
                # stays unavailable, so no event ends the ringing here: it ended, not unanswered
                await self._act(actions.hangup(f"/^PJSIP/{seat_id}-.*$/"), tolerate=("No such channel",))
                seat = self.seats[seat_id]
                if seat.state == sm.SeatState.ringing:
                    self._settle(replace(seat, state=sm.SeatState.idle, since=self._clock(), call_id=None))
            await self.logout(seat_id)
        except HotlineError as exc:   # on a call (seat-busy), or already out: nothing more to do
            log.warning("seat %s: browser phone lost, not logged out: %s", seat_id, exc)
        except Exception:
            log.exception("seat %s: browser phone lost, logout failed", seat_id)
        finally:
            self._losing.discard(seat_id)
