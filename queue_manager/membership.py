"""Which queues a seat joins when it logs in, and at what penalty: pure, no I/O.

A seat answers its own queues at its own penalty. A queue with ``overflow`` steps (a county
sub-centre overflowing to the city queue after N seconds, and the city back to the county)
also takes the seats of each overflow queue, at a penalty tier above every own seat: the
queue's rule in queuerules.conf raises the callers' maximum penalty to that tier after the
step's seconds, so those seats ring too and the caller keeps their place.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.config.site import Queue, QueueOverflow, Seat, SiteConfig

TIER = 1000          # penalty added per overflow step; own seats are 0..100
OWN_MAX = TIER - 1   # the callers' maximum penalty before the first step


@dataclass(frozen=True)
class Membership:
    queue: str
    penalty: int
    overflow_step: int = 0     # 0: one of the seat's own queues


def member_interface(seat: Seat) -> str:
    """What app_queue dials for the seat: its phone, or the confirm-first path to an outside number."""
    if seat.external_number:
        return f"Local/{seat.id}@hotline-remote-seat/n"
    return f"PJSIP/{seat.id}"


def state_interface(seat: Seat) -> str:
    """Where app_queue reads the seat's busy/ringing state (a Local channel has none of its own)."""
    if seat.external_number:
        return f"Custom:seat{seat.id}"
    return f"PJSIP/{seat.id}"


def _steps(queue: Queue) -> list[tuple[int, QueueOverflow]]:
    """The queue's overflow steps numbered by time (1: the earliest), whatever their order in the
    config: a later step is a higher tier, so the callers' maximum penalty only ever rises."""
    return list(enumerate(sorted(queue.overflow, key=lambda o: o.after), start=1))


def memberships(site: SiteConfig, seat: Seat) -> list[Membership]:
    """The seat's queue memberships, own queues first, one per queue (the lowest penalty wins)."""
    best: dict[str, Membership] = {}
    for q in seat.queues:
        q = line_of(site, q)   # a queue waiting in another's line: its seats are members there
        best.setdefault(q, Membership(q, seat.penalty, 0))
    for queue in site.queues:
        for step, overflow in _steps(queue):
            if overflow.to in seat.queues and queue.name not in best:
                best[queue.name] = Membership(queue.name, step * TIER + seat.penalty, step)
    return list(best.values())


def line_of(site: SiteConfig, queue: str) -> str:
    """The Asterisk queue ``queue``'s callers wait in: its ``line``, else itself."""
    q = site.queue(queue)
    return q.line if q is not None and q.line else queue


def rule_name(queue: str) -> str:
    return f"overflow-{queue}"


def overflow_rules(site: SiteConfig) -> dict[str, list[tuple[int, int]]]:
    """queuerules.conf content: rule name -> [(seconds, maximum penalty)], for queues with overflow."""
    rules: dict[str, list[tuple[int, int]]] = {}
    for queue in site.queues:
        if not queue.overflow:
            continue
        steps = [(0, OWN_MAX)]
        for step, overflow in _steps(queue):
            steps.append((overflow.after, step * TIER + OWN_MAX))
        rules[rule_name(queue.name)] = sorted(steps)
    return rules
