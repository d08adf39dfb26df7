"""A unit's month as a PDF a person reads (Chinese), with fpdf2 and a CJK TrueType font.

The font is ``unit_scores.report_font`` or the first Debian CJK font installed (fonts-wqy-microhei,
fonts-wqy-zenhei, fonts-noto-cjk; ``scripts/setup.sh`` installs the first); none: ``report-font-missing``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from hotline.unit_scores.errors import ReportFontMissing
from hotline.unit_scores.report_text import headline, rows
from hotline.unit_scores.rules import NAMES

FONTS = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
         Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
         Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"))
ATTENDANCE = {"present": "到岗", "absent": "无故缺席", "excused": "请假"}
HEAD = FontFace(emphasis=None, fill_color=(230, 230, 230))   # one regular face: no bold CJK font to add


def font_path(configured: Path | None) -> Path:
    tried = [configured] if configured is not None else list(FONTS)
    for path in tried:
        if path.is_file():
            return path
    raise ReportFontMissing([str(p) for p in tried])


def render(score: dict[str, Any], font: Path) -> bytes:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(f"{score['name']} {score['month']} 月度考核")
    pdf.add_font("cjk", fname=str(font))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.multi_cell(0, 10, f"12345政务服务热线承办单位月度考核（{score['month']}）", align="C",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("cjk", size=12)
    with pdf.table(col_widths=(30, 150), first_row_as_headings=False, line_height=8) as table:
        for name, value in headline(score):
            table.row((name, value))
    pdf.ln(4)
    pdf.set_font("cjk", size=10)
    with pdf.table(col_widths=(26, 16, 16, 122), headings_style=HEAD, line_height=6) as table:
        table.row(("项目", "得分", "满分", "依据"))
        for line in rows(score):
            table.row(line)
    if score["exemptions"]:
        _section(pdf, "豁免（平台审核）", ("规则", "工单", "理由", "审核人"), (24, 40, 86, 30),
                 [(NAMES.get(e["rule"], e["rule"]), e["work_order_id"], e["reason"], e["by"])
                  for e in score["exemptions"]])
    if score["attendance"]:
        _section(pdf, "轮值到岗", ("日期", "情况", "备注", "记录人"), (30, 30, 90, 30),
                 [(a["date"], ATTENDANCE[a["status"]], a["note"], a["by"]) for a in score["attendance"]])
    return bytes(pdf.output())


def _section(pdf: FPDF, title: str, head: tuple[str, ...], widths: tuple[int, ...],
             lines: list[tuple[str, ...]]) -> None:
    pdf.ln(4)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    with pdf.table(col_widths=widths, headings_style=HEAD, line_height=6) as table:
        table.row(head)
        for line in lines:
            table.row(line)
