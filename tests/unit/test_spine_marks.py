"""The mark vocabulary (hotline.spine.marks): every mark the dialplan writes is declared once,
reads back what was written, and reading never fails on a hostile payload. The modules that
speak the protocol spell no mark name and split no payload themselves."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from hotline.calls.cel import CelEvent
from hotline.spine import marks
from hotline.spine.marks import BY_NAME, MARKS, Mark, payload_of

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
_WRITTEN = re.compile(r"CELGenUserEvent\((?P<name>[A-Z_]+),(?P<payload>[^)]*(?:\)[^)]*)*?)\)(?:\)|$)")


def _event(mark: Mark[Any], *, extra: object = None, appdata: str | None = None) -> CelEvent:
    return CelEvent(name=mark.name, time=1.0, channel="PJSIP/trunk-carrier-00000001", uniqueid="1.1",
                    linkedid="1.1", appdata=appdata if appdata is not None else "",
                    extra={} if extra is None else {"extra": extra})


def _sample(mark: Mark[Any]) -> tuple[str, ...]:
    return tuple(f"v{i}-{field}" for i, field in enumerate(mark.fields))


@pytest.mark.parametrize("mark", MARKS, ids=lambda m: m.name)
def test_write_then_read_gives_every_field_back(mark: Mark[Any]) -> None:
    values = mark.value(*_sample(mark))
    written = mark.write(values)
    assert written == f"CELGenUserEvent({mark.name},{'|'.join(values)})"
    appdata = written.removeprefix("CELGenUserEvent(").removesuffix(")")   # what CEL logs as appdata
    payload = appdata.partition(",")[2]
    assert mark.read(payload) == values
    assert mark.of(_event(mark, extra=payload)) == values              # the CEL log's extra
    assert mark.of(_event(mark, appdata=appdata)) == values            # no extra: the application data
    assert mark.first([_event(marks.ARRIVAL if mark is not marks.ARRIVAL else marks.QUEUE_JOIN),
                       _event(mark, extra=payload)]).name == mark.name


@pytest.mark.parametrize("mark", MARKS, ids=lambda m: m.name)
@pytest.mark.parametrize("payload", ["", "|", "||||||", "a|b|c|d|e|f|g", "\u00e9|\n|;", "  ", "x"])
def test_reading_a_hostile_payload_never_fails(mark: Mark[Any], payload: str) -> None:
    value = mark.read(payload)
    assert isinstance(value, mark.value) and len(value) == len(mark.fields)
    assert all(isinstance(v, str) for v in value)
    if len(mark.fields) == 1:
        assert value[0] == payload            # one field: the whole payload, '|' and all
    else:
        parts = payload.split("|")
        assert list(value) == (parts + [""] * len(mark.fields))[:len(mark.fields)]


@pytest.mark.parametrize(("mark", "payload", "expected"), [
    (marks.ARRIVAL, "12345|hotline", ("12345", "hotline", "", "")),                    # before issue #4
    (marks.ARRIVAL, "12345|merged|shuiwu|110|extra", ("12345", "merged", "shuiwu", "110")),
    (marks.QUEUE_JOIN, "general", ("general", "", "")),                                # before issue #3
    (marks.FALLBACK, "queue|timeout|tax", ("queue", "timeout", "tax", "")),
    (marks.CALLBACK_DIAL, "", ("", "", "")),
    (marks.TRANSFER_DIAL, "110|119", ("110|119",)),
    (marks.QUEUE_EXIT, "TIMEOUT", ("TIMEOUT",)),
])
def test_missing_fields_read_empty_and_extra_ones_are_dropped(mark: Mark[Any], payload: str,
                                                                expected: tuple[str, ...]) -> None:
    assert tuple(mark.read(payload)) == expected


@pytest.mark.parametrize(("extra", "appdata", "payload"), [
    ("a|b", "X,c|d", "a|b"),           # the log's extra wins
    ("", "X,c|d", "c|d"),              # empty extra: the application data
    (None, "X,c|d", "c|d"),
    (110, "X,c", "110"),               # decoded JSON: any type arrives as text
    (None, "X", ""),
    (None, "", ""),
])
def test_the_payload_of_an_event(extra: object, appdata: str, payload: str) -> None:
    assert payload_of(_event(marks.QUEUE_EXIT, extra=extra, appdata=appdata)) == payload


def test_writing_takes_the_marks_own_fields() -> None:
    with pytest.raises(TypeError, match="HOTLINE_QUEUE"):
        marks.QUEUE_JOIN.write(marks.Arrival("a", "b", "c", "d"))  # type: ignore[arg-type]


def test_names_are_unique_and_fields_named() -> None:
    assert len(BY_NAME) == len(MARKS)
    assert all(m.name.startswith("HOTLINE_") and m.fields for m in MARKS)


def _generated() -> str:
    from hotline.config.loader import load_site
    from trunk_config import GenerateOptions, generate
    opts = GenerateOptions(ami_secret="s" * 24, recordings_dir="/r", agi_key="k" * 24)
    return "".join(generate(load_site(p / "site.yaml", environ={}), opts)["extensions.conf"]
                   for p in sorted(GOLDEN.iterdir()) if (p / "site.yaml").exists())


def test_every_mark_the_generator_writes_is_declared_with_its_fields() -> None:
    written = re.findall(r"CELGenUserEvent\(([A-Z_]+),([^\n]*)", _generated())
    assert written
    for name, rest in written:
        assert name in BY_NAME, name
        # the payload ends where the application does: count its top-level '|'
        depth, fields, payload = 0, 1, ""
        for c in rest:
            if c == ")" and depth == 0:
                break
            depth += {"(": 1, "{": 1, ")": -1, "}": -1}.get(c, 0)
            fields += c == "|" and depth == 0
            payload += c
        assert fields == len(BY_NAME[name].fields), (name, payload)


def test_every_declared_mark_is_written_by_the_generator() -> None:
    generated = _generated()
    sources = "".join(p.read_text() for p in (ROOT / "trunk_config").glob("*.py"))
    for mark in MARKS:
        constant = next(k for k, v in vars(marks).items() if v is mark)
        assert f"CELGenUserEvent({mark.name}," in generated or f"m.{constant}.write(" in sources, mark.name


# --- nobody else spells the protocol ----------------------------------------------------------

SPEAKERS = sorted([*(ROOT / "trunk_config").glob("*.py"), ROOT / "agi_scripts" / "routes.py",
                   ROOT / "agi_scripts" / "decide.py", *(ROOT / "hotline" / "calls").glob("*.py"),
                   *(ROOT / "hotline" / "callbacks").glob("*.py"), *(ROOT / "hotline" / "directory").glob("*.py")])
_MARK_NAME = re.compile(r"\b(" + "|".join(re.escape(m.name) for m in MARKS) + r")\b")


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


@pytest.mark.parametrize("path", SPEAKERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_mark_name_or_payload_split_outside_the_vocabulary(path: Path) -> None:
    tree = ast.parse(path.read_text())
    docs = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            assert "CELGenUserEvent" not in node.value, (path.name, node.lineno, node.value)
            assert not _MARK_NAME.search(node.value), (path.name, node.lineno, node.value)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "split"
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "|"):
            raise AssertionError(f"{path.name}:{node.lineno}: a payload split by hand")
