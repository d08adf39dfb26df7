"""The JSON form of a call record used by the journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hotline.records.call import CallRecord, Outcome
from hotline.store.codec import record_from_json, record_to_json

CST = timezone(timedelta(hours=8))
MINIMAL = CallRecord(call_id="1.1", dialled_number="12345", caller_number="138",
                     arrived_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
FULL = CallRecord(
    call_id="pbx1-1.2", dialled_number="96196", caller_number="+86138", legacy_mode="parallel",
    department="housing", trunk="cu", queue="q", seat="1001",
    arrived_at=datetime(2026, 11, 23, 9, 0, 0, 1000, tzinfo=CST),
    queued_at=datetime(2026, 11, 23, 9, 0, 1, tzinfo=CST), answered_at=datetime(2026, 11, 23, 9, 0, 2, tzinfo=CST),
    ended_at=datetime(2026, 11, 23, 9, 1, 2, tzinfo=CST), wait_seconds=1.25, talk_seconds=60.0,
    outcome=Outcome.abandoned_in_queue, hangup_cause=17, hangup_cause_text="User busy",
    recording="pbx1-1.2.wav", source="cel-reconcile", extra={"note": "第一行\n第二行", "n": [1, 2.5, None]},
)


@pytest.mark.parametrize("record", [MINIMAL, FULL], ids=["minimal", "full"])
def test_round_trip_is_exact_and_one_line(record: CallRecord) -> None:
    line = record_to_json(record)
    assert "\n" not in line
    back = record_from_json(line.encode())
    assert back == record
    assert back.arrived_at.utcoffset() == record.arrived_at.utcoffset()  # the offset is kept too
    assert "第一行" in record_to_json(FULL)  # readable, not \u-escaped


@pytest.mark.parametrize(("text", "message"), [
    ('["1.1"]', "must be a JSON object"),
    ('{"call_id": "1.1", "colour": "red"}', "unknown call record field"),
    ('{"call_id": "1.1", "dialled_number": "1", "caller_number": "2", "arrived_at": "2026-11-23T09:00:00"}',
     "has no UTC offset"),
    ('{"call_id": "1.1", "dialled_number": "1", "caller_number": "2", '
     '"arrived_at": "2026-11-23T09:00:00+08:00", "outcome": "lost"}', "is not a valid Outcome"),
    ('{"call_id": "1.1", "arrived_at": "2026-11-23T09:00:00+08:00"}', "missing 2 required"),
    ('{"call_id": "1.1", "arrived_at": "yesterday"}', "Invalid isoformat"),
    ('{"call_id": ', "Expecting value"),
])
def test_anything_else_is_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        record_from_json(text)
