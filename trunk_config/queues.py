"""queues.conf and queuerules.conf: one queue per skill, no static members.

Seats are dynamic members: they log in and out (API or phone feature codes) and
Asterisk keeps the memberships across its own restarts (``persistentmembers``), so
the seats stay logged in when the controller is down. app_queue's own auto-pause is
off: the controller pauses a seat after the configured number of unanswered rings.
"""

from __future__ import annotations

from hotline.config.site import Queue, SiteConfig
from ivr.moh import MOH_CLASS
from ivr.prompts import QUEUE_PROMPTS
from queue_manager.membership import overflow_rules, rule_name
from queue_manager.seats import asterisk_wrapuptime

from . import callback
from .conf import ConfFile

ENTRY_ONLY_S = 86400   # announce_every 0: on entry (and when the position changes), not periodically


def announcements(q: Queue, sounds_dir: str) -> list[tuple[str, object]]:
    """Position and estimated-wait announcements, said in Mandarin.

    app_queue plays its queue-* sounds around numbers it says with say.c in the channel's
    language; the dialplan sets language zh, so say.c speaks Chinese (digits/N, digits/10..90,
    digits/hundred, ... from <astdatadir>/sounds/zh, rendered by ivr) and the queue-* sounds are
    ours, by absolute path. app_queue announces the holdtime only once its estimate (an average
    of past waits) is a minute or more."""
    every = q.announce_every or ENTRY_ONLY_S
    on = q.announce_position or q.announce_holdtime
    opts: list[tuple[str, object]] = [
        ("announce-frequency", every if on else 0),
        ("min-announce-frequency", min(every, 15)),
        ("announce-position", "yes" if q.announce_position else "no"),
        ("announce-holdtime", "yes" if q.announce_holdtime else "no"),
        ("announce-round-seconds", 0),
        ("periodic-announce-frequency", 0),
    ]
    opts += [(p.name, f"{sounds_dir}/{p.name}") for p in QUEUE_PROMPTS]
    return opts


def render(site: SiteConfig, sounds_dir: str = "/usr/share/asterisk/sounds/hotline") -> str:
    conf = ConfFile()
    conf.section("general", [("persistentmembers", "yes"), ("autofill", "yes"), ("monitor-type", "MixMonitor"),
                             ("shared_lastcall", "yes"), ("log_membername_as_agent", "yes"),
                             ("updatecdr", "no"), ("keepstats", "no")])
    rules = overflow_rules(site)
    for q in site.queues:
        opts: list[tuple[str, object]] = [
            ("strategy", q.strategy), ("timeout", q.ring_timeout), ("retry", q.retry),
            ("wrapuptime", asterisk_wrapuptime(q.wrapup)), ("weight", q.weight), ("maxlen", 0),
            # 7x24 human service: callers wait for a seat even when none is free or logged in,
            # unless the queue's no-seat rule sends them to its fallback (dialplan).
            ("joinempty", "yes" if q.no_seat == "wait" else "paused,unavailable,invalid,unknown"),
            ("leavewhenempty", "no" if q.no_seat == "wait" else "paused,unavailable,invalid,unknown"),
            ("ringinuse", "no"), ("autopause", "no"),
            *announcements(q, sounds_dir),
            ("timeoutpriority", "conf"), ("setinterfacevar", "yes"), ("setqueuevar", "yes"),
            ("setqueueentryvar", "yes"), ("reportholdtime", "no"), ("servicelevel", 15),
            # waiting: ringback uses Queue's r option instead (dialplan); the class is then unused.
            ("musicclass", MOH_CLASS),
        ]
        if q.callback is not None and q.callback.enabled:
            # a one-digit key press leaves the queue into this context (trunk_config.callback)
            opts.append(("context", callback.queue_context(q.name)))
        if rule_name(q.name) in rules:
            opts.append(("defaultrule", rule_name(q.name)))
        conf.section(q.name, opts, comment=q.title or None)
    return conf.text()


def render_rules(site: SiteConfig) -> str:
    """queuerules.conf: a queue's overflow steps raise its callers' maximum member penalty."""
    conf = ConfFile()
    for name, steps in overflow_rules(site).items():
        conf.section(name, [("penaltychange", f"{after},{max_penalty}") for after, max_penalty in steps])
    return conf.text()
