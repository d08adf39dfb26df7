"""Asterisk without root: the account it drops to and what that account may touch.

Asterisk starts as root (a chroot needs it) and drops to ``user``/``group`` itself (``-U``/``-G``)
before it loads a module: it never runs a call as root. The account is looked up where Asterisk
looks it up: the chroot's ``/etc/passwd`` and ``/etc/group`` in chroot mode (the Debian package made
an ``asterisk`` user there), this system's in system mode. :func:`hand_over` gives the instance's
writable directories (logs, CEL, recordings, spool, run, lib, cache) to that account and lets its
group read the configuration (root-owned, 0640), nothing more. Asterisk is never started with
``-U root``: :func:`resolve` refuses uid 0.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hotline.exceptions import AsteriskRuntimeError
from hotline.filemodes import DIRECTORY, GROUP_READ

# Written by Asterisk: its account owns them; the group (the controller's) reads and, for
# retention, deletes (recordings, rotated logs): 0770.
WRITABLE = ("", "log", "log/cel-custom", "log/cdr-custom", "log/cdr-csv", "spool", "spool/monitor",
            "spool/outgoing", "run", "lib", "cache")
GROUP_WRITABLE = 0o770


@dataclass(frozen=True)
class Account:
    user: str
    group: str
    uid: int
    gid: int

    def argv(self) -> list[str]:
        return ["-U", self.user, "-G", self.group]


def _lookup(table: Path, name: str) -> list[str] | None:
    try:
        for line in table.read_text().splitlines():
            fields = line.split(":")
            if fields and fields[0] == name and len(fields) >= 3:
                return fields
    except OSError:
        return None
    return None


class RuntimeDirs(Protocol):
    """What this module reads of :class:`hotline.asterisk_runtime.Runtime` (which imports this module)."""

    @property
    def mode(self) -> str: ...
    @property
    def root(self) -> Path: ...
    @property
    def instance(self) -> str: ...
    @property
    def etc(self) -> str: ...
    @property
    def sounds_inner(self) -> str: ...
    def host_path(self, inner: str) -> Path: ...


def resolve(runtime: RuntimeDirs, user: str, group: str | None = None) -> Account:
    """The account ``user`` (and ``group``, default the user's primary group) as Asterisk sees it."""
    if runtime.mode == "chroot":
        pw = _lookup(runtime.root / "etc" / "passwd", user)
        if pw is None:
            raise AsteriskRuntimeError(f"asterisk user {user!r}: no such user in {runtime.root}/etc/passwd",
                                       user=user)
        uid, gid = int(pw[2]), int(pw[3])
        if group is not None:
            gr = _lookup(runtime.root / "etc" / "group", group)
            if gr is None:
                raise AsteriskRuntimeError(f"asterisk group {group!r}: no such group in {runtime.root}/etc/group",
                                           group=group)
            gid = int(gr[2])
        else:
            gr = next((f for f in _groups(runtime.root / "etc" / "group") if int(f[2]) == gid), None)
            group = gr[0] if gr else str(gid)
    else:
        try:
            p = pwd.getpwnam(user)
            uid, gid = p.pw_uid, p.pw_gid
            gid = grp.getgrnam(group).gr_gid if group is not None else gid
            group = group if group is not None else grp.getgrgid(gid).gr_name
        except KeyError as exc:
            raise AsteriskRuntimeError(f"asterisk user/group {user!r}/{group!r}: {exc}", user=user) from None
    if uid == 0 or gid == 0:
        raise AsteriskRuntimeError(f"asterisk user {user!r}/{group!r} is root: give an unprivileged account",
                                   user=user)
    return Account(user=user, group=group, uid=uid, gid=gid)


def _groups(table: Path) -> list[list[str]]:
    try:
        return [f for f in (line.split(":") for line in table.read_text().splitlines()) if len(f) >= 3]
    except OSError:
        return []


def hand_over(runtime: RuntimeDirs, account: Account) -> None:
    """Let ``account`` run the instance: its writable directories are its own, the configuration
    stays root's and its group reads it."""
    for sub in WRITABLE:
        d = runtime.host_path(f"{runtime.instance}/{sub}" if sub else runtime.instance)
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, account.uid, account.gid)
        os.chmod(d, GROUP_WRITABLE if sub in ("spool/monitor", "log", "log/cel-custom") else DIRECTORY)
        for f in d.iterdir():
            if f.is_file():
                os.chown(f, account.uid, account.gid)
    # The instance's parent (…/srv/hotline) is only a name: the controller's account passes it.
    os.chmod(runtime.host_path(runtime.instance).parent, 0o755)
    etc = runtime.host_path(runtime.etc)
    os.chown(etc, 0, account.gid)
    for f in etc.iterdir():
        if f.is_file():
            os.chown(f, 0, account.gid)
            os.chmod(f, GROUP_READ)
    sounds = runtime.host_path(runtime.sounds_inner)
    if sounds.is_dir():   # prompts are not secret; Asterisk must read them
        for top, _dirs, files in os.walk(sounds):
            os.chmod(top, 0o755)
            for name in files:
                os.chmod(Path(top) / name, 0o644)
