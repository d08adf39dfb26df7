"""README's "Call shapes and how they count" table, generated from the catalogue.

``python -m integration.shapes.table`` (from ``tests/``) prints it; tests/unit/test_shapes_table.py
fails when README and catalogue disagree."""

from __future__ import annotations

from . import SHAPES
from .model import Shape

HEADER = "| shape | group | what happens | how it counts |\n| --- | --- | --- | --- |"


def row(shape: Shape) -> str:
    counts = shape.counts + (f" (expected to fail: {shape.xfail})" if shape.xfail else "")
    return f"| `{shape.name}` | {shape.group} | {shape.description} | {counts} |"


def table(shapes: list[Shape] = SHAPES) -> str:
    return "\n".join([HEADER, *(row(s) for s in shapes)])


if __name__ == "__main__":
    print(table())
