"""Issue #9: the controller's AMI user holds no 'system' write class, so its secret is not a shell:
Asterisk refuses an Originate that would run System, AGI or MixMonitor and a Setvar of SHELL()."""

from __future__ import annotations

import socket

import pytest

from .rig import AMI_PORT, Stack


def _ami(stack: Stack, *actions: dict[str, str]) -> list[dict[str, str]]:
    """Log in as the controller's AMI user and send ``actions``; the first response to each."""
    site_user = "hotline"
    with socket.create_connection(("127.0.0.1", AMI_PORT), timeout=10) as s:
        f = s.makefile("rwb")
        f.readline()   # the banner

        def send(fields: dict[str, str]) -> dict[str, str]:
            f.write(b"".join(f"{k}: {v}\r\n".encode() for k, v in fields.items()) + b"\r\n")
            f.flush()
            while True:
                msg: dict[str, str] = {}
                for raw in iter(f.readline, b"\r\n"):
                    if not raw:
                        raise ConnectionError("AMI closed the connection")
                    k, _, v = raw.decode().rstrip("\r\n").partition(": ")
                    msg[k] = v
                if msg.get("ActionID") == fields["ActionID"] and "Response" in msg:
                    return msg

        login = send({"Action": "Login", "Username": site_user, "Secret": stack.paths.ami_secret(),
                      "Events": "off", "ActionID": "login"})
        assert login["Response"] == "Success", login
        return [send({**a, "ActionID": f"a{i}"}) for i, a in enumerate(actions)]


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
