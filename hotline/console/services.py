"""What the console page needs from the site config: the browser phone of a seat.

The page never holds a secret of its own: once the seat's user logged in, it asks
``GET /api/seats/{seat_id}/phone`` (the own-seat rule of :mod:`hotline.auth.roles`: a seat user
reads only its own seat's) for the SIP credentials and the WebSocket address, and registers the
WebRTC phone with them (``static/phone.js``).
"""

from __future__ import annotations

from hotline.config.site import SiteConfig
from hotline.console.errors import NotBrowserPhone
from hotline.console.schemas import PhoneConfig
from hotline.exceptions import NoSuchSeat


def ws_url(site: SiteConfig, host: str, secure: bool) -> str:
    """The WebSocket address for a page reached under ``host`` (``wss`` when the page is https)."""
    w = site.asterisk.webrtc
    if w.public_url:
        return w.public_url
    host = f"[{host}]" if ":" in host else host
    if secure and w.tls_port:
        return f"wss://{host}:{w.tls_port}/ws"
    return f"ws://{host}:{w.port}/ws"


def phone_config(site: SiteConfig, seat_id: str, host: str, secure: bool = False) -> PhoneConfig:
    seat = site.seat(seat_id)
    if seat is None:
        raise NoSuchSeat(seat_id)
    if seat.phone != "browser":
        raise NotBrowserPhone(seat_id, seat.phone)
    return PhoneConfig(seat_id=seat.id, name=seat.name, uri=f"sip:{seat.id}@{host}", ws_url=ws_url(site, host, secure),
                       username=seat.id, password=seat.secret, qualify_seconds=site.asterisk.webrtc.qualify_seconds)
