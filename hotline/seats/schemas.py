"""Request bodies of the seat routes (unknown fields refused, problems named by field)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from hotline.http.body import StrictBody

ReasonText = Annotated[str, StringConstraints(min_length=1, max_length=32)]


QueueName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PauseBody(StrictBody):
    reason: ReasonText        # a configured code ("break") or its name ("小休")
    queue: QueueName | None = None   # one of the seat's queues; none: all of them


class UnpauseBody(StrictBody):
    queue: QueueName | None = None
