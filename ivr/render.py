"""Render the prompts offline: espeak-ng speaks the text, sox makes an 8 kHz mono 16-bit WAV.

Asterisk plays these with ``Playback(${HOTLINE_SOUNDS}/<name>)`` (format_wav: signed linear,
8 kHz, mono). Rendering happens at ``hotline config generate`` (and every deploy), never on
the call path.

Voice: ``cmn-latn-pinyin``. espeak-ng 1.51's ``cmn`` voice turns Chinese characters into
pinyin with tone digits and then reads that pinyin as *English* ("nin2" becomes "nin two");
``cmn-latn-pinyin`` reads the same pinyin as Mandarin. Numbers are said digit by digit, as
Chinese phone numbers are (1 as 幺): "12345" is 幺二三四五, not 一万二千三百四十五.

Cache: each WAV is recorded in ``prompts.json`` beside it with a key, the SHA-256 of what
determines the audio (the spoken text, voice, speed, the sox effects, and the versions of
espeak-ng and sox). A prompt whose key and file are unchanged is not rendered again, so a
deploy costs two ``--version`` calls; a new text, voice or tool version re-renders it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hotline.exceptions import HotlineError

from .prompts import PROMPTS, Prompt

log = logging.getLogger(__name__)

VOICE = "cmn-latn-pinyin"
SPEED_WPM = 175            # words a minute (espeak-ng's default)
RATE_HZ = 8000
MANIFEST = "prompts.json"
PIPELINE = 1               # bump when the rendering steps change in a way the key does not show
SOX_EFFECTS = ("norm", "-3")   # peak at -3 dBFS: the same loudness for every prompt
TIMEOUT_S = 60

_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)+")
_DIGITS = str.maketrans("0123456789", "零幺二三四五六七八九")


class PromptRenderError(HotlineError):
    """A prompt could not be rendered (a tool is missing or failed)."""

    error_id = "prompt-render"


@dataclass(frozen=True)
class Rendered:
    name: str
    path: Path
    seconds: float
    cached: bool    # True when the existing file was kept


def speakable(text: str) -> str:
    """The text as espeak-ng should say it: digits one by one, in Chinese."""
    return text.translate(_DIGITS)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        package = {"espeak-ng": "espeak-ng", "sox": "sox"}[name]
        raise PromptRenderError(f"{name} is not installed: prompts cannot be rendered "
                                f"(apt-get install {package}; scripts/setup.sh installs it)", tool=name)
    return path


def _version(tool: str) -> str:
    try:
        r = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PromptRenderError(f"{tool} --version failed: {exc}", tool=tool) from None
    lines = (r.stdout or r.stderr).strip().splitlines()
    # "eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/...", "/usr/bin/sox:      SoX v14.4.2":
    # the version number only, so the key does not depend on where the tool is installed.
    m = _VERSION.search(lines[0]) if lines else None
    return m.group(0) if m else (lines[0].strip() if lines else "unknown")


def tool_versions() -> dict[str, str]:
    return {"espeak-ng": _version(_tool("espeak-ng")), "sox": _version(_tool("sox"))}


def cache_key(prompt: Prompt, voice: str, versions: dict[str, str], speed: int = SPEED_WPM) -> str:
    material = {"text": speakable(prompt.text), "voice": voice, "speed": speed, "rate": RATE_HZ,
                "effects": list(SOX_EFFECTS), "pipeline": PIPELINE, "tools": dict(sorted(versions.items()))}
    return hashlib.sha256(json.dumps(material, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def duration(path: Path) -> float:
    with wave.open(str(path)) as w:
        frames: int = w.getnframes()
        rate: int = w.getframerate()
        return frames / float(rate)


def _run(argv: list[str]) -> None:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise PromptRenderError(f"{Path(argv[0]).name} took over {TIMEOUT_S} s", argv=argv) from None
    if r.returncode != 0:
        raise PromptRenderError(f"{Path(argv[0]).name} failed (exit {r.returncode}): "
                                f"{(r.stderr or r.stdout).strip()[-400:]}", argv=argv)


def _check_voice(espeak: str, voice: str) -> None:
    """espeak-ng silently falls back to its default (English) voice for one it lacks: refuse instead."""
    try:
        r = subprocess.run([espeak, "--voices"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PromptRenderError(f"espeak-ng --voices failed: {exc}", tool="espeak-ng") from None
    languages = {line.split()[1].lower() for line in r.stdout.splitlines()[1:] if len(line.split()) > 1}
    if voice.lower() not in languages:
        raise PromptRenderError(f"espeak-ng has no voice {voice!r} (is espeak-ng-data complete?)", voice=voice)


def render_one(prompt: Prompt, target: Path, voice: str = VOICE, speed: int = SPEED_WPM) -> None:
    """Speak ``prompt`` into ``target`` (8 kHz mono 16-bit WAV), replacing it atomically."""
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    _check_voice(espeak, voice)
    with tempfile.TemporaryDirectory(prefix="hotline-prompt-") as tmp:
        text_file, raw, out = Path(tmp) / "text.txt", Path(tmp) / "speech.wav", Path(tmp) / "out.wav"
        text_file.write_text(speakable(prompt.text), encoding="utf-8")  # a file: no text mistaken for an option
        _run([espeak, "-v", voice, "-s", str(speed), "-f", str(text_file), "-w", str(raw)])
        # -D: no dither, so the same input gives the same bytes
        _run([sox, "-D", str(raw), "-r", str(RATE_HZ), "-c", "1", "-b", "16", "-e", "signed-integer",
              str(out), *SOX_EFFECTS])
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp_target = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(out, tmp_target)
        os.replace(tmp_target, target)


def _load_manifest(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def render_prompts(outdir: Path, prompts: Iterable[Prompt] | None = None, *, voice: str = VOICE,
                   speed: int = SPEED_WPM) -> list[Rendered]:
    """Make ``outdir/<name>.wav`` for every prompt, re-rendering only what changed.

    Raises :class:`PromptRenderError` when espeak-ng or sox is missing or fails. WAVs of
    prompts that no longer exist are removed (they were ours: listed in the manifest)."""
    chosen = list(PROMPTS.values() if prompts is None else prompts)
    versions = tool_versions()
    outdir.mkdir(parents=True, exist_ok=True)
    manifest_path = outdir / MANIFEST
    old = _load_manifest(manifest_path)
    manifest: dict[str, dict[str, object]] = {}
    done: list[Rendered] = []
    for prompt in chosen:
        target = outdir / f"{prompt.file or prompt.name}.wav"
        key = cache_key(prompt, voice, versions, speed)
        entry = old.get(prompt.name)
        cached = isinstance(entry, dict) and entry.get("key") == key and target.is_file()
        if not cached:
            log.info("rendering prompt %s (%s)", prompt.name, voice)
            render_one(prompt, target, voice, speed)
        try:
            seconds = round(duration(target), 3)
        except (OSError, EOFError, wave.Error) as exc:  # a damaged cached file: render it again
            if not cached:
                raise PromptRenderError(f"rendered prompt {target} is not a WAV file: {exc}") from None
            render_one(prompt, target, voice, speed)
            seconds, cached = round(duration(target), 3), False
        manifest[prompt.name] = {"key": key, "text": prompt.text, "voice": voice, "seconds": seconds,
                                 "tools": versions, "file": target.name}
        done.append(Rendered(prompt.name, target, seconds, cached))
    for name in set(old) - set(manifest):
        entry = old[name]
        file = entry.get("file") if isinstance(entry, dict) else None
        if isinstance(file, str) and "/" not in file and file.endswith(".wav"):
            (outdir / file).unlink(missing_ok=True)
        else:
            (outdir / f"{name}.wav").unlink(missing_ok=True)
    tmp = manifest_path.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, manifest_path)
    return done
