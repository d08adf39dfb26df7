"""The checks across sections of the site config: duplicates and references to fix.

Kept out of pydantic's validators so an error names the field and its value rather than the
whole model (which holds every secret). :func:`hotline.config.parse_site` raises them as one
ConfigError.
"""

from __future__ import annotations

from hotline.config.edge import edge_problems
from hotline.config.sections import Role
from hotline.config.site import SiteConfig

Problem = tuple[str, str, object]
"""(field path, message, value): each at the field to fix."""


def problems(site: SiteConfig) -> list[Problem]:
    """Every cross-section problem of ``site``, in the order of the file's sections."""
    return [*_unique_names(site), *_references(site), *_queue_rules(site), *_seat_rules(site),
            *_users(site), *_retention(site), *_orders(site), *_revisits(site),
            *_duty_phones(site), *edge_problems(site.edge, site.site.node)]


def _dupes(kind: str, items: list[tuple[str, str]]) -> list[Problem]:
    seen: set[str] = set()
    out: list[Problem] = []
    for path, value in items:
        if value in seen:
            out.append((path, f"duplicate {kind} {value!r}", value))
        seen.add(value)
    return out


def _unique_names(site: SiteConfig) -> list[Problem]:
    return [
        *_dupes("trunk name", [(f"trunks.{i}.name", t.name) for i, t in enumerate(site.trunks)]),
        *_dupes("department id", [(f"departments.{i}.id", d.id) for i, d in enumerate(site.departments)]),
        *_dupes("queue name", [(f"queues.{i}.name", q.name) for i, q in enumerate(site.queues)]),
        *_dupes("seat id", [(f"seats.{i}.id", s.id) for i, s in enumerate(site.seats)]),
        *_dupes("number", [("site.hotline_number", site.site.hotline_number)]
                + [(f"legacy_numbers.{i}.number", n.number) for i, n in enumerate(site.legacy_numbers)]
                + [(f"diversion_110.numbers.{i}", n) for i, n in enumerate(site.diversion_110.numbers)]),
        *_dupes("emergency number", [(f"emergency.{i}.number", e.number) for i, e in enumerate(site.emergency)]),
    ]


def _references(site: SiteConfig) -> list[Problem]:
    """Trunks, queues and departments named by emergency routes, the site, seats and numbers."""
    out: list[Problem] = []
    trunks = {t.name for t in site.trunks}
    for i, e in enumerate(site.emergency):
        if e.trunk not in trunks:
            out.append((f"emergency.{i}.trunk", f"unknown trunk {e.trunk!r}", e.trunk))
    queues = {q.name for q in site.queues}
    depts = {d.id for d in site.departments}
    if site.site.default_queue not in queues:
        out.append(("site.default_queue", f"{site.site.default_queue!r} is not a configured queue",
                    site.site.default_queue))
    for i, s in enumerate(site.seats):
        for j, q in enumerate(s.queues):
            if q not in queues:
                out.append((f"seats.{i}.queues.{j}", f"unknown queue {q!r}", q))
    for i, n in enumerate(site.legacy_numbers):
        if n.department not in depts:
            out.append((f"legacy_numbers.{i}.department", f"unknown department {n.department!r}", n.department))
        if n.queue and n.queue not in queues:
            out.append((f"legacy_numbers.{i}.queue", f"unknown queue {n.queue!r}", n.queue))
    for i, d in enumerate(site.departments):
        if d.queue and d.queue not in queues:
            out.append((f"departments.{i}.queue", f"unknown queue {d.queue!r}", d.queue))
    return out


def _queue_rules(site: SiteConfig) -> list[Problem]:
    """Overflow and fallback targets: known, not the queue itself, not going round in a circle."""
    out: list[Problem] = []
    queues = {q.name for q in site.queues}
    for i, q in enumerate(site.queues):
        for j, o in enumerate(q.overflow):
            if o.to not in queues:
                out.append((f"queues.{i}.overflow.{j}.to", f"unknown queue {o.to!r}", o.to))
            elif o.to == q.name:
                out.append((f"queues.{i}.overflow.{j}.to", "a queue cannot overflow to itself", o.to))
        if q.fallback and q.fallback.queue:
            if q.fallback.queue not in queues:
                out.append((f"queues.{i}.fallback.queue", f"unknown queue {q.fallback.queue!r}",
                            q.fallback.queue))
            elif q.fallback.queue == q.name:
                out.append((f"queues.{i}.fallback.queue", "a queue cannot fall back to itself",
                            q.fallback.queue))
        if q.fallback and q.fallback.action == "queue" and _fallback_cycle(site, q.name):
            out.append((f"queues.{i}.fallback.queue", "fallback queues go round in a circle (a caller "
                        "would be passed between them without end)", q.fallback.queue))
        if q.no_seat == "fallback" and q.fallback is None:
            out.append((f"queues.{i}.no_seat", "no_seat 'fallback' needs a 'fallback'", q.no_seat))
        if q.line is not None:
            out += _line_rules(site, i, q.name, q.line)
    return out


def _seats_of(site: SiteConfig, queue: str) -> set[str]:
    return {s.id for s in site.seats if queue in s.queues}


def _line_rules(site: SiteConfig, i: int, name: str, line: str) -> list[Problem]:
    """A queue waiting in another's line: that queue exists, has no line of its own, and both have
    the same seats (else a seat of one would take the other's callers); no overflow or queue callback
    on either side (their penalties and positions are per Asterisk queue)."""
    field, target = f"queues.{i}.line", site.queue(line)
    if target is None:
        return [(field, f"unknown queue {line!r}", line)]
    if line == name:
        return [(field, "a queue cannot wait in its own line", line)]
    if target.line is not None:
        return [(field, f"queue {line!r} waits in the line of {target.line!r}: name that queue", line)]
    me = site.queue(name)
    assert me is not None
    for q in (me, target):
        if q.overflow or (q.callback is not None and q.callback.enabled):
            return [(field, f"queue {q.name!r} has overflow or queue callback: it cannot share a line", line)]
    mine, theirs = _seats_of(site, name), _seats_of(site, line)
    if mine != theirs:
        return [(field, f"the seats of {name!r} and {line!r} must be the same (only {name!r}: "
                 f"{sorted(mine - theirs)}, only {line!r}: {sorted(theirs - mine)})", line)]
    return []


def _seat_rules(site: SiteConfig) -> list[Problem]:
    """A seat's trunk, the feature codes and the pause reasons."""
    out: list[Problem] = []
    trunks = {t.name for t in site.trunks}
    for i, s in enumerate(site.seats):
        if s.trunk and s.trunk not in trunks:
            out.append((f"seats.{i}.trunk", f"unknown trunk {s.trunk!r}", s.trunk))
        if s.trunk and not s.external_number:
            out.append((f"seats.{i}.trunk", "a trunk is only used with external_number", s.trunk))
    fc = site.seat_rules.feature_codes
    out += _dupes("feature code", [(f"seat_rules.feature_codes.{k}", v) for k, v in fc.model_dump().items()])
    for key, code in fc.model_dump().items():   # pause is a pattern: *23 then the reason's digit
        if key != "pause" and code.startswith(fc.pause):
            out.append((f"seat_rules.feature_codes.{key}",
                        f"feature code {code!r} starts with the pause code {fc.pause!r}", code))
    out += _dupes("pause reason code", [(f"seat_rules.pause_reasons.{i}.code", r.code)
                                       for i, r in enumerate(site.seat_rules.pause_reasons)])
    out += _dupes("pause reason name", [(f"seat_rules.pause_reasons.{i}.name", r.name)
                                       for i, r in enumerate(site.seat_rules.pause_reasons)])
    return out


def _users(site: SiteConfig) -> list[Problem]:
    out = _dupes("user name", [(f"users.{i}.name", u.name) for i, u in enumerate(site.users)])
    seat_ids = {s.id for s in site.seats}
    for i, u in enumerate(site.users):
        if u.seat is not None and u.seat not in seat_ids:
            out.append((f"users.{i}.seat", f"unknown seat {u.seat!r}", u.seat))
        elif u.seat is None and u.role == Role.seat:
            out.append((f"users.{i}.seat", "a seat user needs its seat", None))
        if u.seat is not None and u.role in (Role.department, Role.unit):
            out.append((f"users.{i}.seat", f"a {u.role.value} user has no seat", u.seat))
        if u.role == Role.unit and u.unit is None:
            out.append((f"users.{i}.unit", "a unit user needs its unit (orders.units[].id)", None))
        elif u.unit is not None and u.role != Role.unit:
            out.append((f"users.{i}.unit", f"only a unit user has a unit, not a {u.role.value} user", u.unit))
        elif u.unit is not None and not site.orders.is_unit_id(u.unit):
            out.append((f"users.{i}.unit", f"unknown unit {u.unit!r} (orders.units[].id or orders.duty_office.id)",
                        u.unit))
    return out


def _orders(site: SiteConfig) -> list[Problem]:
    """Unique unit, subject and area ids; a unit's department and a subject's unit exist."""
    o = site.orders
    out = [*_dupes("unit id", [(f"orders.units.{i}.id", u.id) for i, u in enumerate(o.units)]),
           *_dupes("subject id", [(f"orders.subjects.{i}.id", s.id) for i, s in enumerate(o.subjects)]),
           *_dupes("area id", [(f"orders.areas.{i}.id", a.id) for i, a in enumerate(o.areas)]),
           *_dupes("calendar year", [(f"orders.calendar.{i}.year", str(y.year)) for i, y in enumerate(o.calendar)])]
    for i, u in enumerate(o.units):
        if u.department is not None and site.department(u.department) is None:
            out.append((f"orders.units.{i}.department", f"unknown department {u.department!r}", u.department))
    for i, s in enumerate(o.subjects):
        if s.unit is not None and o.unit(s.unit) is None:
            out.append((f"orders.subjects.{i}.unit", f"unknown unit {s.unit!r}", s.unit))
    out += _duty_office(site)
    for i, system in enumerate(site.integration.systems):
        for j, unit in enumerate(system.units):
            if o.unit(unit) is None:
                out.append((f"integration.systems.{i}.units.{j}", f"unknown unit {unit!r}", unit))
    return out


def _duty_office(site: SiteConfig) -> list[Problem]:
    """The duty office's webhook exists and takes the report (``reported_duty``)."""
    name = site.orders.duty_office.webhook
    if name is None:
        return []
    hook = next((w for w in site.integration.webhooks if w.name == name), None)
    if hook is None:
        return [("orders.duty_office.webhook", f"unknown webhook {name!r} (integration.webhooks[].name)", name)]
    if "reported_duty" not in hook.events:
        return [("orders.duty_office.webhook", f"webhook {name!r} does not take reported_duty (its events)", name)]
    return []


def _revisits(site: SiteConfig) -> list[Problem]:
    """The queue a 回访 caller who presses 0 joins exists; the hotline's own number is not dialled."""
    r = site.revisits
    out: list[Problem] = []
    if r.queue is not None and site.queue(r.queue) is None:
        out.append(("revisits.queue", f"unknown queue {r.queue!r} (queues[].name)", r.queue))
    for i, prefix in enumerate(r.deny_prefixes):
        if r.area_code is not None and r.area_code.startswith(prefix):
            out.append((f"revisits.deny_prefixes.{i}", f"refuses the site's own area code {r.area_code}: "
                        "every fixed line would be refused", prefix))
    return out


def _duty_phones(site: SiteConfig) -> list[Problem]:
    """A unit's duty phones (dialled by the duty-phone tests) are listed once and are not 12345 itself."""
    out: list[Problem] = []
    for i, u in enumerate(site.orders.units):
        phones = [(f"orders.units.{i}.duty_phones.{j}", p) for j, p in enumerate(u.duty_phones)]
        out += _dupes("duty phone", phones)
        out += [(path, "is the hotline's own number: a unit's duty phone is the unit's", p)
                for path, p in phones if p == site.site.hotline_number]
    return out


def _retention(site: SiteConfig) -> list[Problem]:
    out: list[Problem] = []
    r = site.retention
    if r.warn_free_percent < r.min_free_percent:
        out.append(("retention.warn_free_percent", f"must be at least min_free_percent ({r.min_free_percent}): "
                    "the low-space warning comes before the critical alarm", r.warn_free_percent))
    if r.warn_free_mb < r.min_free_mb:
        out.append(("retention.warn_free_mb", f"must be at least min_free_mb ({r.min_free_mb}): "
                    "the low-space warning comes before the critical alarm", r.warn_free_mb))
    return out


def _fallback_cycle(site: SiteConfig, start: str) -> bool:
    """Whether following 'queue' fallbacks from ``start`` comes back to ``start``."""
    seen: set[str] = set()
    name: str | None = start
    while name is not None and name not in seen:
        seen.add(name)
        q = site.queue(name)
        name = q.fallback.queue if q and q.fallback and q.fallback.action == "queue" else None
        if name == start:
            return True
    return False
