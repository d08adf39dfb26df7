"""The work order filed for a voice message (issue #3: a queue's ``message`` fallback). Pure.

The caller could not reach a seat and left a message; the platform files an ``open`` work order
about the call, so a seat listens to it and follows up. The recording is linked through the call
record (``recording``: ``<call_id>-message.wav``) and named in the description.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.records.call import CallRecord, Outcome
from hotline.records.work_order import Category

CREATED_BY = "system"        # not a seat: the platform filed it
_REASONS = {"timeout": "等待超时", "no_seat": "无坐席在线"}


@dataclass(frozen=True)
class VoiceMessageOrder:
    title: str
    description: str
    category: Category
    created_by: str


def voice_message_order(record: CallRecord) -> VoiceMessageOrder | None:
    """The work order for ``record``, or None when the call left no voice message."""
    if record.outcome != Outcome.voice_message or not record.recording:
        return None
    fallback = record.extra.get("fallback")
    reason = fallback.get("reason") if isinstance(fallback, dict) else None
    why = _REASONS.get(str(reason), "坐席繁忙")
    queue = record.queue or "-"
    return VoiceMessageOrder(
        title=f"语音留言：{record.caller_number}",
        description=(f"来电 {record.caller_number} 拨打 {record.dialled_number}，在队列 {queue} {why}，"
                     f"留下语音留言。录音：{record.recording}"),
        category=Category.consult,
        created_by=CREATED_BY,
    )
