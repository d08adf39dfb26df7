"""The classic pyst2 diagnostic script, run as Asterisk runs it: a process fed on stdin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_diag_verboses_the_env_and_sets_hotline_diag() -> None:
    env = (b"agi_request: diag.py\n"
           b'agi_callerid: 123"\\ x\n'
           b"agi_calleridname: \xff\xfe\n"
           b"agi_accountcode: \n"
           b"\n")
    # Run from the repository root, where the unrelated asterisk/ folder sits
    # next to agi_scripts/: pyst2's asterisk package must still be the one imported.
    done = subprocess.run([sys.executable, "-m", "agi_scripts.classic.diag"], cwd=REPO,
                          input=env + b"200 result=1\n" * 5, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert done.stdout.decode().splitlines() == [
        'VERBOSE "hotline diag: agi_accountcode: " 1',
        'VERBOSE "hotline diag: agi_callerid: 123\\"\\\\ x" 1',
        'VERBOSE "hotline diag: agi_calleridname: \ufffd\ufffd" 1',
        'VERBOSE "hotline diag: agi_request: diag.py" 1',
        'SET VARIABLE HOTLINE_DIAG "1"',
    ]


def test_importing_diag_does_not_import_pyst2() -> None:
    code = "import sys, agi_scripts.classic.diag; print('asterisk' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, timeout=60)
    assert done.stdout.decode().strip() == "False", done.stderr.decode(errors="replace")
