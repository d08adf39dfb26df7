"""The whole suite's reporting: a failure is printed the moment it happens (test, phase, the end
of its report), so a run cut short (CI's time limit) still shows why each test failed. Each test
also has a time limit (``timeout`` in setup.cfg, pytest-timeout): a test that hangs fails alone."""

from __future__ import annotations

import pytest

_TAIL = 4000   # characters of the report printed at once; the full one comes in the summary


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.failed:
        return
    terminal = _terminal
    if terminal is None:
        return
    terminal.write_line("")
    terminal.write_sep("!", f"FAILED {report.nodeid} ({report.when})")
    terminal.write_line(report.longreprtext[-_TAIL:])
    terminal.write_sep("!")


_terminal: pytest.TerminalReporter | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _terminal
    _terminal = session.config.pluginmanager.get_plugin("terminalreporter")
