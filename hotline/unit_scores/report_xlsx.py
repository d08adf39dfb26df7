"""A unit's month as an XLSX workbook (openpyxl): the headline, each rule's points and inputs, the
exemptions and the 轮值 attendance; cells written through the exports' formula guard."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from hotline.exports.tables import safe
from hotline.unit_scores.report_text import headline, rows
from hotline.unit_scores.rules import NAMES


def render(score: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"{score['month']} 考核"
    sheet.append([safe(f"12345政务服务热线承办单位月度考核 {score['month']}")])
    sheet["A1"].font = Font(bold=True, size=14)
    for name, value in headline(score):
        sheet.append([name, safe(value)])
    sheet.append([])
    sheet.append(["项目", "得分", "满分", "依据"])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for name, points, top, why in rows(score):
        sheet.append([name, float(points), float(top) if top else None, safe(why)])
    if score["exemptions"]:
        sheet.append([])
        sheet.append(["豁免", "规则", "工单", "理由", "审核人", "时间"])
        for e in score["exemptions"]:
            sheet.append(["", NAMES.get(e["rule"], e["rule"]), e["work_order_id"], safe(e["reason"]), safe(e["by"]),
                          e["at"][:19]])
    if score["attendance"]:
        sheet.append([])
        sheet.append(["轮值到岗", "日期", "情况", "备注", "记录人"])
        for a in score["attendance"]:
            sheet.append(["", a["date"], {"present": "到岗", "absent": "无故缺席", "excused": "请假"}[a["status"]],
                          safe(a["note"]), safe(a["by"])])
    for column, width in zip("ABCDEF", (14, 12, 8, 90, 12, 20), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_col=4, max_col=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
