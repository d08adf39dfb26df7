"""pjsip.conf: one transport, carrier trunks (identify + ACL), seat endpoints with auth.

There is no anonymous endpoint: a request that matches no trunk by source address
and no seat by credentials is challenged and refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from hotline.config.site import Department, Seat, SiteConfig, Trunk
from hotline.spine import plan

from . import webrtc
from . import kamailio
from .kamailio_seats import in_pool
from .conf import ConfFile

SEAT_CONTEXT = "hotline-seats"
DEPT_CONTEXT = "hotline-dept"


def trunk_endpoint(trunk: Trunk) -> str:
    return plan.trunk_endpoint(trunk.name)


def trunk_context(trunk: Trunk) -> str:
    return f"from-trunk-{trunk.name}"


def _media(codecs: Sequence[str], nat: bool) -> list[tuple[str, object]]:
    """Media options; ``nat`` endpoints (trunks, remote seats) are answered where they sent from."""
    return [("disallow", "all"), ("allow", ",".join(codecs)), ("direct_media", "no"),
            ("rtp_symmetric", "yes" if nat else "no"), ("force_rport", "yes" if nat else "no"),
            ("rewrite_contact", "yes" if nat else "no"),
            ("dtmf_mode", "rfc4733"), ("rtp_timeout", 120), ("rtp_timeout_hold", 600)]


def _trunk(conf: ConfFile, trunk: Trunk) -> None:
    name = trunk_endpoint(trunk)
    opts: list[tuple[str, object]] = [("type", "endpoint"), ("context", trunk_context(trunk)),
                                      ("aors", name), *_media(trunk.codecs, nat=True),
                                      ("trust_id_inbound", "yes"), ("send_rpid", "no"),
                                      ("device_state_busy_at", trunk.max_channels)]
    if trunk.mode == "registration":
        opts += [("outbound_auth", f"{name}-auth")]
    conf.section(name, opts, comment=f"carrier trunk {trunk.name} ({trunk.mode})")
    conf.section(name, [("type", "aor"), ("contact", f"sip:{trunk.host}:{trunk.port}"),
                        ("qualify_frequency", 0)])
    conf.section(name, [("type", "identify"), ("endpoint", name),
                        *[("match", net) for net in trunk.networks]])
    if trunk.mode == "registration":
        conf.section(f"{name}-auth", [("type", "auth"), ("auth_type", "userpass"),
                                      ("username", trunk.username), ("password", trunk.secret)])
        conf.section(f"{name}-reg", [("type", "registration"), ("outbound_auth", f"{name}-auth"),
                                     ("server_uri", f"sip:{trunk.host}:{trunk.port}"),
                                     ("client_uri", f"sip:{trunk.username}@{trunk.host}:{trunk.port}"),
                                     ("contact_user", trunk.username), ("retry_interval", 30),
                                     ("forbidden_retry_interval", 300), ("expiration", 300),
                                     ("line", "yes"), ("endpoint", name)])


POOL_QUALIFY_S = 10


def _seat(conf: ConfFile, seat: Seat, site: SiteConfig, keys_dir: str) -> None:
    """With an edge (``site.edge``) the seat registers at the edge (the seats' registrar, one
    seat pool): every node reaches it as ``sip:<seat>@<edge>`` and qualifies it there (the edge
    answers 480 for a seat that is not registered: only a 2xx counts). A browser phone registers
    on its node over WSS as without an edge."""
    label = f"seat {seat.id}" + (" (remote" + (f", {seat.county}" if seat.county else "") + ")" if seat.remote else "")
    browser = seat.phone == "browser"
    pooled = site.edge is not None and not browser
    media = _media(["alaw", "ulaw"], nat=seat.remote or browser)
    if pooled:
        media = [(k, "no" if k == "rewrite_contact" else v) for k, v in media]
    conf.section(seat.id, [("type", "endpoint"), ("context", SEAT_CONTEXT), ("auth", seat.id),
                           ("aors", seat.id), *media,
                           ("callerid", f"seat {seat.id} <{seat.id}>"),
                           ("allow_transfer", "yes"), ("language", "zh"),
                           *(webrtc.endpoint_options(site, keys_dir) if browser else [])],
                 comment=label + (" (browser phone)" if browser else ""))
    conf.section(seat.id, [("type", "auth"), ("auth_type", "userpass"), ("username", seat.id),
                           ("password", seat.secret)])
    # Remote seats register over a WAN: keep the NAT binding open and notice dead contacts; a
    # browser that lost its network is out of the queue after the site's qualify time.
    qualify = webrtc.qualify_seconds(site) if browser else 20 if seat.remote else 60
    if pooled:   # a seat that has just registered at the edge is reachable on every node within 10 s
        qualify = min(qualify, POOL_QUALIFY_S)
        assert site.edge is not None
        edge = f"{site.edge.source_address}:{site.edge.port}"
        conf.section(seat.id, [("type", "aor"), ("contact", f"sip:{seat.id}@{edge}"),
                               ("qualify_frequency", qualify), ("qualify_timeout", 3),
                               ("qualify_2xx_only", "yes")],
                     comment="registered at the edge")
        return
    conf.section(seat.id, [("type", "aor"), ("max_contacts", 1), ("remove_existing", "yes"),
                           ("qualify_frequency", qualify), ("minimum_expiration", 60),
                           ("default_expiration", 300)])


def _peer_nodes(conf: ConfFile, site: SiteConfig) -> None:
    """One seat pool: this node and every other node of the edge tell each other their seats'
    device state (res_pjsip_publish_asterisk: a PUBLISH on each change, the full state asked for
    at start), so a seat talking on one node is in use on all of them and no queue offers it."""
    assert site.edge is not None
    seats = "|".join(kamailio.pool_seats(site))
    me = f"hotline-node-{site.site.node}"   # this node as the others know it: its PUBLISH's user
    for peer in site.edge.nodes:
        if peer.name == site.site.node:
            continue
        name = f"hotline-node-{peer.name}"
        conf.section(name, [("type", "endpoint"), ("context", "hotline-edge-probe"), ("disallow", "all"),
                            ("allow", "alaw")], comment=f"node {peer.name}: seat states both ways")
        conf.section(name, [("type", "identify"), ("endpoint", name), ("match", peer.address)])
        conf.section(name, [("type", "outbound-publish"),
                            ("server_uri", f"sip:{me}@{peer.address}:{peer.sip_port}"),
                            ("event", "asterisk-devicestate")])
        conf.section(name, [("type", "inbound-publication"), ("endpoint", name),
                            ("event_asterisk-devicestate", name)])
        conf.section(name, [("type", "asterisk-publication"), ("devicestate_publish", name), ("device_state", "yes"),
                            ("device_state_filter", f"^PJSIP/({seats})$")])
    # The edge, when a node dies, tells the others its seats are free there (in the dead node's name).
    conf.section(kamailio.STATES_USER, [("type", "inbound-publication"), ("endpoint", kamailio.PROBE_USER),
                                        ("event_asterisk-devicestate", kamailio.STATES_USER)],
                 comment="the edge: the seats of a dead node are free")
    conf.section(kamailio.STATES_USER, [("type", "asterisk-publication"), ("device_state", "yes"),
                                        ("device_state_filter", f"^PJSIP/({seats})$")])


def render(site: SiteConfig, keys_dir: str = webrtc.DEFAULT_KEYS_DIR) -> str:
    a = site.asterisk
    conf = ConfFile()
    conf.section("global", [("type", "global"), ("user_agent", "hotline12345"),
                            ("endpoint_identifier_order", "ip,username"),
                            ("max_initial_qualify_time", 5), ("keep_alive_interval", 30)])
    conf.section("transport-udp", [("type", "transport"), ("protocol", "udp"),
                                   ("bind", f"{a.sip_bind}:{a.sip_port}"), ("tos", "cs3"), ("cos", 3)])
    webrtc.transports(conf, site)
    permits = []
    for t in site.trunks:
        permits += t.networks
    permits += a.seat_networks
    if site.edge is not None:   # behind the edge: trunks and seats reach this node only through it
        permits = [site.edge.source_address]
        if in_pool(site):   # and the other nodes' seat states
            permits += [n.address for n in site.edge.nodes if n.name != site.site.node]
    conf.section("hotline-acl", [("type", "acl"), ("deny", "0.0.0.0/0.0.0.0"), ("deny", "::/0"),
                                 *[("permit", p) for p in dict.fromkeys(permits)]],
                 comment="SIP requests only from carrier trunks and seat networks" if site.edge is None
                 else "SIP requests only from the edge (Kamailio)")
    for trunk in site.trunks:
        _trunk(conf, trunk)
        if site.edge is not None:
            # The edge recognised the trunk by its source address and says which (any copy of the
            # header a caller sent was removed there); only the edge reaches this node (ACL).
            conf.section(f"{trunk_endpoint(trunk)}-edge",
                         [("type", "identify"), ("endpoint", trunk_endpoint(trunk)),
                          ("match_header", f"{kamailio.TRUNK_HEADER}: {trunk.name}")],
                         comment=f"carrier trunk {trunk.name} through the edge")
    if site.edge is not None:
        # The edge's OPTIONS probes come from this user: an endpoint with no aors, no auth and a
        # context with no extension (nothing can be called or registered through it).
        conf.section(kamailio.PROBE_USER, [("type", "endpoint"), ("context", "hotline-edge-probe"),
                                           ("disallow", "all"), ("allow", "alaw")],
                     comment="the edge's health probes (OPTIONS)")
    for seat in site.seats:
        _seat(conf, seat, site, keys_dir)
    if in_pool(site):
        _peer_nodes(conf, site)
    for dept in site.departments:
        if dept.phone_secret:
            _department_phone(conf, dept)
    return conf.text()


def _department_phone(conf: ConfFile, dept: Department) -> None:
    """A department's own phone registered on the platform: answers its parallel number."""
    name = plan.department_endpoint(dept.id)
    conf.section(name, [("type", "endpoint"), ("context", DEPT_CONTEXT), ("auth", name), ("aors", name),
                        *_media(["alaw", "ulaw"], nat=True), ("callerid", f"{dept.id} <{name}>")],
                 comment=f"department phone of {dept.id}")
    conf.section(name, [("type", "auth"), ("auth_type", "userpass"), ("username", name),
                        ("password", dept.phone_secret)])
    conf.section(name, [("type", "aor"), ("max_contacts", 1), ("remove_existing", "yes"),
                        ("qualify_frequency", 30)])
