"""The YAML text ``hotline import-csv`` writes (:mod:`hotline.importer`): readable, and true to the data.

The imported ``departments`` and ``legacy_numbers`` get generated comments (how ids were chosen,
the numbers per mode); every other section keeps the base's own text, comments included, when
that text parses to the same value. The result is parsed back and compared with the data: any
difference (an unusual base layout) falls back to a plain dump.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MODE_COMMENTS = {
    "merged": "merged (直接整合): answered by the 12345 seats; calls on a trunk are routed to a queue",
    "parallel": "parallel (并联整合): stays with its department, reached by a three-way call; "
                "calls on a trunk are routed to a queue",
    "convenience": "convenience (便民服务协约单位): referred to; a directory entry, not routed",
    "emergency": "emergency: never merged, seats transfer emergencies to them; a directory entry, not routed",
}

_TOP_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]|$)")


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, default_flow_style=False, width=4096)


def _entry_lines(entry: Any) -> list[str]:
    """One list item, a flow mapping on one line when it only holds scalars."""
    text = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, default_flow_style=None, width=4096)
    return ["  " + line for line in text.rstrip("\n").split("\n")]


def _base_blocks(text: str) -> dict[str, list[str]]:
    """Top-level sections of the base YAML text: key -> its lines (leading comments included).

    Comment lines directly above a top-level key belong to it; lines before the first
    section (the base's own preamble) are dropped. Only used when the result re-parses
    to the same data, so an unusual layout just falls back to a plain dump."""
    lines = text.splitlines()
    starts = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _TOP_KEY.match(line))]
    blocks: dict[str, list[str]] = {}
    bounds: list[tuple[int, int, str]] = []
    for i, key in starts:
        lead = i
        while lead > 0 and lines[lead - 1].startswith("#"):
            lead -= 1
        bounds.append((lead, i, key))
    for n, (lead, _, key) in enumerate(bounds):
        end = bounds[n + 1][0] if n + 1 < len(bounds) else len(lines)
        block = lines[lead:end]
        while block and not block[-1].strip():
            block.pop()
        if key in blocks:  # a duplicate key: leave it to the plain dump
            blocks[key] = []
        else:
            blocks[key] = block
    return blocks


def _section_block(key: str, value: Any, base_blocks: dict[str, list[str]]) -> list[str]:
    """The base's own text for a section (comments included) when it parses to the same value."""
    block = base_blocks.get(key)
    if block:
        start = next(i for i, line in enumerate(block) if _TOP_KEY.match(line))
        try:
            if yaml.safe_load("\n".join(block[start:])) == {key: value}:
                return block
        except yaml.YAMLError:
            pass
    return _dump({key: value}).rstrip("\n").split("\n")


def _departments_block(departments: list[Any], csv_name: str) -> list[str]:
    lines = [f"# {len(departments)} department(s). Ids: the base's id for a department it names,",
             f"# otherwise the first free d01, d02, ... in order of first appearance in {csv_name}."]
    if not departments:
        return lines + ["departments: []"]
    lines.append("departments:")
    for d in departments:
        lines += _entry_lines(d)
    return lines


def _numbers_block(numbers: list[Any], csv_name: str) -> list[str]:
    counts: dict[str, int] = {}
    for n in numbers:
        mode = n.get("mode") if isinstance(n, dict) else None
        counts[str(mode)] = counts.get(str(mode), 0) + 1
    summary = ", ".join(f"{c} {m}" for m, c in counts.items())
    lines = [f"# {len(numbers)} legacy number(s) from {csv_name}" + (f": {summary}." if summary else "."),
             "# The site's own hotline number is not among them; a number listed twice is kept once."]
    if not numbers:
        return lines + ["legacy_numbers: []"]
    lines.append("legacy_numbers:")
    previous = object()
    for n in numbers:
        mode = n.get("mode") if isinstance(n, dict) else None
        if mode != previous and mode in MODE_COMMENTS:
            lines.append(f"  # {MODE_COMMENTS[mode]}")
        previous = mode
        lines += _entry_lines(n)
    return lines


def render(data: dict[str, Any], header: list[str], base_text: str | None, csv_name: str) -> str:
    """``header`` (comment lines), then each section of ``data`` in order."""
    base_blocks = _base_blocks(base_text) if base_text else {}
    parts: list[list[str]] = [header]
    for key, value in data.items():
        if key == "departments":
            parts.append(_departments_block(value, csv_name))
        elif key == "legacy_numbers":
            parts.append(_numbers_block(value, csv_name))
        else:
            parts.append(_section_block(key, value, base_blocks))
    text = "\n\n".join("\n".join(p) for p in parts) + "\n"
    if yaml.safe_load(text) != data:  # never trust the layout over the data
        text = "\n".join(header) + "\n\n" + _dump(data)
    return text
