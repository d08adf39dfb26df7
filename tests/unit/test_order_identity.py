"""Identity protection for member units: confidential orders show no identity, others a masked
number unless the site allows full numbers (then the read is to be audited)."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.privacy import Viewer, sees_full
from hotline.work_orders.identity import for_unit

UNIT = Viewer("renshe1", "unit")
ORDER: dict[str, Any] = {"id": "WO-20261201-000001", "title": "欠薪", "call_ids": ["1700000000.1"]}


@pytest.mark.parametrize(("confidential", "allowed", "number", "full"), [
    (True, False, None, False),
    (True, True, None, False),               # confidential: nothing, whatever the site allows
    (False, False, "138****8000", False),    # masked
    (False, True, "13800138000", True),      # full, to be audited
])
def test_what_a_unit_sees(confidential: bool, allowed: bool, number: str | None, full: bool) -> None:
    seen, shown_full = for_unit({**ORDER, "caller_confidential": confidential}, UNIT,
                                caller_number="13800138000", units_see_numbers=allowed)
    assert "call_ids" not in seen
    assert seen.get("caller_number") == number and shown_full is full
    assert seen["title"] == "欠薪"


def test_an_order_without_the_flag_counts_as_confidential() -> None:
    seen, full = for_unit(ORDER, UNIT, caller_number="13800138000", units_see_numbers=True)
    assert "caller_number" not in seen and not full


def test_the_privacy_rule_for_units() -> None:
    assert not sees_full(UNIT, handled_by=["1001"], confidential=False)
    assert sees_full(UNIT, handled_by=[], confidential=False, units_see_numbers=True)
    assert not sees_full(UNIT, handled_by=[], confidential=True, units_see_numbers=True)
    # a department still never sees one, whatever the site allows units
    assert not sees_full(Viewer("d", "department"), handled_by=[], confidential=False, units_see_numbers=True)
