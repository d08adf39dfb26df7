"""A browser phone that lost its network (issue 13 item 2): out of the queue, its caller not lost.

A seat with ``phone: browser`` answers in the console page over a WebSocket. When the browser's
network goes, nothing closes the connection: Asterisk notices only when the contact stops
answering its OPTIONS (``asterisk.webrtc.qualify_seconds``, then pjsip's qualify timeout), and
marks the device unavailable. Then this service, as soon as app_queue reports it
(``QueueMemberStatus`` with the device unavailable):

* hangs up the seat's leg if it was ringing (the caller is still in ``Queue()``: app_queue offers
  it to the next free seat instead of ringing a dead browser until the ring timeout);
* logs the seat out of every queue (the API, the wallboard and the state log show 未签入).

A seat talking when its browser is lost: Asterisk keeps the device ``in use`` while its channel
is up, so the news is the contact's own (``ContactStatus: Unreachable``, after the same qualify;
not ``Removed``, which a re-registering SIP.js also causes while its media goes on). The
caller, not the dead leg, is what matters: it is redirected to ``hotline-requeue`` (marked
``HOTLINE_REQUEUE`` with the seat, back in its queue first in line, its recording going on), the
seat's leg ends (hung up by Asterisk as its peer left, by us if not), and the seat is logged out.
The call's record names the seat in ``extra.requeued_from``. A desk phone (``phone: sip``) that
goes unavailable is not rung meanwhile and is logged out only after
``seat_rules.unreachable_logout_after`` (:mod:`hotline.seats.reach`, which applies to every seat).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from hotline.ami import actions
from hotline.exceptions import HotlineError
from hotline.spine.plan import REQUEUE_CONTEXT
from queue_manager import seats as sm

from .services import SeatService

log = logging.getLogger(__name__)
UNAVAILABLE = "5"   # AST_DEVICE_UNAVAILABLE, as app_queue reports a member's Status
UNREACHABLE = "Unreachable"   # ContactStatus after the contact's qualify failed
NO_CHANNEL = ("No such channel", "Channel does not exist")   # the call ended meanwhile


class BrowserAwareSeats(SeatService):
    """The seat service, plus the rule above for browser seats."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._losing: set[str] = set()                     # seats being logged out
        self._loss_tasks: set[asyncio.Task[None]] = set()  # kept until done (asyncio keeps weak references)
        # seat -> (caller's channel, seat's leg, queue), from AgentConnect
        self._talking_with: dict[str, tuple[str, str, str]] = {}
        self.stats["requeued"] = 0                         # callers sent back to their queue (/status)

    def _on_queuememberstatus(self, h: dict[str, str]) -> None:
        super()._on_queuememberstatus(h)
        seat_id = self._seat_of(h)
        cfg = self.site.seat(seat_id) if seat_id is not None else None
        if seat_id is None or cfg is None or cfg.phone != "browser" or h.get("Status") != UNAVAILABLE:
            return
        if seat_id in self._losing or self.seats[seat_id].state == sm.SeatState.logged_out:
            return
        self._spawn(seat_id, self._browser_lost(seat_id))

    def _on_contactstatus(self, h: dict[str, str]) -> None:
        seat_id = h.get("EndpointName", "")
        cfg = self.site.seat(seat_id)
        if h.get("ContactStatus") != UNREACHABLE or cfg is None or cfg.phone != "browser":
            return
        if seat_id in self._talking_with and seat_id not in self._losing:
            self._spawn(seat_id, self._requeue_caller(seat_id, *self._talking_with[seat_id]))

    def _on_agentconnect(self, h: dict[str, str]) -> None:
        super()._on_agentconnect(h)
        seat_id = self._seat_of(h)
        if seat_id is not None and h.get("Channel") and h.get("DestChannel"):
            self._talking_with[seat_id] = (h["Channel"], h["DestChannel"], h.get("Queue", ""))

    def _set(self, new: sm.Seat, *, queues_changed: bool = False) -> None:
        super()._set(new, queues_changed=queues_changed)
        if new.state in (sm.SeatState.idle, sm.SeatState.wrapup, sm.SeatState.logged_out) or new.call_id is None:
            self._talking_with.pop(new.seat_id, None)

    def _spawn(self, seat_id: str, work: Coroutine[Any, Any, None]) -> None:
        self._losing.add(seat_id)
        task = asyncio.get_running_loop().create_task(work)
        self._loss_tasks.add(task)
        task.add_done_callback(self._loss_tasks.discard)

    async def _requeue_caller(self, seat_id: str, caller: str, leg: str, queue: str) -> None:
        log.warning("seat %s: its browser phone is unreachable mid-call; its caller %s goes back to the queue",
                    seat_id, caller)
        try:
            await self._act(actions.redirect(caller, context=REQUEUE_CONTEXT, exten=seat_id), tolerate=NO_CHANNEL)
            self.stats["requeued"] += 1
            # app_queue says nothing of a member whose caller was redirected out of the bridge (no
            # AgentComplete; the member stays "in call"): its leg is hung up here (Asterisk has
            # usually done it) and the call ends for the seat as an AgentComplete would end it
            await self._act(actions.hangup(leg), tolerate=NO_CHANNEL)
            if self.seats[seat_id].state in (sm.SeatState.talking, sm.SeatState.paused):
                self._start_wrapup(seat_id, queue or None)
            await self.logout(seat_id)
        except HotlineError as exc:   # already logged out meanwhile
            log.warning("seat %s: browser phone lost mid-call, not logged out: %s", seat_id, exc)
        except Exception:
            log.exception("seat %s: browser phone lost mid-call, requeue failed", seat_id)
        finally:
            self._losing.discard(seat_id)

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
