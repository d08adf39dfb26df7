"""The AMI events the controller consumes: the generator lets only these through (manager.conf's
event filters, ``trunk_config/manager.py``) and the services subscribe to them, so both read the
one list here (the generator imports no live service)."""

from __future__ import annotations

# The agent-class events the seat service follows (hotline.seats.services).
SEAT_EVENTS = ("QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause", "QueueMemberStatus",
               "AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "AgentDump",
               "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon")

# Every event the controller's AMI session receives. Responses to its own actions are never filtered.
CONTROLLER_EVENTS = ("FullyBooted", "Shutdown", "Reload", *SEAT_EVENTS)
