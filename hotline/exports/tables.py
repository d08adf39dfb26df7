"""Rows to CSV or XLSX bytes, a page at a time (pure: no I/O but the XLSX temporary file).

* CSV: UTF-8 with a byte-order mark (Excel then reads Chinese right), RFC 4180 (CRLF line ends,
  a field with a comma, quote or line break in double quotes, quotes doubled), and safe against
  CSV injection: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  is prefixed with ``'`` so a spreadsheet shows it as text and never runs it as a formula. Numbers
  are written as numbers (a negative number is not text and is left alone).
* XLSX: openpyxl's write-only workbook, which writes each row to a temporary file as it comes
  (memory stays bounded for any number of rows); the same escaping, since Excel also evaluates
  a text cell starting with ``=`` typed back in.

A cell is ``None`` (empty), ``bool``, ``int``, ``float`` or text; anything else is written as text.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from openpyxl import Workbook

BOM = "\ufeff"
FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_RISKY = ("=", "+", "-", "@", "\t", "\r")

Cell = Any
Row = Sequence[Cell]


def safe(value: Cell) -> Cell:
    """The cell as written: text starting with a formula trigger gets a leading ``'``."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(_RISKY) else text


def csv_rows(rows: Iterable[Row], *, bom: bool = False) -> bytes:
    """Rows as CSV bytes (RFC 4180, CRLF), each cell :func:`safe`; ``bom`` starts the file."""
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow(["" if c is None else safe(c) for c in row])
    return buffer.getvalue().encode("utf-8")


def csv_chunks(header: Row, pages: Iterable[Iterable[Row]]) -> Iterator[bytes]:
    """The CSV file as one chunk for the header (with the BOM) and one per page of rows."""
    yield csv_rows([header], bom=True)
    for page in pages:
        yield csv_rows(page)


class XlsxSheet:
    """A write-only XLSX with one sheet: :meth:`add` pages of rows, then :meth:`finish` gives a
    file object to read the workbook from (a temporary file, removed when closed)."""

    def __init__(self, title: str, header: Row) -> None:
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=title[:31])
        self._sheet.append([safe(c) for c in header])

    def add(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self._sheet.append([safe(c) for c in row])

    def finish(self) -> IO[bytes]:
        out = tempfile.TemporaryFile()
        self._book.save(out)
        out.seek(0)
        return out
