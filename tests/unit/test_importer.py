"""The hotline-list CSV importer (``hotline import-csv``, :mod:`hotline.importer`).

``examples/nantong/site.yaml`` must be exactly what the importer makes of
``nantong-hotlines.csv`` on top of ``base.yaml``; ``HOTLINE_UPDATE_GOLDEN=1``
rewrites it (like the golden files of ``test_generate.py``).
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from hotline.cli import main
from hotline.config import parse_site
from hotline.config.site import NumberMode, SiteConfig
from hotline.exceptions import ConfigError
from hotline.importer import import_csv

REPO = Path(__file__).resolve().parents[2]
NANTONG = REPO / "examples" / "nantong"
CSV = NANTONG / "nantong-hotlines.csv"
BASE = NANTONG / "base.yaml"
SITE = NANTONG / "site.yaml"
HEADER = "mode,department,hotline,numbers,note\n"
MINIMAL_BASE = "trunks:\n  - name: carrier\n    host: 192.0.2.10\n"


def site_of(text: str) -> SiteConfig:
    return parse_site(yaml.safe_load(text), "import output")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def nantong() -> tuple[str, list[str]]:
    return import_csv(CSV, base=BASE)


# --- the Nantong list ------------------------------------------------------------------


def expected_numbers_by_mode() -> Counter[str]:
    """Read the CSV independently: every number once, without the platform's own 12345."""
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    with open(CSV, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            for number in row["numbers"].split(";"):
                if number == "12345" or number in seen:
                    continue
                seen.add(number)
                counts[row["mode"]] += 1
    return counts


def test_nantong_imports_to_a_valid_site(nantong: tuple[str, list[str]]) -> None:
    text, _ = nantong
    site = site_of(text)
    counts = Counter(n.mode.value for n in site.legacy_numbers)
    assert counts == expected_numbers_by_mode()
    # The plan: 35 merged hotlines (36 numbers, one of them 12345), 23 parallel (one number
    # listed twice), 20 convenience (21 numbers), and the 4 emergency numbers.
    assert counts == {"merged": 35, "parallel": 22, "convenience": 21, "emergency": 4}
    assert len({n.number for n in site.legacy_numbers}) == len(site.legacy_numbers)
    assert site.number("12345") is None
    with open(CSV, encoding="utf-8", newline="") as fh:
        names = list(dict.fromkeys(row["department"] for row in csv.DictReader(fh)))
    assert sorted(d.name for d in site.departments) == sorted(names)


def test_nantong_warnings(nantong: tuple[str, list[str]]) -> None:
    _, warnings = nantong
    assert len(warnings) == 2
    dup = [w for w in warnings if "12365" in w]
    assert len(dup) == 1 and "质监局" in dup[0] and "检验检疫局" in dup[0] and "kept the first" in dup[0]
    platform = [w for w in warnings if "12345" in w]
    assert len(platform) == 1 and "hotline number" in platform[0]


def test_nantong_duplicate_keeps_the_first(nantong: tuple[str, list[str]]) -> None:
    site = site_of(nantong[0])
    n = site.number("12365")
    assert n is not None and n.mode == NumberMode.parallel
    assert site.department(n.department).name == "质监局"
    assert n.hotline == "市质量技术监督举报投诉中心"


def test_nantong_entries(nantong: tuple[str, list[str]]) -> None:
    site = site_of(nantong[0])
    both = [n for n in site.legacy_numbers if n.hotline == "直管公房保障业务咨询"]
    assert [n.number for n in both] == ["85529193", "85510951"]
    assert {site.department(n.department).name for n in both} == {"房管局"}
    for number in ("110", "119", "120", "12395"):
        assert site.number(number).mode == NumberMode.emergency
    assert site.number("95566").mode == NumberMode.convenience
    assert site.number("83531111").note == "number withdrawn after the transition period"
    assert site.number("85129699").note is None
    # Departments the base names keep their ids and queues.
    assert site.department("renshe").name == "人社局" and site.department("renshe").queue == "renshe"
    assert site.queue_for("12333") == "renshe"
    assert site.queue_for("12315") == "shichang"
    assert site.queue_for("83531111") == "hotline"
    # The others: d01, d02, ... in order of first appearance, skipping none.
    generated = [d for d in site.departments if d.id.startswith("d")]
    assert [d.id for d in generated] == [f"d{i:02d}" for i in range(1, len(generated) + 1)]
    assert generated[0].name == "信访局"
    assert all(re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", d.id) for d in site.departments)


def test_nantong_keeps_the_base(nantong: tuple[str, list[str]]) -> None:
    text, _ = nantong
    base = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    out = yaml.safe_load(text)
    for key in ("site", "asterisk", "api", "store", "trunks", "queues", "seats"):
        assert out[key] == base[key]
    assert list(out) == list(base)
    # Comments of the base are carried over; Chinese is written as such.
    assert "# The carrier. The demo's simulated carrier (sipp) sends from 127.0.0.2:5070;" in text
    assert "# A county seat working remotely over the WAN (远程坐席)." in text
    assert "\\u" not in text and "!!" not in text
    assert text.startswith("# Site config generated by 'hotline import-csv nantong-hotlines.csv --base base.yaml'")


def test_nantong_demo_requirements(nantong: tuple[str, list[str]]) -> None:
    site = site_of(nantong[0])
    (trunk,) = site.trunks
    assert (trunk.name, trunk.mode, trunk.host, trunk.port, trunk.match) == ("carrier", "ip", "127.0.0.2", 5070,
                                                                           ["127.0.0.2/32"])
    assert [s.id for s in site.seats] == ["1001", "1002", "1003", "1004"]
    assert all(len(s.secret) >= 8 for s in site.seats)
    assert [(s.id, s.county) for s in site.seats if s.remote] == [("1004", "海门")]
    assert {q.name for q in site.queues} == {"hotline", "renshe", "shichang", "haimen"}
    assert site.site.default_queue == "hotline"
    assert (site.api.bind, site.api.port) == ("127.0.0.1", 8080)


def test_example_site_is_up_to_date(nantong: tuple[str, list[str]]) -> None:
    text, _ = nantong
    if os.environ.get("HOTLINE_UPDATE_GOLDEN") == "1":
        SITE.write_text(text, encoding="utf-8")
    assert SITE.read_text(encoding="utf-8") == text, (
        "examples/nantong/site.yaml is stale: regenerate it (see examples/nantong/README.md)")


def test_import_is_deterministic_and_idempotent(nantong: tuple[str, list[str]], tmp_path: Path) -> None:
    text, _ = nantong
    assert import_csv(CSV, base=BASE)[0] == text
    # Re-importing on top of the previous output keeps every id and entry.
    again, warnings = import_csv(CSV, base=write(tmp_path / "site.yaml", text))
    assert yaml.safe_load(again) == yaml.safe_load(text)
    assert not any("not in" in w for w in warnings)


def test_without_base(tmp_path: Path) -> None:
    text, warnings = import_csv(CSV)
    data = yaml.safe_load(text)
    assert list(data) == ["departments", "legacy_numbers"]
    assert data["departments"][0] == {"id": "d01", "name": "信访局"}
    assert len(data["legacy_numbers"]) == 82
    assert len(warnings) == 2
    site = parse_site({"trunks": [{"name": "c", "host": "192.0.2.1"}], **data})
    assert len(site.departments) == len(data["departments"])


# --- bad CSVs ----------------------------------------------------------------------------

BAD = [
    ("missing-column", "mode,department,hotline,numbers\nmerged,城建局,城建服务热线,83531111\n",
     "row 1", "mode,department,hotline,numbers", "missing column(s) note"),
    ("unknown-column", "mode,department,hotline,numbers,note,extra\nmerged,城建局,热线,83531111,,\n",
     "row 1", "extra", "unknown column"),
    ("unknown-mode", HEADER + "merged,城建局,城建服务热线,83531111,\ndirect,安监局,举报电话,85129699,\n",
     "row 3, column mode", "direct", "unknown mode"),
    ("number-not-digits", HEADER + "merged,城建局,城建服务热线,8353-1111,\n",
     "row 2, column numbers", "8353-1111", "not a phone number"),
    ("second-number-not-digits", HEADER + "merged,房管局,咨询,85529193;8551O951,\n",
     "row 2, column numbers", "8551O951", "not a phone number"),
    ("chinese-separator", HEADER + "merged,房管局,咨询,85529193、85510951,\n",
     "row 2, column numbers", "85529193、85510951", "separate several numbers with ';'"),
    ("number-too-short", HEADER + "emergency,公安,报警,11,\n", "row 2, column numbers", "11", "not a phone number"),
    ("empty-numbers", HEADER + "merged,城建局,城建服务热线,,\n", "row 2, column numbers", "", "must not be empty"),
    ("empty-department", HEADER + "merged,,城建服务热线,83531111,\n", "row 2, column department", "",
     "must not be empty"),
    ("department-with-bracket", HEADER + "merged,城建局[旧],城建服务热线,83531111,\n",
     "row 2, column department", "城建局[旧]", "without control characters"),
    ("hotline-with-semicolon", HEADER + "merged,城建局,\"热线;旧\",83531111,\n",
     "row 2, column hotline", "热线;旧", "';'"),
    ("too-many-cells", HEADER + "merged,房管局,咨询,85529193,85510951,note\n",
     "row 2", "merged,房管局,咨询,85529193,85510951,note", "6 cells"),
    ("header-only", HEADER, "", None, "no hotline rows"),
    ("empty-file", "", "row 1", None, "no header row"),
    ("unclosed-quote", HEADER + "merged,城建局,\"城建服务热线,83531111,\n", "line 2", None, "not valid CSV"),
]


@pytest.mark.parametrize("text,path,value,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_csv(tmp_path: Path, text: str, path: str, value: object, words: str) -> None:
    bad = write(tmp_path / "hotlines.csv", text)
    with pytest.raises(ConfigError) as info:
        import_csv(bad)
    err = info.value
    assert err.file == str(bad)
    assert str(bad) in err.message
    found = {p: (m, v) for p, m, v in err.problems}
    assert path in found, err.problems
    msg, got = next((m, v) for p, m, v in err.problems if p == path and words in m)
    assert got == value
    assert words in msg


def test_every_bad_row_is_reported(tmp_path: Path) -> None:
    bad = write(tmp_path / "hotlines.csv", HEADER + "merged,城建局,热线,83531111,\n"
                "bogus,安监局,举报电话,85129699,\n"
                "merged,规划局,规划110,8350911x,\n"
                "parallel,,热线,12333,\n")
    with pytest.raises(ConfigError) as info:
        import_csv(bad)
    assert [(p, v) for p, _, v in info.value.problems] == [
        ("row 3, column mode", "bogus"), ("row 4, column numbers", "8350911x"), ("row 5, column department", "")]


def test_missing_csv(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        import_csv(tmp_path / "nope.csv")
    assert info.value.problems == [("", "file not found", str(tmp_path / "nope.csv"))]


def test_csv_not_utf8(tmp_path: Path) -> None:
    bad = tmp_path / "gbk.csv"
    bad.write_bytes((HEADER + "merged,城建局,城建服务热线,83531111,\n").encode("gbk"))
    with pytest.raises(ConfigError) as info:
        import_csv(bad)
    assert "UTF-8" in info.value.problems[0][1]


def test_csv_with_bom_blank_lines_spaces_and_quotes(tmp_path: Path) -> None:
    f = tmp_path / "excel.csv"
    f.write_bytes(("\ufeffMode, Department ,hotline,numbers,note\r\n"
                   "merged, 城建局 ,城建服务热线, 83531111 ; 83531112 ,\"withdrawn, later\"\r\n"
                   "\r\n"
                   ",,,,\r\n"
                   "emergency,公安,,110,\r\n").encode("utf-8"))
    text, warnings = import_csv(f)
    data = yaml.safe_load(text)
    assert warnings == []
    assert data["departments"] == [{"id": "d01", "name": "城建局"}, {"id": "d02", "name": "公安"}]
    assert data["legacy_numbers"] == [
        {"number": "83531111", "mode": "merged", "department": "d01", "hotline": "城建服务热线",
         "note": "withdrawn, later"},
        {"number": "83531112", "mode": "merged", "department": "d01", "hotline": "城建服务热线",
         "note": "withdrawn, later"},
        {"number": "110", "mode": "emergency", "department": "d02"},
    ]


def test_duplicates_within_and_across_rows(tmp_path: Path) -> None:
    f = write(tmp_path / "h.csv", HEADER + "parallel,质监局,质监热线,12365,\n"
              "parallel,检验检疫局,质量热线,12365;12366,\n"
              "merged,信访局,政府服务热线,12345,\n"
              "merged,信访局,另一个,12345,\n")
    text, warnings = import_csv(f)
    data = yaml.safe_load(text)
    assert [n["number"] for n in data["legacy_numbers"]] == ["12365", "12366"]
    assert data["legacy_numbers"][0]["department"] == "d01"
    assert data["legacy_numbers"][1]["department"] == "d02"
    assert len(warnings) == 2
    assert "row 2 (质监局, 质监热线) and row 3 (检验检疫局, 质量热线)" in warnings[0]
    assert "12345 (rows 4, 5)" in warnings[1]


# --- merging into a base -----------------------------------------------------------------

SMALL = HEADER + ("merged,房管局,报修,85192809,\n"
                  "parallel,人社局,人社咨询,12333,kept\n"
                  "emergency,公安,报警,110,\n")


def test_merge_replaces_by_id_and_number_and_keeps_the_rest(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", MINIMAL_BASE + """\
departments:
  - {id: renshe, name: 人社局, queue: renshe, duty_phone: "051300000000"}
  - {id: d01, name: 已撤销的部门}
  - {id: waishi, name: 外事办}
queues:
  - name: hotline
  - name: renshe
legacy_numbers:
  - {number: "12333", mode: merged, department: waishi, hotline: 旧名称, note: old note, queue: hotline}
  - {number: "96110", mode: merged, department: waishi}
""")
    text, warnings = import_csv(write(tmp_path / "h.csv", SMALL), base=base)
    site = site_of(text)
    depts = {d.id: d for d in site.departments}
    # Matched by name: the base's id, queue and duty phone survive.
    assert depts["renshe"].queue == "renshe" and depts["renshe"].duty_phone == "051300000000"
    # d01 is taken by an unrelated base department: new ones get the next free ids.
    assert depts["d01"].name == "已撤销的部门"
    assert depts["d02"].name == "房管局" and depts["d03"].name == "公安"
    assert [d.id for d in site.departments] == ["renshe", "d01", "waishi", "d02", "d03"]
    n = site.number("12333")
    assert (n.mode, n.department, n.hotline, n.note, n.queue) == (NumberMode.parallel, "renshe", "人社咨询",
                                                                 "kept", "hotline")
    assert site.number("96110").department == "waishi"   # not in the CSV: kept ...
    assert any("96110" in w and "kept" in w for w in warnings)  # ... with a warning
    assert [x.number for x in site.legacy_numbers] == ["12333", "96110", "85192809", "110"]


def test_merge_drops_fields_the_csv_empties(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", MINIMAL_BASE + """\
departments: [{id: fg, name: 房管局}]
legacy_numbers: [{number: "85192809", mode: merged, department: fg, hotline: 旧, note: stale}]
""")
    csv_file = write(tmp_path / "h.csv", HEADER + "merged,房管局,,85192809,\n")
    n = site_of(import_csv(csv_file, base=base)[0]).number("85192809")
    assert (n.hotline, n.note, n.department) == (None, None, "fg")


def test_base_hotline_number_is_used(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", MINIMAL_BASE + "site:\n  hotline_number: \"12333\"\n")
    text, warnings = import_csv(write(tmp_path / "h.csv", SMALL), base=base)
    site = site_of(text)
    assert site.number("12333") is None
    assert [w for w in warnings if "12333" in w and "hotline number" in w]


def test_invalid_merge_fails_clearly(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", MINIMAL_BASE + """\
departments: [{id: renshe, name: 人社局, queue: shichang}]
""")
    csv_file = write(tmp_path / "h.csv", SMALL)
    with pytest.raises(ConfigError) as info:
        import_csv(csv_file, base=base)
    assert info.value.file == f"{base} merged with {csv_file}"
    assert "unknown queue 'shichang'" in info.value.message


def test_base_without_trunks_fails(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", "site:\n  name: x\n")
    with pytest.raises(ConfigError) as info:
        import_csv(write(tmp_path / "h.csv", SMALL), base=base)
    assert ("trunks", "Field required") in [(p, m) for p, m, _ in info.value.problems]


@pytest.mark.parametrize("text,path,words", [
    ("site:\n  name: x\n trunks: [\n", "line 3, column 2", "not valid YAML"),
    ("- a\n", "", "must be a mapping"),
    (MINIMAL_BASE + "legacy_numbers: {a: 1}\n", "legacy_numbers", "must be a list"),
])
def test_bad_base(tmp_path: Path, text: str, path: str, words: str) -> None:
    base = write(tmp_path / "base.yaml", text)
    with pytest.raises(ConfigError) as info:
        import_csv(write(tmp_path / "h.csv", SMALL), base=base)
    assert info.value.file == str(base)
    assert [(p, m) for p, m, _ in info.value.problems if p == path and words in m]


def test_missing_base(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        import_csv(write(tmp_path / "h.csv", SMALL), base=tmp_path / "nope.yaml")
    assert info.value.problems[0][1] == "file not found"


def test_unusual_base_layout_falls_back_to_a_plain_dump(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", "{trunks: [{name: carrier, host: 192.0.2.10}], api: {port: 8081}}\n")
    text, _ = import_csv(write(tmp_path / "h.csv", SMALL), base=base)
    site = site_of(text)
    assert site.api.port == 8081 and len(site.legacy_numbers) == 3


def test_section_comments_and_values_survive(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", """\
# preamble of the base: dropped
---
# about the API
api:
  port: 8081  # trailing comment
  # inner comment
trunks:
  - {name: carrier, host: 192.0.2.10}
# left at the end
""")
    text, _ = import_csv(write(tmp_path / "h.csv", SMALL), base=base)
    assert "preamble of the base" not in text
    for kept in ("# about the API\napi:\n  port: 8081  # trailing comment\n  # inner comment\n",
                 "# left at the end"):
        assert kept in text
    assert site_of(text).api.port == 8081


# --- the CLI ------------------------------------------------------------------------------


def test_cli_import_writes_out_and_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site.yaml"
    assert main(["import-csv", str(CSV), "--base", str(BASE), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("warning: ") == 2 and "12365" in captured.err
    assert out.read_text(encoding="utf-8") == import_csv(CSV, base=BASE)[0]


def test_cli_import_bad_csv_exits_2(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", HEADER + "merged,城建局,城建服务热线,83531111,\nsoon,安监局,x,85129699,\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE")}
    proc = subprocess.run([sys.executable, "-m", "hotline", "import-csv", str(bad), "--out", str(tmp_path / "o")],
                          check=False, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "[invalid-config]" in proc.stderr and str(bad) in proc.stderr
    assert "row 3, column mode" in proc.stderr and "'soon'" in proc.stderr
    assert not (tmp_path / "o").exists()
