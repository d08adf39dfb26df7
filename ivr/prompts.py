"""The prompts callers hear, as data: a name (what the dialplan plays) and a Mandarin text.

The 12345 hotline puts no menu in front of its seats (GB/T 33358-2016): these are notices,
played once before the caller is queued or, for a withdrawn number, instead of the queue.
A name is a file name in the sounds directory (``<name>.wav``), so it is ascii kebab-case.
The dialplan (``trunk_config/dialplan.py``) sets ``HOTLINE_PROMPT`` to one of these names.

Add a prompt by adding an entry to :data:`PROMPTS`; ``hotline config generate`` renders it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Prompt:
    name: str      # file name without extension; HOTLINE_PROMPT in the dialplan
    text: str      # what is said, in Mandarin (digits are read one by one, see ivr.render)
    purpose: str   # when it is played, for people reading the config

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"prompt name {self.name!r} must be ascii kebab-case (it is a file name)")
        if not self.text.strip() or any(ord(c) < 0x20 for c in self.text):
            raise ValueError(f"prompt {self.name!r}: empty text or control characters")


MERGED_NOTICE = Prompt(
    name="merged-notice",
    text="您拨打的号码已并入12345政务服务便民热线，正在为您转接，请稍候。",
    purpose="a merged department number inside its transition window (双号并存), before the queue",
)

WITHDRAWN_NOTICE = Prompt(
    name="withdrawn-notice",
    text="您拨打的号码已停止使用，相关服务请拨打12345政务服务便民热线。",
    purpose="a merged number after its transition: then the call is connected to 12345 "
            "(notice_then_hotline) or ends (notice_then_end)",
)

# Seats: what a seat hears after a feature code (login, logout, pause, unpause) on its phone.
SEAT_PROMPTS = (
    Prompt("seat-logged-in", "已签入，开始接听来电。", "feature code: login done"),
    Prompt("seat-logged-out", "已签出。", "feature code: logout done"),
    Prompt("seat-paused", "已置忙。", "feature code: pause done"),
    Prompt("seat-unpaused", "已置闲，开始接听来电。", "feature code: unpause done"),
    Prompt("seat-already-in", "您已经签入。", "feature code: login while logged in (no change)"),
    Prompt("seat-not-in", "您尚未签入。", "feature code: logout, pause or unpause while logged out (no change)"),
    Prompt("seat-bad-reason", "置忙原因无效。", "feature code: pause with a reason digit that is not configured"),
    Prompt("seat-failed", "操作失败，请联系班长。", "feature code: Asterisk refused the change"),
)

# A seat reached on an outside number (a county seat's mobile): it must accept each call, so a
# voicemail box never takes a caller.
REMOTE_CONFIRM = Prompt(
    name="remote-confirm",
    text="12345热线来电，接听请按1。",
    purpose="a seat on an external number answers: pressing 1 connects the caller, anything else declines",
)

# Queue callback (issue #3): the caller pressed the callback key while waiting.
CALLBACK_PROMPTS = (
    Prompt("callback-confirm", "已为您登记回拨，您的排队位置将为您保留，请挂机等候，轮到您时我们将回拨您的电话。",
           "queue callback: the key was pressed, the place is kept; the call ends after it"),
    Prompt("callback-unavailable", "您的号码无法回拨，请继续等候。",
           "queue callback: the key was pressed but the caller's number cannot be dialled; back in the queue"),
)

PROMPTS: MappingProxyType[str, Prompt] = MappingProxyType(
    {p.name: p for p in (MERGED_NOTICE, WITHDRAWN_NOTICE, *SEAT_PROMPTS, REMOTE_CONFIRM, *CALLBACK_PROMPTS)})
"""Every prompt the platform may play, by name."""
