"""One site's queues over its nodes (issue 14): each node's controller mirrors its own queues into
Redis (:mod:`hotline.live.hub`, ``hotline:<site>:<node>:queues`` and the channel
``hotline:<site>:<node>:live``); the hub of every node also reads its peers' queues there, so a
supervisor's wallboard on any node shows each queue's waiting callers of every node, in one list.

A node's hub says it is alive (``hotline:<site>:<node>:alive``, expiring after :data:`ALIVE_S`) while
it reaches Redis; a peer whose key is gone (its controller dead, or cut off from Redis) drops out
of the merged views, so a dead node's callers do not stay on the board.
"""

from __future__ import annotations

from typing import Any

ALIVE_S = 15           # a node not heard of this long (its alive key expired) is left out
REFRESH_S = ALIVE_S / 3


def node_of(channel: str) -> str | None:
    """The node of a hub channel ``hotline:<site>:<node>:live`` (site and node have no ``:``)."""
    parts = channel.split(":")
    return parts[2] if len(parts) == 4 and parts[0] == "hotline" and parts[3] == "live" else None


def merge_queue(own: str, views: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One queue's view over the nodes that have it (``views`` by node; ``own`` is this node).

    One node: its view as it is. Several: the callers of all of them in one list (each entry names
    its ``node``), higher priority first, then the longest waiting; ``waiting`` their sum; the
    longest wait the oldest; ``logged_in`` the most any node counts (the pool's seats are members
    everywhere) and ``available`` the fewest (a seat busy on one node is busy for all).
    """
    if len(views) == 1:
        return next(iter(views.values()))
    ordered = sorted(views.items())
    base = views.get(own) or ordered[0][1]
    entries = [{**e, "node": node} for node, view in ordered for e in view.get("entries") or []]
    entries.sort(key=lambda e: (-int(e.get("priority") or 0), float(e.get("since") or 0)))
    since = [float(v["longest_wait_since"]) for v in views.values() if v.get("longest_wait_since") is not None]
    return {**base, "waiting": sum(int(v.get("waiting") or 0) for v in views.values()),
            "longest_wait_since": min(since, default=None), "entries": entries,
            "logged_in": max(int(v.get("logged_in") or 0) for v in views.values()),
            "available": min(int(v.get("available") or 0) for v in views.values()),
            "nodes": [node for node, _ in ordered]}
