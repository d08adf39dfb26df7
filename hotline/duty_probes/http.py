"""``/api/duty-probes``: the duty-phone tests of a month, per unit (tries, answered probes, 不通
events with their times, refused duty phones).

Supervisors and admins read every unit (or ``unit=``); a unit user reads its own unit only (no
``unit``, or its own); another unit's, or a seat's or department's read, is ``not-your-unit`` (403).
Numbers are shown masked.
"""

from __future__ import annotations

from aiohttp import web

from hotline.config.site import Role
from hotline.duty_probes.errors import NotYourUnit
from hotline.duty_probes.schemas import month_query
from hotline.duty_probes.services import DutyProbeService
from hotline.http.responses import json_response
from hotline.principal import principal_of

READERS = (Role.supervisor, Role.admin)


def add_routes(app: web.Application, service: DutyProbeService) -> None:
    async def month(request: web.Request) -> web.Response:
        q = month_query(request.query)
        unit = q.unit
        p = principal_of(request)
        if p is not None and p.role == Role.unit:
            if unit not in (None, p.unit):
                raise NotYourUnit(p.role.value, p.unit, unit)
            unit = p.unit
        elif p is not None and p.role not in READERS:
            raise NotYourUnit(p.role.value, None, unit)
        now = service.now().astimezone(service.timezone)
        year, mon = (q.year, q.month) if q.year is not None and q.month is not None else (now.year, now.month)
        units = await service.month(year, mon, unit)
        return json_response({"month": f"{year:04d}-{mon:02d}", "timezone": str(service.timezone),
                              "units": units})

    app.router.add_get("/api/duty-probes", month)
