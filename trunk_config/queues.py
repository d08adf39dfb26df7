"""queues.conf: one queue per skill, seats as members with their penalties."""

from __future__ import annotations

from hotline.config.site import SiteConfig

from .conf import ConfFile


def member_interface(seat_id: str) -> str:
    return f"PJSIP/{seat_id}"


def render(site: SiteConfig) -> str:
    conf = ConfFile()
    conf.section("general", [("persistentmembers", "no"), ("autofill", "yes"), ("monitor-type", "MixMonitor"),
                             ("shared_lastcall", "yes"), ("log_membername_as_agent", "yes"),
                             ("updatecdr", "no")])
    for q in site.queues:
        opts: list[tuple[str, object]] = [
            ("strategy", q.strategy), ("timeout", q.ring_timeout), ("retry", q.retry),
            ("wrapuptime", q.wrapup), ("weight", q.weight), ("maxlen", 0),
            # 7x24 human service: callers wait for a seat even when none is free or logged in.
            ("joinempty", "yes"), ("leavewhenempty", "no"), ("ringinuse", "no"),
            ("announce-frequency", 0), ("announce-holdtime", "no"), ("periodic-announce-frequency", 0),
            ("timeoutpriority", "conf"), ("setinterfacevar", "yes"), ("setqueuevar", "yes"),
            ("setqueueentryvar", "yes"), ("reportholdtime", "no"), ("servicelevel", 15),
            ("musicclass", "default"),
        ]
        for seat in site.seats:
            if q.name in seat.queues:
                iface = member_interface(seat.id)
                opts.append(("member", f"{iface},{seat.penalty},{seat.id},{iface}"))
        conf.section(q.name, opts, comment=q.title or None)
    return conf.text()
