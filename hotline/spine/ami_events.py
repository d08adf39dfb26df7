"""The AMI events the controller consumes: the generator lets only these through (manager.conf's
event filters, ``trunk_config/manager.py``) and the services subscribe to them, so both read the
one list here (the generator imports no live service)."""

from __future__ import annotations

# The events the seat service follows (hotline.seats.services): agent class, and one of the system class.
SEAT_EVENTS = ("QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause", "QueueMemberStatus",
               "AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "AgentDump",
               "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon",
               "ContactStatus")   # system class: a browser seat's contact unreachable mid-call

# Every event the controller's AMI session receives. Responses to its own actions are never filtered.
CONTROLLER_EVENTS = ("FullyBooted", "Shutdown", "Reload", *SEAT_EVENTS)
