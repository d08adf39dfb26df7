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
_FILE = re.compile(r"^[a-z0-9]{1,16}$")


@dataclass(frozen=True)
class Prompt:
    name: str      # file name without extension; HOTLINE_PROMPT in the dialplan
    text: str      # what is said, in Mandarin (digits are read one by one, see ivr.render)
    purpose: str   # when it is played, for people reading the config
    file: str | None = None   # the file name when Asterisk asks for another one (digits/1: "1")

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"prompt name {self.name!r} must be ascii kebab-case (it is a file name)")
        if self.file is not None and not _FILE.match(self.file):
            raise ValueError(f"prompt file {self.file!r} must be ascii letters and digits")
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

# Queue announcements (issue #3). app_queue plays these (queues.conf names them by absolute path)
# around a number it says with say.c in the channel's language, zh: "您现在排在第" N "位",
# "预计等待约" N "分钟". app_queue's position counts the caller (1 = first in line), so the
# text says the caller's place, not how many are ahead.
QUEUE_PROMPTS = (
    Prompt("queue-youarenext", "您已排在第一位，请稍候。", "queue: the caller is first in line"),
    Prompt("queue-thereare", "您现在排在第", "queue: before the caller's position (a number follows)"),
    Prompt("queue-callswaiting", "位。", "queue: after the caller's position"),
    Prompt("queue-holdtime", "预计等待约", "queue: before the estimated wait (a number follows)"),
    Prompt("queue-minutes", "分钟。", "queue: after the estimated wait in minutes"),
    Prompt("queue-minute", "分钟。", "queue: after an estimated wait of one minute"),
    Prompt("queue-seconds", "秒。", "queue: after seconds of the estimated wait"),
    Prompt("queue-thankyou", "感谢您的耐心等待，请不要挂机。", "queue: ends every announcement"),
)

# The queue's fallback (issue #3): at max_wait, or when no seat can take calls (no_seat: fallback).
FALLBACK_PROMPTS = (
    Prompt("callback-offer", "当前坐席繁忙，如需稍后回电请按1，继续等待请不要挂机。",
           "fallback callback: one key, a short timeout; no key: the caller waits on"),
    Prompt("callback-confirmed", "已为您登记回电，我们会尽快给您回电，再见。",
           "fallback callback: the request is recorded, the call ends"),
    Prompt("callback-unavailable", "您的号码无法回电，请继续等待。",
           "fallback callback: a withheld number cannot be called back, the caller waits on"),
    Prompt("message-prompt", "当前坐席繁忙，请在听到本提示后留言，说完请挂机。",
           "fallback message: before the voice message is recorded"),
    Prompt("message-saved", "您的留言已记录，我们会尽快处理，再见。",
           "fallback message: the recording ended by silence"),
)

# Queue callback (issue #3): the caller pressed the callback key while waiting.
CALLBACK_PROMPTS = (
    Prompt("callback-confirm", "已为您登记回拨，您的排队位置将为您保留，请挂机等候，轮到您时我们将回拨您的电话。",
           "queue callback: the key was pressed, the place is kept; the call ends after it"),
)

# 回访 calls (issue 12): the survey a caller hears when the platform calls back about an order.
# The order's number is said between the intro and the menu with SayDigits (the zh digit files).
REVISIT_PROMPTS = (
    Prompt("revisit-intro", "您好，这里是12345政务服务便民热线。您反映的问题已办理并答复，工单号是",
           "回访: the caller answered; the order's number follows, digit by digit"),
    Prompt("revisit-menu", "满意请按1，基本满意请按2，不满意请按3，转人工服务请按0。",
           "回访: the menu, one key"),
    Prompt("revisit-invalid", "您的按键无效，请重新选择。", "回访: a key other than 0-3, or none: asked once more"),
    Prompt("revisit-thanks", "感谢您的评价，再见。", "回访: a rating was pressed; the call ends"),
    Prompt("revisit-no-rating", "未收到有效评价，感谢您的接听，再见。",
           "回访: no valid key after being asked twice; the call ends (no rating)"),
    Prompt("revisit-to-seat", "正在为您转接人工服务，请稍候。", "回访: 0 pressed, before the queue"),
)

# Duty-phone dial tests (issue 12): what a unit's duty phone hears when it answers a probe.
DUTY_PROBE_PROMPTS = (
    Prompt("duty-probe-notice", "测试来电。这里是12345政务服务便民热线，正在测试值班电话是否畅通，无需操作，再见。",
           "duty-phone test: the duty phone answered; the call ends after it"),
)

PROMPTS: MappingProxyType[str, Prompt] = MappingProxyType(
    {p.name: p for p in (MERGED_NOTICE, WITHDRAWN_NOTICE, *SEAT_PROMPTS, REMOTE_CONFIRM, *QUEUE_PROMPTS,
                         *FALLBACK_PROMPTS, *CALLBACK_PROMPTS, *REVISIT_PROMPTS,
                         *DUTY_PROBE_PROMPTS)})
"""Every prompt the platform may play from its sounds directory, by name."""

# Numbers as Asterisk's say.c says them for a channel in language zh (ast_say_number_full_zh):
# digits/0-9, the tens digits/10..90 (21 is digits/20 then digits/1), digits/hundred, thousand,
# wan (万), yi (亿) and minus. They live in <astdatadir>/sounds/zh/digits (see Runtime.deploy).
_DIGIT_TEXT = {
    "0": "零", "1": "一", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六", "7": "七", "8": "八",
    "9": "九", "10": "十", "20": "二十", "30": "三十", "40": "四十", "50": "五十", "60": "六十",
    "70": "七十", "80": "八十", "90": "九十", "hundred": "百", "thousand": "千", "wan": "万",
    "yi": "亿", "minus": "负",
}
DIGIT_PROMPTS: tuple[Prompt, ...] = tuple(
    Prompt(f"digit-{key}", text, f"say.c zh: digits/{key}", file=key) for key, text in _DIGIT_TEXT.items())
"""The files of ``digits/`` for language zh, rendered into ``<sounds>/zh/digits``."""
