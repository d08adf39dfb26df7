"""The body of ``POST /api/seats/{seat_id}/spy``."""

from __future__ import annotations

from typing import Literal

from hotline.http.body import StrictBody


class SpyBody(StrictBody):
    mode: Literal["listen", "whisper", "barge"] = "listen"
