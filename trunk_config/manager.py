"""manager.conf: one AMI user on loopback with only the permission classes it needs.

The controller reads no per-call channel events from AMI: call records come from the CEL
log, and AMI carries the controller's actions (transfers, conferences, re-sync) and the
queue events that drive the seats' live state (the ``agent`` class: a handful per call,
not the 80-100 channel events). Event filters keep everything else out of the session.
"""

from __future__ import annotations

from hotline.config.site import SiteConfig
from hotline.spine.ami_events import CONTROLLER_EVENTS as EVENTS
from hotline.spine.marks import RANK

from .conf import ConfFile
from .kamailio_seats import in_pool


def render(site: SiteConfig, secret: str) -> str:
    ami = site.asterisk.ami
    conf = ConfFile()
    general: list[tuple[str, object]] = [
        ("enabled", "yes"), ("webenabled", "no"), ("bindaddr", ami.bind), ("port", ami.port),
        ("displayconnects", "no"), ("timestampevents", "yes"), ("authlimit", 5), ("authtimeout", 10)]
    if in_pool(site):   # a waiting caller's place in the one order over the nodes (hotline/seats/order.py)
        general.append(("channelvars", RANK))
    conf.section("general", general)
    opts: list[tuple[str, object]] = [
        ("secret", secret),
        ("deny", "0.0.0.0/0.0.0.0"),
        ("permit", "127.0.0.0/255.0.0.0"),
        # Only what the controller reads: every class a session may read makes Asterisk format
        # those events for it (measured in bench/: it costs calls per second under load).
        ("read", "system,agent"),
        # Only the classes of the actions the controller sends (hotline/ami/actions.py): call
        # (Hangup, Redirect, transfers, ConfbridgeKick, Setvar, Getvar), agent (QueueAdd/Remove/
        # Pause), originate (callbacks, spy), reporting (CoreShowChannels, ConfbridgeList). Never
        # system: with it Asterisk lets Originate run System, AGI or MixMonitor and Setvar/Getvar
        # reach SHELL(), which makes the AMI secret a shell on this host (issue #9).
        ("write", "call,agent,originate,reporting"),
        ("writetimeout", 2000),
    ]
    conf.section(ami.username, opts)
    for name in EVENTS:
        conf.raw(f"eventfilter(action(include),name({name})) = ")
    return conf.text()
