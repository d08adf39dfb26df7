"""Errors of the console routes: :class:`hotline.exceptions.HotlineError` subclasses with stable ids
(the API turns them into JSON in one place, ``hotline.api.app``)::

    NotBrowserPhone       not-a-browser-phone   (409: the seat's phone is a SIP phone, not the page's)
    VendorRefused         vendor-refused        (503: the browser SIP library is not the pinned one)
"""

from __future__ import annotations

from hotline.exceptions import HotlineError


class NotBrowserPhone(HotlineError):
    error_id = "not-a-browser-phone"
    http_status = 409

    def __init__(self, seat_id: str, phone: str) -> None:
        super().__init__(f"seat {seat_id} answers on a {phone} phone (seats[].phone), not in the console page",
                         seat=seat_id, phone=phone)


class VendorRefused(HotlineError):
    error_id = "vendor-refused"
    http_status = 503

    def __init__(self, name: str, version: str, pinned: str, got: str) -> None:
        super().__init__(f"{name} {version}: the packaged tarball's integrity {got} is not the pinned {pinned}; "
                         "run scripts/fetch-sipjs.sh", library=name, version=version, pinned=pinned, got=got)
