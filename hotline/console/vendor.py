"""The browser SIP library of the console page: SIP.js from the npm registry, pinned.

The npm tarball sits in the package (``vendor/``, fetched by ``scripts/fetch-sipjs.sh`` with
npm's own client) and is checked against the registry's sha512 integrity pinned here before any
file of it is served: a tarball that is not the pinned one is refused (the console then has no
phone, and says so), never served. SIP.js 0.21 is plain ES modules with relative imports and no
dependencies, so the browser loads ``lib/`` file by file from ``/console/vendor/sip.js/``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from hotline.console.errors import VendorRefused

NAME, VERSION = "sip.js", "0.21.2"
INTEGRITY = "sha512-tSqTcIgrOd2IhP/rd70JablvAp+fSfLSxO4hGNY6LkWRY1SKygTO7OtJEV/BQb8oIxtMRx0LE7nUF2MaqGbFzA=="
LICENSE = "MIT"
PREFIX = "package/lib/"


def integrity_of(data: bytes) -> str:
    """npm's integrity string (``sha512-<base64>``) of a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@dataclass(frozen=True)
class Library:
    files: dict[str, bytes]   # path under lib/ -> the module's text

    def get(self, path: str) -> bytes | None:
        return self.files.get(path)


def tarball() -> bytes:
    return resources.files("hotline.console").joinpath("vendor", f"{NAME}-{VERSION}.tgz").read_bytes()


def load(data: bytes) -> Library:
    """The library's ES modules, once ``data`` is the pinned tarball."""
    got = integrity_of(data)
    if got != INTEGRITY:
        raise VendorRefused(NAME, VERSION, INTEGRITY, got)
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith(PREFIX) and member.name.endswith(".js"):
                handle = tar.extractfile(member)
                if handle is not None:
                    files[member.name.removeprefix(PREFIX)] = handle.read()
    return Library(files)


@lru_cache(maxsize=1)
def library() -> Library:
    return load(tarball())
