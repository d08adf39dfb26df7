"""Import a hotline-list CSV into a site config (``hotline import-csv``).

The CSV (see ``examples/nantong/nantong-hotlines.csv``) has one row per hotline::

    mode,department,hotline,numbers,note
    merged,房管局,直管公房保障业务咨询,85529193;85510951,

* ``mode``: ``merged``, ``parallel``, ``convenience`` or ``emergency``
  (:class:`hotline.config.site.NumberMode`);
* ``department``: the department's name (Chinese is fine); ``hotline``: the hotline's
  name (may be empty); ``note``: free text (may be empty);
* ``numbers``: one or more numbers separated by ``;`` (digits, optional leading ``+``).

The header must name exactly these five columns, in any order (a missing, repeated
or unknown column is an error, so a typo cannot silently drop data).

The file is UTF-8 (a byte-order mark, as spreadsheets write it, is accepted).
Row numbers in messages count the header as row 1, as a spreadsheet does.

What comes out:

* ``departments``: one per distinct department name, the name kept in ``name``.
  Department ids must be ascii slugs, so they are derived deterministically: a
  department the base config already lists *by the same name* keeps the base's id
  (and its ``queue``/``duty_phone``), every other one gets the first free id of
  ``d01``, ``d02``, ... in order of first appearance in the CSV. Re-importing with
  the previous output as base therefore keeps every id.
* ``legacy_numbers``: one per number, with the row's mode, department id, hotline
  name and note. Emergency and convenience numbers are kept too (they are directory
  entries; the dialplan only routes merged and parallel numbers).
* The site's own hotline number (``site.hotline_number``, 12345 by default) is the
  platform itself, not a legacy number: it is skipped with one warning.
* A number listed twice is kept once (the first row) with a warning naming both
  departments: the site config rejects duplicate numbers.

With ``base`` (a site YAML), the result is the base with its ``departments`` and
``legacy_numbers`` entries replaced, by id and by number, by the imported ones:
the fields the CSV owns (``id``/``name``; ``number``/``mode``/``department``/
``hotline``/``note``) come from the CSV, any other field (e.g. a number's ``queue``)
is kept from the base, and base entries the CSV does not mention are kept (a
warning names such numbers). Every other section of the base is copied verbatim,
comments included; comments on the base's ``departments:``/``legacy_numbers:``
sections are replaced by generated ones. The merged config is validated with
:func:`hotline.config.parse_site` before anything is returned.

Without ``base``, the output holds only ``departments`` and ``legacy_numbers``; it is
validated as part of a default site (hotline number 12345, one stub trunk).

Bad input raises :class:`hotline.exceptions.ConfigError` naming the file, the row
and column (or the field path) and the value; every bad row is reported at once.
The YAML text itself is written by :mod:`hotline.import_yaml`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from hotline.config.loader import parse_site, read_yaml
from hotline.config.site import Label, NumberMode, PhoneNumber, SiteInfo
from hotline.exceptions import ConfigError
from hotline.import_yaml import render

COLUMNS = ("mode", "department", "hotline", "numbers", "note")
REQUIRED = ("mode", "department", "numbers")   # hotline and note may be empty
NUMBER_SEPARATOR = ";"

DEPARTMENT_FIELDS = ("id", "name")                                      # owned by the CSV
NUMBER_FIELDS = ("number", "mode", "department", "hotline", "note")     # owned by the CSV
_phone = TypeAdapter(PhoneNumber)
_label = TypeAdapter(Label)
_MODES = ", ".join(m.value for m in NumberMode)


# --- reading the CSV ------------------------------------------------------------


class _Row:
    __slots__ = ("department", "hotline", "mode", "note", "numbers", "row")

    def __init__(self, row: int, mode: str, department: str, hotline: str | None,
                 numbers: list[str], note: str | None) -> None:
        self.row, self.mode, self.department = row, mode, department
        self.hotline, self.numbers, self.note = hotline, numbers, note


def _where(row: int, column: str) -> str:
    return f"row {row}, column {column}"


def _check_label(value: str, row: int, column: str, problems: list[tuple[str, str, object]]) -> None:
    try:
        _label.validate_python(value)
    except ValidationError:
        problems.append((_where(row, column),
                         "must be 1 to 80 characters without control characters, ';', '[' or ']'", value))


def _read_rows(csv_path: Path) -> list[_Row]:
    source = str(csv_path)
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            try:
                records = list(reader)
            except csv.Error as exc:
                raise ConfigError(source, [(f"line {reader.line_num}", f"not valid CSV: {exc}", None)]) from None
    except FileNotFoundError:
        raise ConfigError(source, [("", "file not found", source)]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [("", "not UTF-8 text: save the CSV as UTF-8",
                                    f"byte {exc.object[exc.start:exc.end]!r} at offset {exc.start}")]) from None
    except OSError as exc:
        raise ConfigError(source, [("", f"cannot read: {exc}", source)]) from None

    if not records or not any(cell.strip() for cell in records[0]):
        raise ConfigError(source, [("row 1", "no header row; expected the columns " + ",".join(COLUMNS),
                                    records[0] if records else None)])
    header = [cell.strip().lower() for cell in records[0]]
    problems: list[tuple[str, str, Any]] = []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        problems.append(("row 1", f"missing column(s) {', '.join(missing)}; the header must name "
                                  + ",".join(COLUMNS), ",".join(records[0])))
    for i, name in enumerate(header):
        if name in COLUMNS and header.index(name) != i:
            problems.append(("row 1", f"column {name} appears twice", ",".join(records[0])))
        elif name not in COLUMNS:
            problems.append(("row 1", f"unknown column {name!r}; the header must name " + ",".join(COLUMNS),
                             records[0][i]))
    if problems:
        raise ConfigError(source, problems)
    index = {name: header.index(name) for name in COLUMNS}

    rows: list[_Row] = []
    for row_no, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(record) > len(header):
            message = (f"{len(record)} cells, but the header has {len(header)} "
                       "(separate numbers with ';', quote cells that hold a comma)")
            problems.append((f"row {row_no}", message, ",".join(record)))
            continue
        cells = {name: (record[i].strip() if i < len(record) else "") for name, i in index.items()}
        row_problems: list[tuple[str, str, Any]] = []
        for column in REQUIRED:
            if not cells[column]:
                row_problems.append((_where(row_no, column), "must not be empty", cells[column]))
        mode = cells["mode"]
        if mode and mode not in {m.value for m in NumberMode}:
            row_problems.append((_where(row_no, "mode"), f"unknown mode; expected one of {_MODES}", mode))
        if cells["department"]:
            _check_label(cells["department"], row_no, "department", row_problems)
        if cells["hotline"]:
            _check_label(cells["hotline"], row_no, "hotline", row_problems)
        numbers: list[str] = []
        if cells["numbers"]:
            for number in (n.strip() for n in cells["numbers"].split(NUMBER_SEPARATOR)):
                try:
                    _phone.validate_python(number)
                except ValidationError:
                    message = ("not a phone number: 3 to 20 digits with an optional leading '+'; "
                               f"separate several numbers with '{NUMBER_SEPARATOR}'")
                    row_problems.append((_where(row_no, "numbers"), message, number))
                else:
                    numbers.append(number)
        if row_problems:
            problems += row_problems
            continue
        rows.append(_Row(row_no, mode, cells["department"], cells["hotline"] or None, numbers,
                         cells["note"] or None))
    if problems:
        raise ConfigError(source, problems)
    if not rows:
        raise ConfigError(source, [("", "no hotline rows below the header", None)])
    return rows


# --- reading the base -----------------------------------------------------------


def _read_base(base: Path) -> tuple[dict[str, Any], str]:
    source = str(base)
    data = read_yaml(base)
    text = base.read_text(encoding="utf-8")  # kept for the comments it holds
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "the site config must be a mapping", type(data).__name__)])
    for key in ("departments", "legacy_numbers"):
        if data.get(key) is None:
            continue
        if not isinstance(data[key], list):
            raise ConfigError(source, [(key, "must be a list", data[key])])
    return data, text


# --- building the sections ------------------------------------------------------


def _department_ids(rows: list[_Row], base_departments: list[Any]) -> dict[str, str]:
    """Department name -> id: the base's id for a name it lists, else the first free dNN."""
    by_name: dict[str, str] = {}
    used: set[str] = set()
    for d in base_departments:
        if isinstance(d, dict) and d.get("id") is not None:
            used.add(str(d["id"]))
            if d.get("name") is not None:
                by_name.setdefault(str(d["name"]).strip(), str(d["id"]))
    ids: dict[str, str] = {}
    n = 0
    for row in rows:
        if row.department in ids:
            continue
        if row.department in by_name:
            ids[row.department] = by_name[row.department]
            continue
        n += 1
        while f"d{n:02d}" in used:
            n += 1
        ids[row.department] = f"d{n:02d}"
        used.add(ids[row.department])
    return ids


def _build(rows: list[_Row], dept_ids: dict[str, str], hotline_number: str,
           warnings: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    departments = [{"id": dept_id, "name": name} for name, dept_id in dept_ids.items()]
    numbers: list[dict[str, Any]] = []
    first: dict[str, _Row] = {}
    platform_rows: list[int] = []
    for row in rows:
        for number in row.numbers:
            if number == hotline_number:
                platform_rows.append(row.row)
                continue
            if number in first:
                kept = first[number]
                warnings.append(
                    f"number {number} is listed twice: row {kept.row} ({kept.department}"
                    f"{', ' + kept.hotline if kept.hotline else ''}) and row {row.row} ({row.department}"
                    f"{', ' + row.hotline if row.hotline else ''}); kept the first ({kept.department})")
                continue
            first[number] = row
            entry: dict[str, Any] = {"number": number, "mode": row.mode, "department": dept_ids[row.department]}
            if row.hotline:
                entry["hotline"] = row.hotline
            if row.note:
                entry["note"] = row.note
            numbers.append(entry)
    if platform_rows:
        rows_text = ("row " if len(platform_rows) == 1 else "rows ") + ", ".join(str(r) for r in platform_rows)
        warnings.append(f"number {hotline_number} ({rows_text}) is the site's hotline number, "
                        "the platform itself: not imported as a legacy number")
    return departments, numbers


def _replace(base_entries: list[Any], imported: list[dict[str, Any]], key: str,
             owned: tuple[str, ...]) -> tuple[list[Any], list[Any]]:
    """Base entries with the imported ones replacing those with the same ``key``; new ones appended.

    Returns (merged, base entries the import did not touch)."""
    new = {str(e[key]): e for e in imported}
    merged: list[Any] = []
    untouched: list[Any] = []
    done: set[str] = set()
    for entry in base_entries:
        k = str(entry.get(key)) if isinstance(entry, dict) and entry.get(key) is not None else None
        if k is None or k not in new or k in done:
            merged.append(entry)
            if k is None or k not in new:
                untouched.append(entry)
            continue
        done.add(k)
        imp = new[k]
        out: dict[str, Any] = {}
        for field, value in entry.items():
            if field in imp:
                out[field] = imp[field]
            elif field not in owned:
                out[field] = value
        for field, value in imp.items():
            out.setdefault(field, value)
        merged.append(out)
    merged += [e for k, e in new.items() if k not in done]
    return merged, untouched


# --- the entry point ------------------------------------------------------------


def import_csv(csv_path: Path, base: Path | None = None) -> tuple[str, list[str]]:
    """Turn the hotline-list CSV into site config YAML; returns (YAML text, warnings).

    Raises :class:`ConfigError` for a bad CSV, a bad base or an invalid merged config."""
    csv_path = Path(csv_path)
    rows = _read_rows(csv_path)
    warnings: list[str] = []

    base_data: dict[str, Any] = {}
    base_text: str | None = None
    if base is not None:
        base = Path(base)
        base_data, base_text = _read_base(base)
    site_section = base_data.get("site")
    hotline_number = str(SiteInfo.model_fields["hotline_number"].default)
    if isinstance(site_section, dict) and site_section.get("hotline_number") is not None:
        hotline_number = str(site_section["hotline_number"]).strip()

    base_departments = list(base_data.get("departments") or [])
    base_numbers = list(base_data.get("legacy_numbers") or [])
    dept_ids = _department_ids(rows, base_departments)
    departments, numbers = _build(rows, dept_ids, hotline_number, warnings)

    if base is not None:
        data = dict(base_data)
        data["departments"], _ = _replace(base_departments, departments, "id", DEPARTMENT_FIELDS)
        data["legacy_numbers"], untouched = _replace(base_numbers, numbers, "number", NUMBER_FIELDS)
        for entry in untouched:
            if isinstance(entry, dict) and entry.get("number") is not None:
                warnings.append(f"legacy number {entry['number']} of {base} is not in {csv_path}: kept as is")
        parse_site(data, f"{base} merged with {csv_path}")
        header = [f"# Site config generated by 'hotline import-csv {csv_path.name} --base {base.name}'.",
                  f"# Do not edit: edit {base.name} (everything but departments and legacy numbers)",
                  f"# or {csv_path.name}, then regenerate. Comments are carried over from {base.name}."]
    else:
        data = {"departments": departments, "legacy_numbers": numbers}
        stub = {"trunks": [{"name": "stub", "host": "127.0.0.1"}], **data}
        parse_site(stub, f"{csv_path} (imported into a default site)")
        header = [f"# Departments and legacy numbers generated by 'hotline import-csv {csv_path.name}'.",
                  "# Merge them into a site config, or regenerate with --base SITE.yaml for a complete one."]
    return render(data, header, base_text, csv_path.name), warnings
