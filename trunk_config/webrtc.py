"""Browser phones (``seats[].phone: browser``, issue 13 item 2): SIP over WebSocket, DTLS-SRTP, ICE.

Asterisk's HTTP server (``http.conf``) carries the WebSocket (``/ws``); pjsip gets a ``ws``
transport (and ``wss`` when ``asterisk.webrtc.tls_port`` is set); each browser seat is an endpoint
with ``webrtc = yes`` (AVPF, DTLS with fingerprint check, ICE, rtcp-mux) using the DTLS
certificate the install generated (:mod:`hotline.asterisk_certs`). A browser's contact is
qualified every ``qualify_seconds``: a browser that lost its network stops answering, its
contact goes unavailable and app_queue rings it no more (its caller stays in the queue).
Without a browser seat the HTTP server stays off and nothing here is written.
"""

from __future__ import annotations

from hotline.config.site import Seat, SiteConfig

from .conf import ConfFile

CERT_FILE = "hotline-dtls.crt"   # in the keys directory, as Asterisk sees it (GenerateOptions.keys_dir)
KEY_FILE = "hotline-dtls.key"
DEFAULT_KEYS_DIR = "/var/lib/asterisk"   # astkeydir of a stock install


def browser_seats(site: SiteConfig) -> list[Seat]:
    return [s for s in site.seats if s.phone == "browser"]


def render_http(site: SiteConfig, keys_dir: str) -> str:
    """http.conf: off unless a seat has a browser phone; then bound where the site says."""
    w = site.asterisk.webrtc
    conf = ConfFile()
    if not browser_seats(site):
        conf.section("general", [("enabled", "no")])
        return conf.text()
    opts: list[tuple[str, object]] = [("enabled", "yes"), ("bindaddr", w.bind), ("bindport", w.port),
                                      ("servername", "hotline12345"), ("sessionlimit", 500)]
    if w.tls_port:
        opts += [("tlsenable", "yes"), ("tlsbindaddr", f"{w.bind}:{w.tls_port}"),
                 ("tlscertfile", f"{keys_dir}/{CERT_FILE}"), ("tlsprivatekey", f"{keys_dir}/{KEY_FILE}")]
    conf.section("general", opts, comment="SIP over WebSocket for the console's browser phones (/ws)")
    return conf.text()


def transports(conf: ConfFile, site: SiteConfig) -> None:
    """The WebSocket transports (pjsip's ``ws``/``wss`` ride on the HTTP server's listeners)."""
    if not browser_seats(site):
        return
    conf.section("transport-ws", [("type", "transport"), ("protocol", "ws"), ("bind", "0.0.0.0")])
    if site.asterisk.webrtc.tls_port:
        conf.section("transport-wss", [("type", "transport"), ("protocol", "wss"), ("bind", "0.0.0.0")])


def endpoint_options(site: SiteConfig, keys_dir: str) -> list[tuple[str, object]]:
    """What a browser seat's endpoint adds: WebRTC media with the install's DTLS certificate."""
    return [("webrtc", "yes"), ("dtls_cert_file", f"{keys_dir}/{CERT_FILE}"),
            ("dtls_private_key", f"{keys_dir}/{KEY_FILE}"), ("dtls_verify", "fingerprint"),
            ("dtls_setup", "actpass")]


def qualify_seconds(site: SiteConfig) -> int:
    return site.asterisk.webrtc.qualify_seconds
