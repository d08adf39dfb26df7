"""A voice message (issue #3) becomes exactly one open work order linked to its call, on both
backends (the ``store`` fixture is SQLite and PostgreSQL), however often the record is written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hotline.records.call import CallRecord, Outcome
from hotline.store import Store

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def message_record(call_id: str = "1795444539.0", outcome: Outcome = Outcome.voice_message) -> CallRecord:
    return CallRecord(call_id=call_id, dialled_number="12345", caller_number="13800001111", arrived_at=T0,
                      queue="night", queued_at=T0, ended_at=T0, wait_seconds=0.0, outcome=outcome,
                      recording=f"{call_id}-message.wav" if outcome == Outcome.voice_message else None,
                      extra={"fallback": {"action": "message", "reason": "no_seat", "queue": "night"}})


def test_one_work_order_per_voice_message_even_when_replayed(store: Store) -> None:
    record = message_record()
    for _ in range(3):   # the live path, a journal replay, the reconciler
        store.upsert_call(record)
    orders = store.work_orders_for_call(record.call_id)
    assert len(orders) == 1
    order = orders[0]
    assert order["status"] == "open" and order["category"] == "consult" and order["created_by"] == "system"
    assert order["call_ids"] == [record.call_id]
    assert "录音：1795444539.0-message.wav" in order["description"]
    assert store.get_call(record.call_id).recording == "1795444539.0-message.wav"


def test_other_outcomes_file_nothing(store: Store) -> None:
    for i, outcome in enumerate((Outcome.callback_requested, Outcome.abandoned_in_queue, Outcome.failed)):
        record = message_record(call_id=f"1795444539.{i + 1}", outcome=outcome)
        store.upsert_call(record)
        assert store.work_orders_for_call(record.call_id) == []


def test_a_seat_order_on_the_same_call_does_not_stop_the_voice_message_order(store: Store) -> None:
    record = replace(message_record(), outcome=Outcome.abandoned_in_queue, recording=None)
    store.upsert_call(record)
    store.create_work_order(call_ids=[record.call_id], title="回访", description="回访来电", category="help",
                            created_by="1001")
    store.upsert_call(message_record())   # the complete record arrives later
    assert [o["created_by"] for o in store.work_orders_for_call(record.call_id)] == ["1001", "system"]
