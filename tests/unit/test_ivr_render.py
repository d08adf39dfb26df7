"""ivr.prompts and ivr.render: the prompt texts, rendered with the real espeak-ng and sox."""

from __future__ import annotations

import json
import re
import shutil
import wave
from pathlib import Path
from typing import Any

import pytest

from hotline.config import parse_site
from hotline.config.paths import Paths
from hotline.deploy import generate_config
from ivr import render
from ivr.prompts import MERGED_NOTICE, PROMPTS, WITHDRAWN_NOTICE, Prompt
from ivr.render import PromptRenderError, render_prompts, speakable
from trunk_config import GenerateOptions, generate

needs_tools = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="espeak-ng and sox are needed (scripts/setup.sh installs them)")


def test_the_prompts_the_dialplan_plays_exist() -> None:
    assert MERGED_NOTICE.text == "您拨打的号码已并入12345政务服务便民热线，正在为您转接，请稍候。"
    assert "停止使用" in WITHDRAWN_NOTICE.text and "12345" in WITHDRAWN_NOTICE.text
    site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}],
                       "departments": [{"id": "d", "name": "部门"}],
                       "legacy_numbers": [{"number": "83531111", "mode": "merged", "department": "d",
                                           "transition": {"end": "2026-01-01", "after": "notice_then_end"}}]})
    ext = generate(site, GenerateOptions(ami_secret="x" * 16, recordings_dir="/r"))["extensions.conf"]
    played = set(re.findall(r"HOTLINE_PROMPT=([a-z0-9-]+)", ext))
    assert played == {"merged-notice", "withdrawn-notice"}
    assert played <= set(PROMPTS)


@pytest.mark.parametrize("name", ["", "Merged", "merged_notice", "../x", "a b", "1abc"])
def test_prompt_names_are_file_names(name: str) -> None:
    with pytest.raises(ValueError):
        Prompt(name=name, text="你好", purpose="test")


def test_prompt_text_has_no_control_characters() -> None:
    with pytest.raises(ValueError):
        Prompt(name="x", text="你好\n", purpose="test")
    with pytest.raises(ValueError):
        Prompt(name="x", text="  ", purpose="test")


@pytest.mark.parametrize("text, spoken", [
    ("请拨打12345。", "请拨打幺二三四五。"),
    ("83531111", "八三五三幺幺幺幺"),
    ("0513", "零五幺三"),
    ("您好", "您好"),
])
def test_numbers_are_said_digit_by_digit(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


def test_cache_key_changes_with_what_determines_the_audio() -> None:
    tools = {"espeak-ng": "1.51", "sox": "14.4.2"}
    base = render.cache_key(MERGED_NOTICE, "cmn-latn-pinyin", tools)
    assert base == render.cache_key(MERGED_NOTICE, "cmn-latn-pinyin", dict(tools))
    assert base != render.cache_key(WITHDRAWN_NOTICE, "cmn-latn-pinyin", tools)
    assert base != render.cache_key(MERGED_NOTICE, "cmn", tools)
    assert base != render.cache_key(MERGED_NOTICE, "cmn-latn-pinyin", {**tools, "sox": "14.4.3"})
    assert base != render.cache_key(MERGED_NOTICE, "cmn-latn-pinyin", {**tools, "espeak-ng": "1.52"})
    assert base != render.cache_key(MERGED_NOTICE, "cmn-latn-pinyin", tools, speed=150)


def test_missing_tools_are_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(render.shutil, "which", lambda name: None if name == "espeak-ng" else f"/usr/bin/{name}")
    with pytest.raises(PromptRenderError) as err:
        render_prompts(tmp_path)
    assert err.value.error_id == "prompt-render"
    assert "espeak-ng is not installed" in err.value.message and "apt-get install espeak-ng" in err.value.message
    monkeypatch.setattr(render.shutil, "which", lambda name: None if name == "sox" else f"/usr/bin/{name}")
    with pytest.raises(PromptRenderError, match="sox is not installed"):
        render_prompts(tmp_path)


@needs_tools
def test_an_unknown_voice_is_refused_not_replaced_by_english(tmp_path: Path) -> None:
    # espeak-ng itself falls back to its default voice, silently
    with pytest.raises(PromptRenderError, match="no voice 'no-such-voice'"):
        render.render_one(MERGED_NOTICE, tmp_path / "x.wav", voice="no-such-voice")
    assert not (tmp_path / "x.wav").exists()


@needs_tools
def test_a_failing_tool_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = render._tool
    monkeypatch.setattr(render, "_check_voice", lambda espeak, voice: None)
    monkeypatch.setattr(render, "_tool", lambda name: "/bin/false" if name == "sox" else real(name))
    with pytest.raises(PromptRenderError, match=r"false failed \(exit 1\)"):
        render.render_one(MERGED_NOTICE, tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def _wav(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes() / w.getframerate()


@needs_tools
def test_render_makes_8khz_mono_16bit_wavs_and_caches_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "sounds"
    first = render_prompts(out)
    assert [r.name for r in first] == list(PROMPTS) and not any(r.cached for r in first)
    for r in first:
        rate, channels, width, seconds = _wav(r.path)
        assert (rate, channels, width) == (8000, 1, 2)
        assert 0.5 < seconds < 15.0 and seconds == pytest.approx(r.seconds, abs=0.001)
    manifest = json.loads((out / "prompts.json").read_text())
    assert manifest["merged-notice"]["text"] == MERGED_NOTICE.text
    assert manifest["merged-notice"]["voice"] == "cmn-latn-pinyin"
    assert re.fullmatch(r"[0-9.]+", manifest["merged-notice"]["tools"]["sox"])

    # a second deploy renders nothing
    before = {r.name: (r.path.stat().st_mtime_ns, r.path.read_bytes()) for r in first}
    calls: list[Prompt] = []
    real = render.render_one

    def counting(prompt: Prompt, *args: Any, **kwargs: Any) -> None:
        calls.append(prompt)
        real(prompt, *args, **kwargs)
    monkeypatch.setattr(render, "render_one", counting)
    second = render_prompts(out)
    assert all(r.cached for r in second) and not calls
    assert {r.name: (r.path.stat().st_mtime_ns, r.path.read_bytes()) for r in second} == before

    # a new tool version re-renders everything, to the same bytes (no dither: deterministic)
    versions = render.tool_versions()
    monkeypatch.setattr(render, "tool_versions", lambda: {**versions, "sox": versions["sox"] + ".1"})
    third = render_prompts(out)
    assert not any(r.cached for r in third) and len(calls) == len(PROMPTS)
    assert {r.name: r.path.read_bytes() for r in third} == {k: v[1] for k, v in before.items()}


@needs_tools
def test_changed_text_damaged_file_and_removed_prompt(tmp_path: Path) -> None:
    out = tmp_path / "sounds"
    render_prompts(out)
    changed = Prompt(name="merged-notice", text="您拨打的号码已并入12345热线。", purpose="shorter")
    (out / "withdrawn-notice.wav").write_bytes(b"not a wav")
    again = {r.name: r for r in render_prompts(out, [changed, WITHDRAWN_NOTICE])}
    assert not again["merged-notice"].cached   # new text
    assert not again["withdrawn-notice"].cached  # the damaged file was rendered again
    assert _wav(out / "withdrawn-notice.wav")[0] == 8000
    # a prompt no longer in the set: its file goes
    render_prompts(out, [changed])
    assert not (out / "withdrawn-notice.wav").exists()
    assert set(json.loads((out / "prompts.json").read_text())) == {"merged-notice"}


@needs_tools
def test_generate_config_fills_the_sounds_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_ASTERISK_ROOT", raising=False)
    paths = Paths(state_dir=tmp_path / "state", asterisk_root=tmp_path / "no-asterisk")
    site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}]})
    generate_config(site, paths)
    assert sorted(p.name for p in paths.sounds_dir.glob("*.wav")) == sorted(f"{n}.wav" for n in PROMPTS)
    ext = (paths.generated_dir / "extensions.conf").read_text()
    assert f"HOTLINE_SOUNDS = {paths.sounds_dir}" in ext
