"""Errors of the hotspot routes: :class:`hotline.exceptions.HotlineError` subclasses with stable
ids (turned into JSON in one place, ``hotline.api.app``)::

    InvalidRequest
    └── InvalidHotspotId   invalid-hotspot-id  (400: the path's id is not a positive integer)
    NotFound
    └── NoSuchHotspot      no-such-hotspot     (404: no alert with that id, or purged)

A seat, department or unit user asking is ``forbidden`` (403, the route table of
:mod:`hotline.auth.roles`: supervisors and admins only).
"""

from __future__ import annotations

from hotline.exceptions import InvalidRequest, NotFound


class InvalidHotspotId(InvalidRequest):
    error_id = "invalid-hotspot-id"

    def __init__(self, value: object) -> None:
        super().__init__("alert_id", "an alert id is a positive integer", value)


class NoSuchHotspot(NotFound):
    error_id = "no-such-hotspot"

    def __init__(self, alert_id: int) -> None:
        super().__init__(f"no hotspot alert {alert_id} (never raised, or purged after hotspots.retention_days)",
                         alert_id=alert_id)
