"""README's "Call shapes and how they count" table is the catalogue's (tests/integration/shapes/)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from integration.shapes import SHAPES  # noqa: E402
from integration.shapes.table import HEADER, table  # noqa: E402

HEADING = "### Call shapes and how they count"


def readme_table() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert HEADING in text, f"README has no {HEADING!r} section"
    after = text.split(HEADING, 1)[1]
    start = after.index(HEADER.splitlines()[0])
    lines = []
    for line in after[start:].splitlines():
        if not line.startswith("|"):
            break
        lines.append(line)
    return "\n".join(lines)


def test_the_readme_table_is_the_catalogue() -> None:
    assert readme_table() == table(), (
        "README's call-shape table differs from the catalogue; print the catalogue's with "
        "`python -m integration.shapes.table` (run from tests/) and paste it")


def test_shape_names_are_unique_slugs_with_text() -> None:
    names = [s.name for s in SHAPES]
    assert len(set(names)) == len(names)
    for shape in SHAPES:
        assert shape.name.replace("-", "").isalnum() and shape.name == shape.name.lower(), shape.name
        assert shape.description and shape.counts and "|" not in shape.description + shape.counts, shape.name
