"""Offline diagnostic, run as a classic AGI script: ``AGI(hotline-diag)`` on a test
extension, where the wrapper runs ``python -m agi_scripts.classic.diag``.

It VERBOSEs the environment Asterisk handed over and sets ``HOTLINE_DIAG=1``. A
process per call is acceptable here only because nobody routes real calls
through it; the call path is the FastAGI server.
"""

from __future__ import annotations

import io
import sys

from agi_scripts.protocol import set_variable, verbose


def main() -> int:
    # pyst2 installs a top-level ``asterisk`` package, and the repository has an
    # unrelated ``asterisk/`` folder; importing here, only when run as the AGI
    # script, keeps importing this module (tests, tooling) free of that clash.
    from asterisk.agi import AGI

    # Undecodable bytes in a caller-ID name must show up, not crash the script.
    agi = AGI(stdin=io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    for key, value in sorted(agi.env.items()):
        agi.execute(verbose(f"hotline diag: {key}: {value}", 1))
    agi.execute(set_variable("HOTLINE_DIAG", "1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
