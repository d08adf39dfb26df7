"""Seats and queues, live: commands from the API and facts from Asterisk's queue events.

Asterisk is the source of truth for memberships and pauses (app_queue, persistent across its restarts); this
service keeps the seat state machine (:mod:`queue_manager.seats`) in step with it, validates commands before
anything is sent, auto-pauses a seat after the configured number of unanswered rings, times wrap-up, and
publishes every change to the live hub (wallboard), the seat state log (occupancy) and ``on_change``.

Commands (login, logout, pause, unpause) are checked by the state machine first: a command that does not fit
raises an error with a stable id and changes nothing. The same changes made from a phone's feature codes
arrive as queue events and are applied as facts. After every AMI (re)login :meth:`resync` rebuilds the whole
view from ``QueueStatus``.
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
from hotline.exceptions import NoSuchSeat, SeatStateConflict, UnknownPauseReason
from hotline.live.hub import LiveHub
from hotline.privacy import mask_number
from hotline.spine.ami_events import SEAT_EVENTS  # noqa: F401  (re-exported: the services subscribe with it)
from queue_manager import seats as sm
from queue_manager.membership import member_interface, memberships, state_interface

from .members import MemberBook, settled
from .reach import UnreachableWatch
from .snapshot import (BUSY_DEVICE, DEVICE, QueueLive, SeatResolver, call_state, entry_from, event_time,
                       read_queue_status)

log = logging.getLogger(__name__)

ACTION_TIMEOUT_S = 10.0   # queue changes and QueueStatus (a big reply on a full site)

StateLog = Callable[[str, str, str | None, float, str | None], None]   # seat, state, reason, at, call_id

AUTO_PAUSE_NAME = "未接自动置忙"

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
        self._wrapup_s = {q.name: q.wrapup for q in site.queues}
        self._members = MemberBook(self.seats, self._wrapup_s)
        self._in_queues = self._members.queues
        self._device: dict[str, str] = {s.id: "unknown" for s in site.seats}
        self._caller: dict[str, str | None] = {}
        self._resolver = SeatResolver(site)
        self._seat_of = self._resolver.seat_of
        self._wrapup_timers: dict[str, asyncio.TimerHandle] = {}   # the next end of a rest, per seat
        self._left: dict[str, set[str]] = {}   # queues a seat just left, for their counts
        self.stats = {"events": 0, "auto_paused": 0, "resyncs": 0}
        self.reach = UnreachableWatch(site.seat_rules.unreachable_logout_after, self.logout)
        self.on_change: Callable[[str], None] | None = None   # told of every change (hotline.seats.pool)

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
        self._settle(new, queues_changed=True)
        return self.view(seat_id)

    async def logout(self, seat_id: str) -> dict[str, Any]:
        seat = self._seat(seat_id)
        new = self._check(seat, lambda: sm.logout(seat, self._clock()))
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        for queue in sorted(self._in_queues[seat_id] | {m.queue for m in memberships(self.site, cfg)}):
            await self._act(actions.queue_remove(queue, member_interface(cfg)), tolerate=("Not there",))
        self._left[seat_id] = self._members.leave_all(seat_id)
        self._set(new)
        return self.view(seat_id)

    def _member_queue(self, seat: sm.Seat, queue: str | None) -> None:
        if queue is not None and queue not in self._in_queues[seat.seat_id]:
            raise SeatStateConflict("seat-not-in-queue", f"seat {seat.seat_id} is not in queue {queue!r} (it is in "
                                    f"{sorted(self._in_queues[seat.seat_id])})", seat.seat_id, seat.state.value)

    async def pause(self, seat_id: str, reason: str, queue: str | None = None) -> dict[str, Any]:
        """Pause in every queue of the seat, or in ``queue`` alone (the seat's state is ``paused``
        only once it is paused in all of them: Asterisk offers it the others' calls)."""
        seat = self._seat(seat_id)
        configured = self.site.pause_reason(reason)
        if configured is None:
            raise UnknownPauseReason(reason, [f"{r.code} ({r.name})" for r in self.site.seat_rules.pause_reasons])
        self._check(seat, lambda: sm.pause(seat, configured.code, self.policy, self._clock()))
        self._member_queue(seat, queue)
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        await self._act(actions.queue_pause(member_interface(cfg), True, queue=queue, reason=configured.code))
        self._members.set_paused(seat_id, queue, True, configured.code)
        self._settle(seat)
        return self.view(seat_id)

    async def unpause(self, seat_id: str, queue: str | None = None) -> dict[str, Any]:
        seat = self._seat(seat_id)
        self._member_queue(seat, queue)
        paused = self._members.paused_in(seat_id)
        if not (paused if queue is None else paused & {queue}):
            raise SeatStateConflict("seat-not-paused", f"seat {seat_id} is not paused"
                                    + (f" in queue {queue!r}" if queue else ""), seat_id, seat.state.value)
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        await self._act(actions.queue_pause(member_interface(cfg), False, queue=queue))
        self._members.set_paused(seat_id, queue, False)
        self._settle(self.seats[seat_id])
        return self.view(seat_id)

    # -- views -------------------------------------------------------------------------------
    def view(self, seat_id: str) -> dict[str, Any]:
        seat = self._seat(seat_id)
        cfg = self.site.seat(seat_id)
        assert cfg is not None
        reason = self.site.pause_reason(seat.reason) if seat.reason else None
        now = self._clock()
        standings = self._members.standings(seat_id, now)
        return {
            "seat_id": seat_id, "name": cfg.name, "state": seat.state.value, "since": seat.since,
            "reason": seat.reason,
            "reason_name": reason.name if reason else (AUTO_PAUSE_NAME if seat.reason == sm.AUTO_PAUSE_REASON
                                                       else seat.reason),
            "queues": sorted(self._in_queues[seat_id]), "call_id": seat.call_id,
            # each queue as Asterisk has the seat there: paused (reason), resting until (shared_lastcall)
            "queue_states": [s.as_dict() for s in standings],
            "wrapup_until": self._members.standing(seat_id, now).wrapup_until
            if seat.state == sm.SeatState.wrapup else None,
            "caller": mask_number(self._caller.get(seat_id)) if seat.call_id else None,
            "unanswered": seat.unanswered, "device": self._device.get(seat_id, "unknown"),
            "county": cfg.county, "remote": cfg.remote or bool(cfg.external_number),
        }

    def views(self) -> list[dict[str, Any]]:
        return [self.view(s) for s in sorted(self.seats)]

    def queue_view(self, name: str) -> dict[str, Any]:
        q = self.queues[name]
        entries = q.in_line()
        members = [s for s, qs in self._in_queues.items() if name in qs]
        now = self._clock()
        # available: a call of this queue may ring the seat now (idle, not paused nor resting here)
        available = [s for s in members if self.seats[s].state in (sm.SeatState.idle, sm.SeatState.wrapup)
                     and self._members.can_offer(s, name, now)
                     and self._device.get(s) not in ("unavailable", "invalid")]
        return {"name": name, "title": q.title, "waiting": len(entries),
                "longest_wait_since": min((e.since for e in entries), default=None),
                "entries": [{"call_id": e.call_id, "caller": mask_number(e.caller), "since": e.since,
                             "position": e.position, "priority": e.priority,
                             **({"rank": e.rank} if e.rank is not None else {})} for e in entries],
                "logged_in": len(members), "available": len(available)}

    def publish_all(self) -> None:
        for seat_id in self.seats:
            self.hub.update_seat(self.view(seat_id))
        for name in self.queues:
            self.hub.update_queue(self.queue_view(name))

    # -- state changes ----------------------------------------------------------------------
    def _set(self, new: sm.Seat, *, queues_changed: bool = False) -> None:
        old = self.seats[new.seat_id]
        self.seats[new.seat_id] = new
        if (old.state, old.reason, old.call_id) != (new.state, new.reason, new.call_id) and self._log_state:
            try:
                self._log_state(new.seat_id, new.state.value, new.reason, new.since, new.call_id)
            except Exception:
                log.exception("seat state log failed for %s", new.seat_id)
        self.reach.seen(new.seat_id, self._device.get(new.seat_id, "unknown"), new.state != sm.SeatState.logged_out)
        self.hub.update_seat(self.view(new.seat_id))
        if self.on_change is not None and (old.state, old.reason) != (new.state, new.reason):
            self.on_change(new.seat_id)
        if old.state != new.state or queues_changed:   # the queues' logged-in/available counts follow
            for queue in sorted(self._in_queues[new.seat_id] | self._left.pop(new.seat_id, set())):
                if queue in self.queues:
                    self.hub.update_queue(self.queue_view(queue))

    def _settle(self, seat: sm.Seat, *, queues_changed: bool = False) -> None:
        """Set ``seat`` as its memberships leave it, and wake up when its next rest ends."""
        now = self._clock()
        new = settled(seat, self._members, call_state(self._device.get(seat.seat_id, "unknown")), now)
        if new.call_id is None:   # the caller goes with the call (wrap-up and a paused call keep it)
            self._caller.pop(new.seat_id, None)
        self._set(new, queues_changed=queues_changed)
        timer = self._wrapup_timers.pop(new.seat_id, None)
        if timer is not None:
            timer.cancel()
        wake = min((s.wrapup_until for s in self._members.standings(new.seat_id, now)
                    if s.wrapup_until is not None), default=None)
        if wake is not None:
            self._wrapup_timers[new.seat_id] = asyncio.get_running_loop().call_later(
                max(0.0, wake - self._clock()), self._wrapup_done, new.seat_id)

    def _wrapup_done(self, seat_id: str) -> None:
        self._wrapup_timers.pop(seat_id, None)
        self._settle(self.seats[seat_id], queues_changed=True)

    def _start_wrapup(self, seat_id: str, queue: str | None, ended_at: float | None = None) -> None:
        """The seat's call ended (at ``ended_at``, Asterisk's event time, when known). A queue call
        (``queue``) sets Asterisk's lastcall in every queue of the seat (shared_lastcall): the seat
        rests there as :mod:`queue_manager.rest` says, paused or not."""
        now = self._clock()
        if queue is not None:
            self._members.call_ended(seat_id, now if ended_at is None else min(ended_at, now), queue)
        self._settle(sm.hangup(self.seats[seat_id], now, self._wrapup_s.get(queue or "", 0)), queues_changed=True)

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
        self._members.join(seat_id, queue, paused, reason)
        self._settle(self.seats[seat_id], queues_changed=True)

    def _on_queuememberadded(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is not None and h.get("Queue") in self.queues:
            self._device[seat_id] = DEVICE.get(h.get("Status", ""), self._device[seat_id])
            self._observed_member(seat_id, h["Queue"], h.get("Paused") == "1", h.get("PausedReason"))

    def _on_queuememberremoved(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is None:
            return
        self._members.leave(seat_id, h.get("Queue", ""))
        self._left.setdefault(seat_id, set()).add(h.get("Queue", ""))
        if not self._in_queues[seat_id] and self.seats[seat_id].state != sm.SeatState.logged_out:
            self._set(replace(self.seats[seat_id], state=sm.SeatState.logged_out, since=self._clock(),
                              reason=None, unanswered=0, call_id=None))
        else:
            self._settle(self.seats[seat_id], queues_changed=True)

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
        if h.get("Queue") in self.queues and h["Queue"] not in self._in_queues[seat_id]:
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
            self._settle(replace(seat, state=sm.SeatState.idle, since=now, call_id=None))
        elif changed:
            self._set(seat, queues_changed=True)

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
        self._settle(replace(seat, call_id=call_id, unanswered=0) if seat.state == sm.SeatState.paused
                     else sm.answer(seat, call_id, self._clock()))

    def _on_agentcomplete(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is not None:
            self._start_wrapup(seat_id, h.get("Queue"), event_time(h))

    def _on_agentdump(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is not None and self.seats[seat_id].state in (sm.SeatState.ringing, sm.SeatState.talking):
            self._settle(replace(self.seats[seat_id], state=sm.SeatState.idle, since=self._clock(), call_id=None))

    def _on_agentringnoanswer(self, h: dict[str, str]) -> None:
        seat_id = self._seat_of(h)
        if seat_id is None:
            return
        seat, auto = sm.no_answer(self.seats[seat_id], self.policy, self._clock())
        if auto:   # paused in every queue: the QueuePause is on its way
            self._members.set_paused(seat_id, None, True, sm.AUTO_PAUSE_REASON)
            asyncio.ensure_future(self._auto_pause(seat_id))
        self._settle(seat)

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
        self._device.update(snap.device)
        for name, q in self.queues.items():
            q.entries = snap.entries[name]
        for seat_id, seat in self.seats.items():
            self._members.leave_all(seat_id)
            for queue in snap.in_queues[seat_id]:
                paused = snap.paused_in.get(seat_id, {})
                self._members.join(seat_id, queue, queue in paused, paused.get(queue))
            self._members.last_call_seen(seat_id, snap.last_call.get(seat_id, 0.0))
            if not snap.in_queues[seat_id]:
                new = sm.Seat(seat_id, sm.SeatState.logged_out, seat.since if seat.state == sm.SeatState.logged_out
                              else now)
            elif seat_id in snap.busy:
                new = seat if seat.state == sm.SeatState.talking else sm.answer(seat, seat.call_id or "", now)
            elif seat.state in (sm.SeatState.ringing, sm.SeatState.talking):
                new = replace(seat, state=sm.SeatState.idle, since=now, call_id=None)
            else:
                new = seat
            self.seats[seat_id] = new
            self._settle(new)
        self.stats["resyncs"] += 1
        self.publish_all()
        log.info("seats re-synced from Asterisk: %d logged in, %d waiting caller(s)",
                 sum(1 for s in self.seats.values() if s.state != sm.SeatState.logged_out),
                 sum(len(q.entries) for q in self.queues.values()))

    def stop(self) -> None:
        for timer in self._wrapup_timers.values():
            timer.cancel()
        self._wrapup_timers.clear()
        self.reach.stop()
