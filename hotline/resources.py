"""The files the product needs that are not Python modules, found in one place.

``asterisk/`` (the runtime installer and the static Asterisk configuration) and the SIP
scenarios the demo uses (``tests/sipp``) are plain folders of the repository, not Python
packages. A wheel ships them as data files under ``<prefix>/share/hotline12345/`` (setup.cfg
``[options.data_files]``); a source checkout (or an editable install of one) finds them beside
the ``hotline`` package. :func:`resource` looks in the checkout first, then in the installed
share directory, and raises ``ResourceMissingError`` (naming every place it looked) when neither
holds the file: Asterisk must never be started without, say, ``cel.conf``.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

from hotline.exceptions import ResourceMissingError

SHARE_NAME = "hotline12345"
_CHECKOUT = Path(__file__).resolve().parent.parent


def search_roots() -> list[Path]:
    """Where resources are looked for, first match wins."""
    roots = [_CHECKOUT]
    for base in (sysconfig.get_path("data"), sys.prefix, sys.base_prefix):
        root = Path(base) / "share" / SHARE_NAME
        if root not in roots:
            roots.append(root)
    return roots


def resource(relative: str) -> Path:
    """The path of a shipped file or folder, e.g. ``asterisk/static`` or ``tests/sipp/caller.xml``."""
    tried = []
    for root in search_roots():
        p = root / relative
        if p.exists():
            return p
        tried.append(str(p))
    raise ResourceMissingError(f"{relative} is not installed (looked in: {', '.join(tried)})", resource=relative)
