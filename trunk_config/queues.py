"""queues.conf and queuerules.conf: one queue per skill, no static members.

Seats are dynamic members: they log in and out (API or phone feature codes) and
Asterisk keeps the memberships across its own restarts (``persistentmembers``), so
the seats stay logged in when the controller is down. app_queue's own auto-pause is
off: the controller pauses a seat after the configured number of unanswered rings.
"""

from __future__ import annotations

from hotline.config.site import SiteConfig
from queue_manager.membership import overflow_rules, rule_name

from . import callback
from .conf import ConfFile


def render(site: SiteConfig) -> str:
    conf = ConfFile()
    conf.section("general", [("persistentmembers", "yes"), ("autofill", "yes"), ("monitor-type", "MixMonitor"),
                             ("shared_lastcall", "yes"), ("log_membername_as_agent", "yes"),
                             ("updatecdr", "no"), ("keepstats", "no")])
    rules = overflow_rules(site)
    for q in site.queues:
        opts: list[tuple[str, object]] = [
            ("strategy", q.strategy), ("timeout", q.ring_timeout), ("retry", q.retry),
            ("wrapuptime", q.wrapup), ("weight", q.weight), ("maxlen", 0),
            # 7x24 human service: callers wait for a seat even when none is free or logged in,
            # unless the queue's no-seat rule sends them to its fallback (dialplan).
            ("joinempty", "yes" if q.no_seat == "wait" else "paused,unavailable,invalid,unknown"),
            ("leavewhenempty", "no" if q.no_seat == "wait" else "paused,unavailable,invalid,unknown"),
            ("ringinuse", "no"), ("autopause", "no"),
            ("announce-frequency", 0), ("announce-holdtime", "no"), ("periodic-announce-frequency", 0),
            ("timeoutpriority", "conf"), ("setinterfacevar", "yes"), ("setqueuevar", "yes"),
            ("setqueueentryvar", "yes"), ("reportholdtime", "no"), ("servicelevel", 15),
            ("musicclass", "default"),
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
