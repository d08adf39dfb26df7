"""``/api/unit-scores``: the monthly unit score, its inputs, what supervisors enter, the reports.

Who reads: supervisors and admins every unit (ranked); a unit user (role ``unit``) its own unit
only (``not-your-unit`` for another; its list holds its own entry, with its rank); seats and
departments have no unit: ``not-your-unit`` too (the route table's ``forbidden`` stays the answer
to a role ranked below a route's minimum). Who writes (knowledge-base points, exemptions, attendance):
supervisors and admins (the route table), each write in the audit log (the audit middleware).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hotline.exports.download import content_disposition
from hotline.http.body import parse_json_body
from hotline.http.responses import json_response
from hotline.principal import principal_of
from hotline.unit_scores import report_pdf, report_xlsx
from hotline.unit_scores.errors import NotYourUnit
from hotline.unit_scores.schemas import AttendanceBody, ExemptionBody, KnowledgeBaseBody, month_query
from hotline.unit_scores.services import UnitScoreService

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READERS = ("supervisor", "admin")


def _who(request: web.Request) -> tuple[str, str, str | None]:
    p = principal_of(request)
    return ("api", "admin", None) if p is None else (p.name, p.role.value, p.unit)


def _may_read(request: web.Request, unit: str | None) -> str | None:
    """The unit the reader is limited to (None: every unit)."""
    _, role, own = _who(request)
    if role in READERS:
        return None
    if role != "unit" or (unit is not None and unit != own):
        raise NotYourUnit(unit or "*", own, role)
    return own


def add_routes(app: web.Application, service: UnitScoreService) -> None:
    async def listing(request: web.Request) -> web.Response:
        month = service.month(month_query(request.query))
        only = _may_read(request, None)
        header, scores = await service.month_scores(month)
        items = [s.to_dict() for s in scores if only is None or s.unit == only]
        return json_response({**header, "items": items})

    async def one(request: web.Request) -> dict[str, Any]:
        unit = request.match_info["unit"]
        month = service.month(month_query(request.query))
        service.unit_name(unit)
        _may_read(request, unit)
        return await service.unit_score(unit, month)

    async def detail(request: web.Request) -> web.Response:
        return json_response(await one(request))

    async def xlsx(request: web.Request) -> web.Response:
        score = await one(request)
        body = await asyncio.to_thread(report_xlsx.render, score)
        return _file(body, XLSX, score, "xlsx")

    async def pdf(request: web.Request) -> web.Response:
        font = report_pdf.font_path(service.report_font)
        score = await one(request)
        body = await asyncio.to_thread(report_pdf.render, score, font)
        return _file(body, "application/pdf", score, "pdf")

    async def knowledge_base(request: web.Request) -> web.Response:
        body = parse_json_body(KnowledgeBaseBody, await request.read())
        month = service.month(body.month)
        done = await service.set_knowledge_base(request.match_info["unit"], month, body.points, body.note,
                                                _who(request)[0])
        return json_response(done, status=201)

    async def exemption(request: web.Request) -> web.Response:
        body = parse_json_body(ExemptionBody, await request.read())
        month = service.month(body.month)
        done = await service.exempt(request.match_info["unit"], month, body.rule, body.work_order_id, body.reason,
                                    _who(request)[0])
        return json_response(done, status=201)

    async def attendance(request: web.Request) -> web.Response:
        body = parse_json_body(AttendanceBody, await request.read())
        done = await service.attend(request.match_info["unit"], body.date, body.status, body.note, _who(request)[0])
        return json_response(done, status=201)

    app.router.add_get("/api/unit-scores", listing)
    app.router.add_get("/api/unit-scores/{unit}", detail)
    app.router.add_get("/api/unit-scores/{unit}/report.xlsx", xlsx)
    app.router.add_get("/api/unit-scores/{unit}/report.pdf", pdf)
    app.router.add_post("/api/unit-scores/{unit}/knowledge-base", knowledge_base)
    app.router.add_post("/api/unit-scores/{unit}/exemptions", exemption)
    app.router.add_post("/api/unit-scores/{unit}/attendance", attendance)


def _file(body: bytes, media: str, score: dict[str, Any], ext: str) -> web.Response:
    name = f"{score['name']}-{score['month']}-考核"
    return web.Response(body=body, headers={
        "Content-Type": media, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(f"{name}.{ext}",
                                                   f"unit-score-{score['unit']}-{score['month']}.{ext}")})
