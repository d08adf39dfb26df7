"""Issue #9: the controller's AMI user holds no 'system' write class, so its secret is not a shell:
Asterisk refuses an Originate that would run System, AGI or MixMonitor and a Setvar of SHELL()."""

from __future__ import annotations

import pytest

from .rig import Stack


def _ami(stack: Stack, *actions: dict[str, str]) -> list[dict[str, str]]:
    return stack.ami(*actions)


@pytest.mark.parametrize(("app", "data"), [
    ("System", "touch /tmp/hotline-ami-pwned"),
    ("AGI", "agi://127.0.0.1:1/pwned"),
    ("MixMonitor", "/tmp/x.wav,,touch /tmp/hotline-ami-pwned"),
])
def test_originate_running_a_program_is_refused(stack: Stack, app: str, data: str) -> None:
    (resp,) = _ami(stack, {"Action": "Originate", "Channel": "Local/s@hotline-arrive", "Application": app,
                           "Data": data, "Async": "true"})
    # Asterisk 22: "Originate Access Forbidden: app or data blacklisted" (older: "...requires the
    # additional System privilege"); with write=system the same action is queued and runs.
    assert resp["Response"] == "Error" and ("Forbidden" in resp.get("Message", "")
                                            or "System privilege" in resp.get("Message", "")), resp


def test_shell_functions_are_refused_and_the_controllers_actions_work(stack: Stack) -> None:
    setvar, status = _ami(stack, {"Action": "Setvar", "Variable": "GLOBAL_X", "Value": "${SHELL(id)}"},
                          {"Action": "QueueSummary", "Queue": "hotline"})
    # Setvar of a global evaluates nothing; what matters is that SHELL/EVAL through Getvar is refused:
    (getvar,) = _ami(stack, {"Action": "Getvar", "Variable": "SHELL(id)"})
    assert getvar["Response"] == "Error", getvar
    assert status["Response"] == "Success", status
    assert setvar["Response"] in ("Success", "Error")   # either way no program ran:
    assert "uid=" not in str(setvar)
