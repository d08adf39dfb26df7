"""Named AMI action builders: every action the controller sends is built here.

Values pass :func:`_v`, which refuses CR/LF so no value can add a header."""

from __future__ import annotations

import re
from typing import Mapping

_VAR_NAME = re.compile(r"^_{0,2}[A-Za-z][A-Za-z0-9_]*$")
# Asterisk splits an Originate ``Variable`` header with its dialplan argument parser: a comma
# starts a new variable, quotes and backslashes are consumed, parentheses stop the splitting.
_VAR_VALUE_FORBIDDEN = frozenset(',"\\()')


def _v(value: object) -> str:
    s = str(value)
    if "\r" in s or "\n" in s:
        raise ValueError(f"AMI action values must not contain line breaks: {s!r}")
    return s


def _variable(name: object, value: object) -> str:
    n, v = _v(name), _v(value)
    if not _VAR_NAME.match(n):
        raise ValueError(f"not a channel variable name: {n!r}")
    if _VAR_VALUE_FORBIDDEN.intersection(v):
        raise ValueError(f"an Originate variable value must not contain any of , \" \\ ( ): {v!r}")
    return f"{n}={v}"


def _action(name: str, **fields: object) -> dict[str, str]:
    out = {"Action": name}
    out.update({k: _v(v) for k, v in fields.items() if v is not None})
    return out


def ping() -> dict[str, str]:
    return _action("Ping")


def core_show_channels() -> dict[str, str]:
    return _action("CoreShowChannels")


def queue_status(queue: str | None = None) -> dict[str, str]:
    return _action("QueueStatus", Queue=queue)


def queue_summary(queue: str | None = None) -> dict[str, str]:
    return _action("QueueSummary", Queue=queue)


def hangup(channel: str, cause: int = 16) -> dict[str, str]:
    return _action("Hangup", Channel=channel, Cause=cause)


def originate(channel: str, *, context: str, exten: str, priority: int = 1, caller_id: str | None = None,
              timeout_ms: int = 30000, variables: Mapping[str, str] | None = None,
              async_: bool = True) -> dict[str, str]:
    action = _action("Originate", Channel=channel, Context=context, Exten=exten, Priority=priority,
                     CallerID=caller_id, Timeout=timeout_ms, Async="true" if async_ else "false")
    if variables:
        action["Variable"] = ",".join(_variable(k, v) for k, v in variables.items())
    return action


def queue_pause(interface: str, paused: bool, queue: str | None = None, reason: str | None = None) -> dict[str, str]:
    return _action("QueuePause", Interface=interface, Paused="true" if paused else "false",
                   Queue=queue, Reason=reason)


def queue_add(queue: str, interface: str, *, penalty: int = 0, member_name: str | None = None,
              state_interface: str | None = None, paused: bool = False) -> dict[str, str]:
    return _action("QueueAdd", Queue=queue, Interface=interface, Penalty=penalty, MemberName=member_name,
                   StateInterface=state_interface, Paused="true" if paused else "false")


def queue_remove(queue: str, interface: str) -> dict[str, str]:
    return _action("QueueRemove", Queue=queue, Interface=interface)


def command(cli: str) -> dict[str, str]:
    return _action("Command", Command=cli)
