"""extensions.conf, the seats' side: what seat phones may dial, their feature codes, and seats
on an outside number (Local channel members of the queues)."""

from __future__ import annotations

from hotline.config.site import SiteConfig
from hotline.spine import marks as m
from hotline.spine.plan import REMOTE_SEAT_CONTEXT, trunk_endpoint
from queue_manager.membership import member_interface, memberships, state_interface

from .ctx import Ctx
from .pjsip import SEAT_CONTEXT

SEAT_FC = "hotline-seatfc"
REMOTE_SEAT = REMOTE_SEAT_CONTEXT
REMOTE_CONFIRM = "hotline-remote-confirm"
REMOTE_HANGUP = "hotline-remote-hangup"


def render(lines: list[str], site: SiteConfig) -> None:
    seats = Ctx(lines, SEAT_CONTEXT, "seat phones: other seats by number, feature codes, anything else is refused")
    for seat in site.seats:
        seats.exten(seat.id, f"Dial(PJSIP/{seat.id},30)", "Hangup()")
    _feature_codes(lines, seats, site)
    _remote_seats(lines, site)


def _feature_codes(lines: list[str], seats: Ctx, site: SiteConfig) -> None:
    """Login, logout, pause (with the reason's digit) and unpause from the seat's own phone.

    Each seat has its own small context with its memberships, so the phone's endpoint alone
    says who dialled. Asterisk applies the change (the controller follows its queue events),
    so feature codes work while the controller is down."""
    fc = site.seat_rules.feature_codes
    me = f"{SEAT_FC}-${{FILTER(0123456789,${{CHANNEL(endpoint)}})}}"
    seats.exten(fc.login, f"Goto({me},login,1)")
    seats.exten(fc.logout, f"Goto({me},logout,1)")
    seats.exten(fc.unpause, f"Goto({me},unpause,1)")
    for digit, reason in enumerate(site.seat_rules.pause_reasons, start=1):
        seats.exten(f"{fc.pause}{digit}", f"Set(REASON={reason.code})", f"Goto({me},pause,1)")
    seats.exten(f"_{fc.pause}X", "Answer()", "Playback(${HOTLINE_SOUNDS}/seat-bad-reason)", "Hangup()")
    seats.exten("i", "Hangup(1)")
    for seat in site.seats:
        iface, state = member_interface(seat), state_interface(seat)
        ctx = Ctx(lines, f"{SEAT_FC}-{seat.id}", f"feature codes of seat {seat.id}")
        login = ["Answer()", "Set(DONE=0)"]
        if seat.external_number:
            login.append(f"Set(DEVICE_STATE({state})=NOT_INUSE)")
        for ms in memberships(site, seat):
            login += [f"AddQueueMember({ms.queue},{iface},{ms.penalty},,{seat.id},{state})",
                      "ExecIf($[\"${AQMSTATUS}\" = \"ADDED\"]?Set(DONE=1))"]
        ctx.exten("login", *login, "Playback(${HOTLINE_SOUNDS}/${IF($[${DONE}]?seat-logged-in:seat-already-in)})",
                  "Hangup()")
        logout = ["Answer()", "Set(DONE=0)"]
        for ms in memberships(site, seat):
            logout += [f"RemoveQueueMember({ms.queue},{iface})",
                       "ExecIf($[\"${RQMSTATUS}\" = \"REMOVED\"]?Set(DONE=1))"]
        ctx.exten("logout", *logout, "Playback(${HOTLINE_SOUNDS}/${IF($[${DONE}]?seat-logged-out:seat-not-in)})",
                  "Hangup()")
        ctx.exten("pause", "Answer()", f"PauseQueueMember(,{iface},,${{REASON}})",
                  "Playback(${HOTLINE_SOUNDS}/${IF($[\"${PQMSTATUS}\" = \"PAUSED\"]?seat-paused:seat-not-in)})",
                  "Hangup()")
        ctx.exten("unpause", "Answer()", f"UnpauseQueueMember(,{iface})",
                  "Playback(${HOTLINE_SOUNDS}/${IF($[\"${UPQMSTATUS}\" = \"UNPAUSED\"]?seat-unpaused:seat-not-in)})",
                  "Hangup()")


def _remote_seats(lines: list[str], site: SiteConfig) -> None:
    """Seats on an outside number: the queue dials a Local channel that calls the number through
    the trunk; the seat must press 1 before the caller is connected (a voicemail box never takes
    a caller: anything else declines and the queue tries the next seat)."""
    remote = [s for s in site.seats if s.external_number]
    if not remote:
        return
    ring = site.seat_rules.remote_ring_timeout
    ctx = Ctx(lines, REMOTE_SEAT, "seats on an external number (Local channel members of the queues)")
    for seat in remote:
        trunk = trunk_endpoint(seat.trunk or site.trunks[0].name)
        state = state_interface(seat)
        ctx.exten(seat.id, f"Set(DEVICE_STATE({state})=RINGING)",
                  f"Set(CHANNEL(hangup_handler_push)={REMOTE_HANGUP},s,1({seat.id}))",
                  f"Dial(PJSIP/{seat.external_number}@{trunk},{ring},U({REMOTE_CONFIRM}^s^1^{seat.id}))",
                  "Hangup()")
    ctx.exten("i", "Hangup(1)")
    Ctx(lines, REMOTE_CONFIRM, "run on the seat's answered leg: press 1 to take the call").exten(
        "s", "Read(KEY,${HOTLINE_SOUNDS}/remote-confirm,1,,2,5)",
        "GotoIf($[\"${KEY}\" = \"1\"]?accept)",
        m.REMOTE_DECLINED.write(m.Seat("${ARG1}")),
        "Set(GOSUB_RESULT=CONTINUE)", "Return()",
        "(accept)Set(DEVICE_STATE(Custom:seat${ARG1})=INUSE)",
        m.REMOTE_ACCEPTED.write(m.Seat("${ARG1}")), "Return()")
    Ctx(lines, REMOTE_HANGUP, "the Local leg of an external seat ends: the seat is free again").exten(
        "s", "Set(DEVICE_STATE(Custom:seat${ARG1})=NOT_INUSE)", "Return()")
