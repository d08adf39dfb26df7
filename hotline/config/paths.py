"""Where the hotline keeps its state on this machine (not part of the site config).

Layered like the rest: defaults, then environment (``HOTLINE_STATE_DIR``,
``HOTLINE_ASTERISK_ROOT``), then CLI flags.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    state_dir: Path
    asterisk_root: Path   # the debootstrap root used when no system Asterisk exists

    @classmethod
    def from_env(cls, state_dir: str | None = None, asterisk_root: str | None = None) -> "Paths":
        sd = state_dir or os.environ.get("HOTLINE_STATE_DIR") or "var"
        ar = asterisk_root or os.environ.get("HOTLINE_ASTERISK_ROOT") or "/var/cache/hotline/asterisk-root"
        return cls(Path(sd).absolute(), Path(ar).absolute())

    @property
    def generated_dir(self) -> Path:
        """Asterisk configuration as generated from the site config (never edited by hand)."""
        return self.state_dir / "asterisk-etc"

    @property
    def sounds_dir(self) -> Path:
        """Prompts generated from ivr/ (WAV, 8 kHz), copied into Asterisk at deploy."""
        return self.state_dir / "sounds"

    @property
    def ami_secret_file(self) -> Path:
        return self.state_dir / "ami.secret"

    @property
    def agi_key_file(self) -> Path:
        return self.state_dir / "agi.key"

    @property
    def sqlite_path(self) -> Path:
        return self.state_dir / "hotline.db"

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "records.journal"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    def ensure(self) -> None:
        from hotline.filemodes import ensure_dir

        for d in (self.state_dir, self.generated_dir, self.log_dir):
            ensure_dir(d)

    def ami_secret(self) -> str:
        """The AMI secret, generated once per state directory and kept private (0600)."""
        return self._secret(self.ami_secret_file)

    def agi_key(self) -> str:
        """The key FastAGI signs its routes with and the dialplan checks them with (a process
        that took the FastAGI port cannot route calls), generated once and kept private (0600)."""
        return self._secret(self.agi_key_file)

    def _secret(self, f: Path) -> str:
        import secrets

        if f.exists():
            value = f.read_text().strip()
            if value:
                return value
        self.state_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(16)
        fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        return value
