"""CSV and XLSX writing: BOM, RFC 4180 quoting, CSV-injection escaping, XLSX read back with
openpyxl, and a Content-Disposition that carries a Chinese file name (RFC 6266/5987)."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import openpyxl
import pytest

from hotline.exceptions import InvalidRequest
from hotline.exports.download import content_disposition, export_format
from hotline.exports.tables import XlsxSheet, csv_chunks, csv_rows, safe

HEADER = ("工单编号", "标题", "数量")
ROWS = [["WO-1", "含,逗号", 3], ["WO-2", '引"号', -2], ["WO-3", "两\r\n行", 0.5], ["WO-4", None, True]]


def test_csv_starts_with_a_bom_uses_crlf_and_quotes_per_rfc_4180() -> None:
    data = b"".join(csv_chunks(HEADER, [ROWS[:2], ROWS[2:]]))
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8")
    assert text == ('\ufeff工单编号,标题,数量\r\n'
                    'WO-1,"含,逗号",3\r\n'
                    'WO-2,"引""号",-2\r\n'
                    'WO-3,"两\r\n行",0.5\r\n'
                    'WO-4,,True\r\n')
    back = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert back == [list(HEADER), ["WO-1", "含,逗号", "3"], ["WO-2", '引"号', "-2"], ["WO-3", "两\r\n行", "0.5"],
                    ["WO-4", "", "True"]]


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-1+1", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_a_spreadsheet_would_run_is_escaped(text: str) -> None:
    assert safe(text) == "'" + text
    assert csv_rows([[text]]).decode().lstrip('"').startswith("'")


def test_plain_text_and_numbers_are_left_alone() -> None:
    assert [safe(v) for v in ("人社局", "a=b", -5, 2.5, None, False)] == ["人社局", "a=b", -5, 2.5, None, False]


def test_xlsx_reads_back_with_the_same_cells_escaped_alike() -> None:
    sheet = XlsxSheet("工单日报", HEADER)
    sheet.add(ROWS)
    sheet.add([["WO-5", "=1+1", None]])
    with sheet.finish() as data:
        book = openpyxl.load_workbook(data, read_only=True)
        ws = book["工单日报"]
        rows = [(list(r) + [None] * 3)[:3] for r in ws.iter_rows(values_only=True)]   # trailing empties
        book.close()
    # XML keeps a line break as LF
    assert rows == [list(HEADER), ["WO-1", "含,逗号", 3], ["WO-2", '引"号', -2], ["WO-3", "两\n行", 0.5],
                    ["WO-4", None, True], ["WO-5", "'=1+1", None]]


def test_content_disposition_names_the_file_in_utf8_with_an_ascii_fallback() -> None:
    header = content_disposition("工单日报-2026-12-01.csv", 'order "report".csv')
    assert header.startswith('attachment; filename="order _report_.csv"; ')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii() and " " not in encoded and unquote(encoded) == "工单日报-2026-12-01.csv"


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(InvalidRequest) as err:
        export_format("pdf")
    assert err.value.details["field"] == "format"
