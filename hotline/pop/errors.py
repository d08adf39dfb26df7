"""Errors of the screen pop route (stable ids; the API turns them into JSON in one place,
``hotline.api.app``). The pop has no error of its own; it answers with the shared ones::

    no-such-seat      (404: hotline.exceptions.NoSuchSeat, a seat the site config does not have)
    forbidden         (403: a seat user asking another seat's pop; hotline.auth.middleware)
    invalid-request   (400: a bad ``calls``, ``orders`` or ``reason``, named in details.field)

No call at the seat is not an error: ``200`` with ``call`` null (the page asks again on the next
seat change). A store that cannot be read is not one either: ``history.ok`` false.
"""

from __future__ import annotations

from hotline.exceptions import Forbidden, InvalidRequest, NoSuchSeat

__all__ = ["Forbidden", "InvalidRequest", "NoSuchSeat"]
