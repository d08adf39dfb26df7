"""manager.conf: one AMI user on loopback with only the permission classes it needs.

Event filters keep the AMI stream to what the controller reads (queue and contact
events for live state; call records come from the CEL log, not from AMI), a small
part of Asterisk's 80-100 events per call, so the controller's loop is never flooded.
"""

from __future__ import annotations

from hotline.config.site import SiteConfig

from .conf import ConfFile

# Events the controller consumes. Responses to our own actions are never filtered.
EVENTS = (
    "FullyBooted", "Shutdown", "Reload",
    "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon",
    "QueueMemberStatus", "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause",
    "AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "AgentDump",
    "ContactStatus",
)


def render(site: SiteConfig, secret: str) -> str:
    ami = site.asterisk.ami
    conf = ConfFile()
    conf.section("general", [("enabled", "yes"), ("webenabled", "no"), ("bindaddr", ami.bind),
                             ("port", ami.port), ("displayconnects", "no"), ("timestampevents", "yes"),
                             ("authlimit", 5), ("authtimeout", 10)])
    opts: list[tuple[str, object]] = [
        ("secret", secret),
        ("deny", "0.0.0.0/0.0.0.0"),
        ("permit", "127.0.0.0/255.0.0.0"),
        ("read", "system,call,agent,user,cdr,reporting"),
        ("write", "system,call,agent,originate,reporting"),
        ("writetimeout", 2000),
    ]
    conf.section(ami.username, opts)
    for name in EVENTS:
        conf.raw(f"eventfilter(action(include),name({name})) = ")
    return conf.text()
