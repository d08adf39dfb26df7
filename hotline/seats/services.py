"""Seats and queues, live: commands from the API and facts from Asterisk's queue events.

Asterisk is the source of truth for memberships and pauses (app_queue, persistent across
its restarts); this service keeps the seat state machine (:mod:`queue_manager.seats`) in
step with it, validates commands before anything is sent, auto-pauses a seat after the
configured number of unanswered rings, times wrap-up, and publishes every change to the
live hub (wallboard) and the seat state log (occupancy metrics).

Commands (login, logout, pause, unpause) are checked by the state machine first: a command
that does not fit raises an error with a stable id and changes nothing. The same changes
made from a phone's feature codes arrive as queue events and are applied as facts.
After every AMI (re)login :meth:`resync` rebuilds the whole view from ``QueueStatus``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hotline.ami import actions
from hotline.ami.port import AmiPort
from hotline.config.site import SiteConfig
from hotline.exceptions import (NoSuchSeat, SeatStateConflict,
                                UnknownPauseReason)
from hotline.live.hub import LiveHub
from hotline.privacy import mask_number
from hotline.spine.ami_events import SEAT_EVENTS  # noqa: F401  (re-exported: the services subscribe with it)
from queue_manager import seats as sm
from queue_manager.membership import member_interface, memberships, state_interface

from .snapshot import (BUSY_DEVICE, DEVICE, QueueLive, SeatResolver, call_state, entry_from, event_time,
                       read_queue_status)

log = logging.getLogger(__name__)

ACTION_TIMEOUT_S = 10.0   # queue changes and QueueStatus (a big reply on a full site)

StateLog = Callable[[str, str, str | None, float, str | None], None]   # seat, state, reason, at, call_id

AUTO_PAUSE_NAME = "未接自动置忙"

# The agent-class AMI events this service follows (trunk_config/manager.py lets only these through):
# SEAT_EVENTS, from hotline.spine.ami_events (imported above, re-exported).

class SeatService:
    def __init__(self, site: SiteConfig, ami: AmiPort, hub: LiveHub, *, state_log: StateLog | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.site = site
        self._ami = ami
        self.hub = hub
        self._log_state = state_log
        self._clock = clock
        self.policy = sm.Policy(pause_reasons=frozenset(r.code for r in site.seat_rules.pause_reasons),
                                auto_pause_after=site.seat_rules.auto_pause_after)
        self.seats: dict[str, sm.Seat] = {s.id: sm.Seat(s.id) for s in site.seats}
        self.queues: dict[str, QueueLive] = {q.name: QueueLive(q.name, q.title) for q in site.queues}
        self._in_queues: dict[str, set[str]] = {s.id: set() for s in site.seats}
        self._device: dict[str, str] = {s.id: "unknown" for s in site.seats}
        self._caller: dict[str, str | None] = {}
        self._resolver = SeatResolver(site)
        self._seat_of = self._resolver.seat_of
        self._wrapup_timers: dict[str, asyncio.TimerHandle] = {}
        self._rest_until: dict[str, float] = {}   # when Asterisk offers the seat calls again
        self._wrapup_s = {q.name: q.wrapup for q in site.queues}
        self._left: dict[str, set[str]] = {}   # queues a seat just left, for their counts
        self.stats = {"events": 0, "auto_paused": 0, "resyncs": 0}

    # -- commands --------------------------------------------------------------------------
    def _seat(self, seat_id: str) -> sm.Seat:
        seat = self.seats.get(seat_id)
        if seat is None:
            raise NoSuchSeat(seat_id)
        return seat

    def _check(self, seat: sm.Seat, command: Callable[[], sm.Seat]) -> sm.Seat:
        try:
            return command()
        except sm.SeatStateError as exc:
            raise SeatStateConflict(exc.error_id, exc.message, seat.seat_id, seat.state.value) from None

    async def _act(self, action: dict[str, str], tolerate: tuple[str, ...] = ()) -> None:
        # one response each: panoramisk would wait for a list after "Added interface to queue"
        await self._ami.act(action, tolerate=tolerate, timeout=ACTION_TIMEOUT_S,
                            interface=action.get("Interface"), queue=action.get("Queue"))

    async def login(self, seat_id: str) -> dict[str, Any]:
        seat = self._seat(seat_id)
        new = self._check(seat, lambda: sm.login(seat, self._clock()))
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        if cfg.external_number:
            await self._act(actions.set_global(f"DEVICE_STATE({state_interface(cfg)})", "NOT_INUSE"))
        for m in memberships(self.site, cfg):
            await self._act(actions.queue_add(m.queue, member_interface(cfg), penalty=m.penalty, member_name=cfg.id,
                                              state_interface=state_interface(cfg)), tolerate=("Already there",))
            self._in_queues[seat_id].add(m.queue)
        self._set(new)
        return self.view(seat_id)

    async def logout(self, seat_id: str) -> dict[str, Any]:
        seat = self._seat(seat_id)
        new = self._check(seat, lambda: sm.logout(seat, self._clock()))
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        for queue in sorted(self._in_queues[seat_id] | {m.queue for m in memberships(self.site, cfg)}):
            await self._act(actions.queue_remove(queue, member_interface(cfg)), tolerate=("Not there",))
        self._left[seat_id] = set(self._in_queues[seat_id])
        self._in_queues[seat_id].clear()
        self._set(new)
        return self.view(seat_id)

    async def pause(self, seat_id: str, reason: str) -> dict[str, Any]:
        seat = self._seat(seat_id)
        configured = self.site.pause_reason(reason)
        if configured is None:
            raise UnknownPauseReason(reason, [f"{r.code} ({r.name})" for r in self.site.seat_rules.pause_reasons])
        new = self._check(seat, lambda: sm.pause(seat, configured.code, self.policy, self._clock()))
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        await self._act(actions.queue_pause(member_interface(cfg), True, reason=configured.code))
        self._set(new)
        return self.view(seat_id)

    async def unpause(self, seat_id: str) -> dict[str, Any]:
        seat = self._seat(seat_id)
        new = self._check(seat, lambda: self._unpaused(seat, self._clock()))
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        await self._act(actions.queue_pause(member_interface(cfg), False))
        self._set_resting(new)
        return self.view(seat_id)

    # -- views -------------------------------------------------------------------------------
    def view(self, seat_id: str) -> dict[str, Any]:
        seat = self._seat(seat_id)
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        reason = self.site.pause_reason(seat.reason) if seat.reason else None
        return {
            "seat_id": seat_id, "name": cfg.name, "state": seat.state.value, "since": seat.since,
            "reason": seat.reason,
            "reason_name": reason.name if reason else (AUTO_PAUSE_NAME if seat.reason == sm.AUTO_PAUSE_REASON
                                                       else seat.reason),
            "queues": sorted(self._in_queues[seat_id]), "call_id": seat.call_id,
            "caller": mask_number(self._caller.get(seat_id)) if seat.call_id else None,
            "unanswered": seat.unanswered, "device": self._device.get(seat_id, "unknown"),
            "county": cfg.county, "remote": cfg.remote or bool(cfg.external_number),
        }

    def views(self) -> list[dict[str, Any]]:
        return [self.view(s) for s in sorted(self.seats)]

    def queue_view(self, name: str) -> dict[str, Any]:
        q = self.queues[name]
        entries = sorted(q.entries.values(), key=lambda e: (e.position, e.since))
        members = [s for s, qs in self._in_queues.items() if name in qs]
        available = [s for s in members if self.seats[s].state == sm.SeatState.idle
                     and self._device.get(s) not in ("unavailable", "invalid")]
        return {"name": name, "title": q.title, "waiting": len(entries),
                "longest_wait_since": min((e.since for e in entries), default=None),
                "entries": [{"call_id": e.call_id, "caller": mask_number(e.caller), "since": e.since,
                             "position": e.position, "priority": e.priority} for e in entries],
                "logged_in": len(members), "available": len(available)}

    def publish_all(self) -> None:
        for seat_id in self.seats:
            self.hub.update_seat(self.view(seat_id))
        for name in self.queues:
            self.hub.update_queue(self.queue_view(name))

    # -- state changes ----------------------------------------------------------------------
    def _set(self, new: sm.Seat) -> None:
        old = self.seats[new.seat_id]
        self.seats[new.seat_id] = new
        if new.state != sm.SeatState.wrapup:
            timer = self._wrapup_timers.pop(new.seat_id, None)
            if timer is not None:
                timer.cancel()
        if (old.state, old.reason, old.call_id) != (new.state, new.reason, new.call_id) and self._log_state:
            try:
                self._log_state(new.seat_id, new.state.value, new.reason, new.since, new.call_id)
            except Exception:
                log.exception("seat state log failed for %s", new.seat_id)
        self.hub.update_seat(self.view(new.seat_id))
        if old.state != new.state:   # the queues' logged-in/available counts follow the seat
            for queue in sorted(self._in_queues[new.seat_id] | self._left.pop(new.seat_id, set())):
                if queue in self.queues:
                    self.hub.update_queue(self.queue_view(queue))

    def _start_wrapup(self, seat_id: str, queue: str | None, ended_at: float | None = None) -> None:
        """The seat's call ended (at ``ended_at``, Asterisk's event time, when known): wrap-up lasts
        until Asterisk offers the seat calls again (``sm.wrapup_until``: whole seconds)."""
        wrapup = self._wrapup_s.get(queue or "", 0)
        seat = self.seats[seat_id]
        now = self._clock()
        new = sm.hangup(seat, now, wrapup)
        if new.state != sm.SeatState.wrapup:
            self._caller.pop(seat_id, None)
        if wrapup:   # paused or not: Asterisk rests the seat from now (an unpause returns to it)
            self._rest_until[seat_id] = sm.wrapup_until(now if ended_at is None else min(ended_at, now), wrapup)
        self._set_resting(new)

    def _wrapup_timer(self, seat_id: str) -> None:
        old = self._wrapup_timers.pop(seat_id, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, self._rest_until.get(seat_id, 0.0) - self._clock())
        self._wrapup_timers[seat_id] = asyncio.get_running_loop().call_later(delay, self._wrapup_done, seat_id)

    def _unpaused(self, seat: sm.Seat, now: float) -> sm.Seat:
        return sm.unpause(seat, now, self._rest_until.get(seat.seat_id, 0.0),
                          call_state(self._device.get(seat.seat_id, "unknown")))

    def _set_resting(self, new: sm.Seat) -> None:
        """``_set``, and the wrap-up timer when an unpause went back to the rest of the last call."""
        self._set(new)
        if new.state == sm.SeatState.wrapup:
            self._wrapup_timer(new.seat_id)

    def _wrapup_done(self, seat_id: str) -> None:
        self._wrapup_timers.pop(seat_id, None)
        self._caller.pop(seat_id, None)
        self._set(sm.wrapup_done(self.seats[seat_id], self._clock()))

    async def _auto_pause(self, seat_id: str) -> None:
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        try:
            await self._act(actions.queue_pause(member_interface(cfg), True, reason=sm.AUTO_PAUSE_REASON))
            self.stats["auto_paused"] += 1
            log.info("seat %s auto-paused after %d unanswered rings", seat_id, self.seats[seat_id].unanswered)
        except Exception:
            log.exception("auto-pause of seat %s failed", seat_id)

    # -- facts from Asterisk ------------------------------------------------------------------
    def on_ami_event(self, headers: dict[str, str]) -> None:
        """One AMI event of the agent class (see trunk_config/manager.py's filters)."""
        name = headers.get("Event", "")
        self.stats["events"] += 1
        handler = getattr(self, f"_on_{name.lower()}", None)
        if handler is not None:
            handler(headers)

    def _observed_member(self, seat_id: str, queue: str, paused: bool, reason: str | None) -> None:
        self._in_queues[seat_id].add(queue)
        seat, now = self.seats[seat_id], self._clock()
        if seat.state == sm.SeatState.logged_out:
            seat = sm.login(seat, now)
        if paused and seat.state != sm.SeatState.paused:
            seat = replace(seat, state=sm.SeatState.paused, since=now, reason=reason or None)
        elif paused and reason and seat.reason != reason:
            seat = replace(seat, reason=reason)
        elif not paused and seat.state == sm.SeatState.paused:
            seat = self._unpaused(seat, now)
        self._set_resting(seat)

    def _on_queuememberadded(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is not None and h.get("Queue") in self.queues:
            self._device[seat_id] = DEVICE.get(h.get("Status", ""), self._device[seat_id])
            self._observed_member(seat_id, h["Queue"], h.get("Paused") == "1", h.get("PausedReason"))

    def _on_queuememberremoved(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is None:
            return
        self._in_queues[seat_id].discard(h.get("Queue", ""))
        self._left.setdefault(seat_id, set()).add(h.get("Queue", ""))
        if not self._in_queues[seat_id] and self.seats[seat_id].state != sm.SeatState.logged_out:
            self._set(replace(self.seats[seat_id], state=sm.SeatState.logged_out, since=self._clock(),
                              reason=None, unanswered=0, call_id=None))
        else:
            self._set(self.seats[seat_id])

    def _on_queuememberpause(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is not None and h.get("Queue") in self.queues:
            self._observed_member(seat_id, h["Queue"], h.get("Paused") == "1",
                                  h.get("PausedReason") or h.get("Reason"))

    def _on_queuememberstatus(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is None:
            return
        device = DEVICE.get(h.get("Status", ""), "unknown")
        changed = device != self._device.get(seat_id)
        self._device[seat_id] = device
        seat = self.seats[seat_id]
        if h.get("Queue") in self.queues and seat.state == sm.SeatState.logged_out:
            self._observed_member(seat_id, h["Queue"], h.get("Paused") == "1", h.get("PausedReason"))
            return
        now = self._clock()
        # Calls that are not queue calls (seat to seat, transfers) show in the device state only.
        if device in BUSY_DEVICE and seat.state == sm.SeatState.idle:
            self._set(sm.answer(seat, seat.call_id or "", now))
        elif device == "not_inuse" and seat.state == sm.SeatState.talking and seat.call_id == "":
            self._start_wrapup(seat_id, None)
        elif device == "not_inuse" and seat.state == sm.SeatState.ringing:
            # the caller left while the phone rang: not the seat's fault, not an unanswered ring
            self._set(replace(seat, state=sm.SeatState.idle, since=now, call_id=None))
        elif changed:
            self._set(seat)

    def _on_agentcalled(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is not None and self.seats[seat_id].state in (sm.SeatState.idle, sm.SeatState.wrapup,
                                                                 sm.SeatState.ringing):
            self._caller[seat_id] = h.get("CallerIDNum")
            self._set(sm.ring(self.seats[seat_id], h.get("Linkedid") or h.get("Uniqueid", ""), self._clock()))

    def _on_agentconnect(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is None:
            return
        self._caller[seat_id] = h.get("CallerIDNum")
        seat, call_id = self.seats[seat_id], h.get("Linkedid") or h.get("Uniqueid", "")
        # paused while ringing: the call still goes on
        self._set(replace(seat, call_id=call_id, unanswered=0) if seat.state == sm.SeatState.paused
                  else sm.answer(seat, call_id, self._clock()))

    def _on_agentcomplete(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is not None:
            self._start_wrapup(seat_id, h.get("Queue"), event_time(h))

    def _on_agentdump(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is not None and self.seats[seat_id].state in (sm.SeatState.ringing, sm.SeatState.talking):
            self._set(replace(self.seats[seat_id], state=sm.SeatState.idle, since=self._clock(), call_id=None))

    def _on_agentringnoanswer(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is None:
            return
        seat, auto = sm.no_answer(self.seats[seat_id], self.policy, self._clock())
        self._set(seat)
        if auto:
            asyncio.ensure_future(self._auto_pause(seat_id))

    def _on_queuecallerjoin(self, h: dict[str, str]) -> None:
        q = self.queues.get(h.get("Queue", ""))
        if q is not None:
            q.join(entry_from(h, since=self._clock()))
            self.hub.update_queue(self.queue_view(q.name))

    def _on_queuecallerleave(self, h: dict[str, str]) -> None:
        q = self.queues.get(h.get("Queue", ""))
        if q is not None:
            q.leave(h.get("Uniqueid", ""), int(h.get("Position") or 0))
            self.hub.update_queue(self.queue_view(q.name))

    _on_queuecallerabandon = _on_queuecallerleave

    # -- rebuild --------------------------------------------------------------------------
    async def resync(self) -> None:
        """Rebuild every seat and queue from Asterisk (after a controller or Asterisk restart)."""
        response = await self._ami.ask(actions.queue_status(), timeout=ACTION_TIMEOUT_S)
        now = self._clock()
        snap = read_queue_status(response, self._resolver, self.seats, self.queues, self._wrapup_s, now)
        in_queues, paused, busy, entries, wrapup_until = (snap.in_queues, snap.paused, snap.busy, snap.entries,
                                                          snap.wrapup_until)
        self._device.update(snap.device)
        for name, q in self.queues.items():
            q.entries = entries[name]
        for seat_id, seat in self.seats.items():
            self._in_queues[seat_id] = in_queues[seat_id]
            if not in_queues[seat_id]:
                new = sm.Seat(seat_id, sm.SeatState.logged_out, seat.since if seat.state == sm.SeatState.logged_out
                              else now)
            elif seat_id in paused:
                new = replace(seat, state=sm.SeatState.paused, reason=paused[seat_id],
                              since=seat.since if seat.state == sm.SeatState.paused else now)
            elif seat_id in busy:
                new = seat if seat.state == sm.SeatState.talking else sm.answer(seat, seat.call_id or "", now)
            elif seat_id in wrapup_until:
                until, queue = wrapup_until[seat_id]
                new = replace(seat, state=sm.SeatState.wrapup, since=seat.since if seat.state == sm.SeatState.wrapup
                              else now)
                self.seats[seat_id], self._rest_until[seat_id] = new, until
                self._wrapup_timer(seat_id)
                continue
            else:
                new = seat if seat.state == sm.SeatState.idle else replace(
                    seat, state=sm.SeatState.idle, since=now, reason=None, call_id=None)
            self.seats[seat_id] = new
        self.stats["resyncs"] += 1
        self.publish_all()
        log.info("seats re-synced from Asterisk: %d logged in, %d waiting caller(s)",
                 sum(1 for s in self.seats.values() if s.state != sm.SeatState.logged_out),
                 sum(len(q.entries) for q in self.queues.values()))

    def stop(self) -> None:
        for timer in self._wrapup_timers.values():
            timer.cancel()
        self._wrapup_timers.clear()
