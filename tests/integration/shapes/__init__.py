"""The catalogue of call shapes (issue 15): each row drives real SIP calls on the rig and says, per
call, its expected record and its hand-computed effect on every KPI. To add a shape, add a row to
a group module's ``SHAPES`` (and the README table: ``python -m integration.shapes.table`` from
``tests/`` prints it). tests/integration/test_shapes.py runs every row."""

from __future__ import annotations

from . import basic, callbacks, control, faults, midnight, numbers, queueing
from .model import Shape

SHAPES: list[Shape] = [*basic.SHAPES, *queueing.SHAPES, *numbers.SHAPES, *control.SHAPES, *callbacks.SHAPES,
                      *faults.SHAPES, *midnight.SHAPES]
