"""Session fixture: one real Asterisk + controller + seat phones for the integration tests."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from .rig import SESSION_STACKS, Stack, build_stack, have_tools


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    why = have_tools()
    if why:
        pytest.skip(why)
    workdir = Path(tempfile.mkdtemp(prefix="hotline-it-"))
    s = build_stack(workdir)
    SESSION_STACKS.append(s)
    try:
        s.start_controller()
        s.start_seats()
        yield s
    finally:
        SESSION_STACKS.remove(s)
        s.close()
        if not _failed:
            shutil.rmtree(workdir, ignore_errors=True)
            # The Asterisk instance of this session's state dir (recordings, logs, spool) lives in
            # the shared Asterisk root, named after the state dir: one per session, never reused.
            shutil.rmtree(s.runtime.host_path(s.runtime.instance), ignore_errors=True)
        else:
            print(f"\nintegration work directory kept for inspection: {workdir}")


_failed = False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    global _failed
    outcome = yield
    if outcome.get_result().failed:
        _failed = True
