"""README's "Call shapes and how they count" table, generated from the catalogue.

``python -m integration.shapes.table`` (from ``tests/``) prints it, ``… --write`` puts it in the
README; tests/unit/test_shapes_table.py fails when README and catalogue disagree."""

from __future__ import annotations

import sys
from pathlib import Path

from . import SHAPES
from .model import Shape

HEADER = "| shape | group | what happens | how it counts |\n| --- | --- | --- | --- |"


def row(shape: Shape) -> str:
    counts = shape.counts
    if shape.reconciled:
        counts += " Reconciled by " + ", ".join(f"`{r}`" for r in shape.reconciled) + "."
    if shape.known_bug:
        counts += f" **Known bug**: {shape.known_bug[0]}"
    return f"| `{shape.name}` | {shape.group} | {shape.description} | {counts} |"


def table(shapes: list[Shape] = SHAPES) -> str:
    return "\n".join([HEADER, *(row(s) for s in shapes)])


README = Path(__file__).resolve().parents[3] / "README.md"


def write_readme(readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    start = text.index(HEADER)
    end = text.index("\n\n", start)
    readme.write_text(text[:start] + table() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_readme()
    else:
        print(table())
