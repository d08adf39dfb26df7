"""The unit score's reports read by a person: the PDF rendered to a PNG (pdftoppm) and read back by
OCR (tesseract, chi_sim) finds the unit's name, its total and the rules' names; the glyphs are
real (not tofu boxes: a known string rendered with the same font is read back the same way); the
XLSX holds each rule's points next to its inputs. The Debian packages are in scripts/setup.sh."""

from __future__ import annotations

import difflib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF

from hotline.store import Store
from hotline.unit_scores import report_pdf
from hotline.unit_scores.errors import ReportFontMissing
from tests.unit.unitscorekit import build


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: scripts/setup.sh --test installs poppler-utils and tesseract-ocr-chi-sim"
    return found


def _read(pdf: bytes, tmp_path: Path, name: str) -> tuple[str, bytes]:
    """(OCR text with spaces removed, the PNG) of the PDF's first page."""
    (tmp_path / f"{name}.pdf").write_bytes(pdf)
    subprocess.run([_tool("pdftoppm"), "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / f"{name}.pdf"), str(tmp_path / name)], check=True, timeout=60)
    png = tmp_path / f"{name}.png"
    out = subprocess.run([_tool("tesseract"), str(png), "-", "-l", "chi_sim+eng", "--psm", "4"], check=True,
                         capture_output=True, text=True, timeout=120)
    return "".join(out.stdout.split()), png.read_bytes()


@pytest.fixture
async def renshe(sqlite_store: Store) -> dict[str, Any]:
    m = await build(sqlite_store)
    return await m.scores.unit_score("renshe", m.scores.month("2026-11"))


async def test_the_pdf_reads_as_the_units_month(renshe: dict[str, Any], tmp_path: Path) -> None:
    font = report_pdf.font_path(None)
    text, png = _read(report_pdf.render(renshe, font), tmp_path, "renshe")
    assert png.startswith(b"\x89PNG") and len(png) > 20_000, "a page with something drawn on it"
    for words in ("单位市人社局", "月份2026-11", "总分96", "排名2/3", "知识库1820", "电话接通率810", "按期办结910",
                  "办结率2020", "回访核实1920", "满意度1720", "不满意4次"):
        assert words in text, (words, text)


def test_the_font_draws_real_glyphs(tmp_path: Path) -> None:
    """A known string through the same font and OCR: tofu boxes would read as nothing like it."""
    pdf = FPDF()
    pdf.add_font("cjk", fname=str(report_pdf.font_path(None)))
    pdf.add_page()
    pdf.set_font("cjk", size=20)
    known = "濮阳市承办单位月度考核总分"
    pdf.cell(text=known)
    text, _ = _read(bytes(pdf.output()), tmp_path, "known")
    assert difflib.SequenceMatcher(None, known, text).ratio() >= 0.8, text   # tofu boxes read as nothing alike


def test_a_missing_font_is_a_stable_error(tmp_path: Path) -> None:
    with pytest.raises(ReportFontMissing) as err:
        report_pdf.font_path(tmp_path / "none.ttc")
    assert err.value.error_id == "report-font-missing" and err.value.details["tried"] == [str(tmp_path / "none.ttc")]


async def test_the_xlsx_puts_each_rules_inputs_next_to_its_points(sqlite_store: Store) -> None:
    import io

    from openpyxl import load_workbook

    from hotline.unit_scores import report_xlsx

    m = await build(sqlite_store)
    score = await m.scores.unit_score("zhujian", m.scores.month("2026-11"))
    sheet = load_workbook(io.BytesIO(report_xlsx.render(score))).active
    assert sheet is not None
    rows = {r[0]: r[1:] for r in sheet.iter_rows(values_only=True) if r and r[0]}
    assert rows["总分"][0] == "39" and rows["约谈"][0].startswith("是")
    assert rows["知识库"][:3] == (0, 20, "[未录入] 本月未录入（计 0 分）")
    assert rows["电话接通率"][:3] == (0, 10, "[实测] 不通 12 次（每次扣 1 分，超过 10 次不得分）")
    assert rows["按期办结"][:3] == (10, 10, f"[实测] 超期 0 件；豁免 1 件：{m.ids['O5']}")
    assert rows["办结率"][:3] == (0, 20, "[实测] 办结 0 / 承办 2（转办 3，回退 1），办结率 0.0%")
    assert rows["满意度"][:3] == (19, 20, f"[实测] 不满意 1 次，计 1 次（同一工单最多 3 次）：{m.ids['O6']}")
    assert rows["轮值"][:3] == (-10, None, "无故缺席 1 次：2026-11-12")
    every = [r for r in sheet.iter_rows(values_only=True)]
    below = every[every.index(next(r for r in every if r and r[0] == "豁免")) + 1]
    assert below[1:5] == ("按期办结", m.ids["O5"], "法规规定办理时限 30 日，已书面说明", "boss")
