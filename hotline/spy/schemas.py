"""The body of ``POST /api/seats/{seat_id}/spy``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class SpyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    mode: Literal["listen", "whisper", "barge"] = "listen"
