"""The catalogue of call shapes (issue 15): each row drives real SIP calls on the rig and says, per
call, its expected record and its hand-computed effect on every KPI.

To add a shape: write its ``drive(stack, ctx)`` in the group module it belongs to (or a new one,
added below), returning one ``Expect`` per conversation (``model.py``: the record's fields, timing
ranges, legs, and an ``Effect`` preset written by hand), add its ``Shape`` row to that module's
``SHAPES``, and regenerate the README table: ``python -m integration.shapes.table --write`` from
``tests/`` (tests/unit/test_shapes_table.py fails until README and catalogue agree). A shape that
needs more than the session's rig names a set-up (``needs``: a fixture of
tests/integration/test_shapes.py: ``dept_phones``, ``control``, ``callback``, ``midnight``: the site's clocks); a
shape that shows a bug not fixed yet carries ``known_bug`` (an expected failure on exactly those
mismatches). Callers are numbered by the row's place in the catalogue (``Ctx.caller``).
tests/integration/test_shapes.py runs every row, each in its own window."""

from __future__ import annotations

from . import basic, callbacks, control, faults, midnight, numbers, queueing, rolling
from .model import Shape

SHAPES: list[Shape] = [*basic.SHAPES, *queueing.SHAPES, *numbers.SHAPES, *control.SHAPES, *callbacks.SHAPES,
                      *faults.SHAPES, *midnight.SHAPES, *rolling.SHAPES]
