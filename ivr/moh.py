"""Music on hold, synthesised offline with sox: Debian's minimal root ships no MOH files.

A calm melody on the pentatonic scale (soft sine notes with fades, well under the prompts'
loudness), 8 kHz mono 16-bit WAV like the prompts, written to ``<sounds>/moh/`` where the
generated ``musiconhold.conf`` class ``hotline`` (``mode = files``) finds it. Cached like the
prompts: a manifest records the key (the notes, the effects and sox's version).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from .render import RATE_HZ, PromptRenderError, _run, _tool, _version

MOH_CLASS = "hotline"
MOH_FILE = "hotline-calm.wav"
MANIFEST = "moh.json"

# (frequency Hz, seconds): C5 D5 E5 G5 A5 G5 E5 D5, C5 E5 G5 A5 G5 E5 D5 C5 — a slow phrase, twice.
_PHRASE: tuple[tuple[float, float], ...] = (
    (523.25, 0.9), (587.33, 0.9), (659.25, 0.9), (783.99, 1.2), (880.0, 0.9), (783.99, 0.9),
    (659.25, 0.9), (587.33, 1.5), (523.25, 0.9), (659.25, 0.9), (783.99, 0.9), (880.0, 1.2),
    (783.99, 0.9), (659.25, 0.9), (587.33, 0.9), (523.25, 1.8),
)
NOTES = _PHRASE + _PHRASE
VOLUME = 0.25   # linear gain of each note: calm, below the announcements


def cache_key(sox_version: str) -> str:
    material = {"notes": NOTES, "volume": VOLUME, "rate": RATE_HZ, "sox": sox_version, "pipeline": 1}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _note_argv(sox: str, freq: float, seconds: float, out: Path) -> list[str]:
    fade = min(0.15, seconds / 4)
    return [sox, "-D", "-n", "-r", str(RATE_HZ), "-c", "1", "-b", "16", "-e", "signed-integer", str(out),
            "synth", f"{seconds}", "sine", f"{freq}", "fade", "h", f"{fade}", f"{seconds}", f"{fade * 2}",
            "vol", f"{VOLUME}"]


def render_moh(outdir: Path) -> Path:
    """Make ``outdir/hotline-calm.wav`` unless the cached one matches; return its path."""
    sox = _tool("sox")
    key = cache_key(_version(sox))
    target = outdir / MOH_FILE
    manifest = outdir / MANIFEST
    try:
        cached = json.loads(manifest.read_text(encoding="utf-8")).get("key") == key and target.is_file()
    except (OSError, ValueError, AttributeError):
        cached = False
    if cached:
        return target
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hotline-moh-") as tmp:
        parts = []
        for i, (freq, seconds) in enumerate(NOTES):
            part = Path(tmp) / f"n{i:02d}.wav"
            _run(_note_argv(sox, freq, seconds, part))
            parts.append(str(part))
        out = Path(tmp) / "moh.wav"
        _run([sox, "-D", *parts, str(out)])
        if not out.is_file():
            raise PromptRenderError("sox made no music-on-hold file")
        tmp_target = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(out, tmp_target)
        os.replace(tmp_target, target)
    manifest.write_text(json.dumps({"key": key, "file": MOH_FILE}) + "\n", encoding="utf-8")
    return target


def moh_conf_class(directory: str) -> list[tuple[str, str]]:
    """The options of the ``hotline`` class in musiconhold.conf (``directory`` as Asterisk sees it)."""
    return [("mode", "files"), ("directory", directory), ("sort", "alpha")]

