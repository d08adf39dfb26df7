"""The site config of the SIP edge (``edge:``): a Kamailio in front of several Asterisk nodes.

Without this section the site runs as before, on one node. With it, trunks and seats send to the
edge (``listen``:``port``); the edge dispatches calls over ``nodes`` (OPTIONS probing every
``probe_interval`` seconds), normalises the caller identity and limits floods from any source
that is not a trunk (``pike``). The generator is ``trunk_config/kamailio.py``.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from hotline.config.scalars import NODE_NAME, Model, Port, check_cidr


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"not an IP address: {value!r} (the edge and its nodes are named by address)") from None
    return value


class EdgeNode(Model):
    """One Asterisk node behind the edge. ``name`` is the node's ``site.node`` (its call-id prefix)."""

    name: Annotated[str, StringConstraints(pattern=rf"^{NODE_NAME}$")]
    address: str
    sip_port: Port = 5060
    weight: int = Field(default=1, ge=1, le=100)

    _address = field_validator("address")(lambda v: _ip(v))


class PikeLimits(Model):
    """Flood limit for every source that is not a trunk: more than ``requests`` requests in
    ``window`` seconds from one address and it is refused (503, then silence) for ``block`` s."""

    requests: int = Field(default=30, ge=2, le=100000)
    window: int = Field(default=2, ge=1, le=60)
    block: int = Field(default=60, ge=1, le=86400)


class EdgeSection(Model):
    listen: str
    port: Port = 5060
    # The address the nodes see the edge's requests come from (default: listen). A node accepts
    # SIP only from here (its ACL); give it when listen is 0.0.0.0 or the edge has a NAT.
    node_side_address: str = ""
    nodes: list[EdgeNode] = Field(min_length=1)
    # Trunk sources: default every trunk's networks (trunks[].match or host). Extra networks here.
    trusted_sources: list[str] = Field(default_factory=list)
    pike: PikeLimits = Field(default_factory=PikeLimits)
    probe_interval: int = Field(default=1, ge=1, le=60)   # seconds between OPTIONS probes of a node
    # Failed probes before a node is out, answered probes before it is back.
    probe_failures: int = Field(default=1, ge=1, le=10)
    probe_successes: int = Field(default=1, ge=1, le=10)
    # ms to wait for a node's first answer (100 Trying) before the call tries the next node; also
    # the timeout of a probe, so a dead node is out within probe_interval + reply_timeout (1.8 s).
    reply_timeout_ms: int = Field(default=800, ge=200, le=10000)
    # s without a beat from a node's controller before another node closes the calls it had in
    # progress (hotline.calls.node_loss): longer than a controller takes to restart.
    node_lost_after_s: int = Field(default=60, ge=5, le=86400)

    _listen = field_validator("listen")(lambda v: _ip(v))
    _nsa = field_validator("node_side_address")(lambda v: _ip(v) if v else v)
    _cidrs = field_validator("trusted_sources")(lambda v: [check_cidr(x) for x in v])

    @property
    def source_address(self) -> str:
        """The address the nodes see the edge's requests come from."""
        return self.node_side_address or self.listen


def edge_problems(edge: EdgeSection | None, node: str | None) -> list[tuple[str, str, object]]:
    """Cross-field problems of ``edge:``, each at the field to fix (hotline.config.checks);
    ``node`` is ``site.node``, which must be one of the edge's nodes when set."""
    if edge is None:
        return []
    out: list[tuple[str, str, object]] = []
    if node is not None and node not in {n.name for n in edge.nodes}:
        out.append(("site.node", f"{node!r} is not one of edge.nodes "
                    f"({', '.join(n.name for n in edge.nodes)}): the edge would never send it a call", node))
    seen_names: set[str] = set()
    seen_ends: set[str] = set()
    for i, n in enumerate(edge.nodes):
        end = f"{n.address}:{n.sip_port}"
        if n.name in seen_names:
            out.append((f"edge.nodes.{i}.name", f"duplicate node name {n.name!r}", n.name))
        if end in seen_ends:
            out.append((f"edge.nodes.{i}.address", f"duplicate node address {end}", end))
        if end == f"{edge.listen}:{edge.port}":
            out.append((f"edge.nodes.{i}.sip_port", f"node {n.name!r} is the edge's own address {end}", end))
        seen_names.add(n.name)
        seen_ends.add(end)
    if edge.listen in ("0.0.0.0", "::") and not edge.node_side_address:
        out.append(("edge.node_side_address", "needed when edge.listen is a wildcard address "
                    "(the nodes accept SIP only from the edge's address)", edge.listen))
    return out
