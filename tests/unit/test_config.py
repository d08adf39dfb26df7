"""Site config validation: every bad input is a ConfigError naming file, field path and value.

Table-driven: each case starts from a small valid site, breaks one thing, writes it
as YAML and loads it with :func:`hotline.config.load_site` (with an empty
environment, so the caller's ``HOTLINE__*`` variables cannot leak in). Then the
environment layering and the ``hotline config`` CLI (exit status 2, error id
``invalid-config``, nothing generated from a bad site).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.cli import main
from hotline.config import load_site, parse_site
from hotline.config.loader import overrides_from_env
from hotline.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]

VALID: dict[str, Any] = {
    "site": {"name": "测试热线", "hotline_number": "12345", "default_queue": "hotline"},
    "api": {"bind": "127.0.0.1", "port": 8080},
    "trunks": [{"name": "carrier", "host": "192.0.2.10", "match": ["192.0.2.0/28"]}],
    "departments": [{"id": "renshe", "name": "人社局", "queue": "renshe"}],
    "queues": [{"name": "hotline"}, {"name": "renshe"}],
    "seats": [{"id": "1001", "name": "Seat 1001", "secret": "s3cret-1001", "queues": ["hotline", "renshe"]}],
    "legacy_numbers": [{"number": "12333", "mode": "parallel", "department": "renshe"}],
}


def write_site(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def broken(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    change(data)
    return data


def problems_of(exc: ConfigError) -> dict[str, tuple[str, Any]]:
    return {path: (msg, value) for path, msg, value in exc.problems}


def test_the_valid_site_is_valid(tmp_path: Path) -> None:
    site = load_site(write_site(tmp_path / "site.yaml", VALID), environ={})
    assert site.seats[0].id == "1001"
    assert site.queue_for("12333") == "renshe"
    assert site.queue_for("99999") == "hotline"


def _set(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _del(*path: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


def _append(key: str, item: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data[key].append(item)


SEAT2 = {"id": "1002", "name": "Seat 1002", "secret": "s3cret-1002"}
REG_NO_USER = {"name": "reg", "mode": "registration", "host": "198.51.100.1", "secret": "trunk-pass-1"}

# (case id, change, field path, value, words the message must contain)
FIELD_CASES: list[tuple[str, Callable, str, Any, str]] = [
    ("port-not-a-number", _set("trunks", 0, "port", value="abc"), "trunks.0.port", "abc", "integer"),
    ("api-port-not-a-number", _set("api", "port", value="abc"), "api.port", "abc", "integer"),
    ("port-out-of-range", _set("api", "port", value=70000), "api.port", 70000, "65535"),
    ("unknown-top-level-field", lambda d: d.update(trunkz=[]), "trunkz", [], "Extra inputs"),
    ("unknown-key-in-seat", _set("seats", 0, "queus", value=["hotline"]), "seats.0.queus", ["hotline"],
     "Extra inputs"),
    ("unknown-key-in-site", _set("site", "hotline_numbr", value="12345"), "site.hotline_numbr", "12345",
     "Extra inputs"),
    ("seat-without-secret", _del("seats", 0, "secret"), "seats.0.secret",
     {"id": "1001", "name": "Seat 1001", "queues": ["hotline", "renshe"]}, "required"),
    ("secret-too-short", _set("seats", 0, "secret", value="short1"), "seats.0.secret", "short1", "pattern"),
    ("secret-with-newline", _set("seats", 0, "secret", value="abcd\nefgh1234"), "seats.0.secret",
     "abcd\nefgh1234", "pattern"),
    ("secret-with-semicolon", _set("seats", 0, "secret", value="abcdefgh;1234"), "seats.0.secret",
     "abcdefgh;1234", "pattern"),
    ("seat-id-not-digits", _set("seats", 0, "id", value="agent7"), "seats.0.id", "agent7", "pattern"),
    ("queue-named-general", _append("queues", {"name": "general"}), "queues.2.name", "general", "reserved"),
    ("queue-name-upper-case", _append("queues", {"name": "Renshe"}), "queues.2.name", "Renshe", "pattern"),
    ("bad-cidr-in-match", _set("trunks", 0, "match", value=["10.0.0.300/24"]), "trunks.0.match",
     ["10.0.0.300/24"], "not an IP network"),
    ("bad-cidr-in-seat-networks", _set("asterisk", value={"seat_networks": ["lan"]}), "asterisk.seat_networks",
     ["lan"], "not an IP network"),
    ("registration-trunk-without-username", _set("trunks", 0, value=REG_NO_USER), "trunks.0",
     dict(REG_NO_USER, secret="***"), "needs username"),
    ("no-trunk", _set("trunks", value=[]), "trunks", [], "at least 1"),
    ("trunk-host-with-semicolon", _set("trunks", 0, "host", value="evil;x"), "trunks.0.host", "evil;x",
     "pattern"),
    ("unknown-number-mode", _set("legacy_numbers", 0, "mode", value="direct"), "legacy_numbers.0.mode", "direct",
     "merged"),
    ("number-not-digits", _set("legacy_numbers", 0, "number", value="1233x"), "legacy_numbers.0.number", "1233x",
     "pattern"),
    ("department-id-chinese", _set("departments", 0, "id", value="人社"), "departments.0.id", "人社", "pattern"),
    ("label-with-bracket", _set("seats", 0, "name", value="[evil]"), "seats.0.name", "[evil]", "pattern"),
    ("rtp-range-inverted", _set("asterisk", value={"rtp_start": 20000, "rtp_end": 10000}), "asterisk",
     {"rtp_start": 20000, "rtp_end": 10000}, "rtp_end"),
    ("unknown-numbers-policy", _set("site", "unknown_numbers", value="drop"), "site.unknown_numbers", "drop",
     "hotline"),
]


def test_unquoted_numbers_are_read_as_strings(tmp_path: Path) -> None:
    data = broken(_set("seats", 0, "id", value=1001))
    site = load_site(write_site(tmp_path / "site.yaml", data), environ={})
    assert site.seats[0].id == "1001"


def test_secrets_inside_a_bad_section_are_not_printed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_site(write_site(tmp_path / "site.yaml", broken(_set("trunks", 0, value=REG_NO_USER))), environ={})
    assert REG_NO_USER["secret"] not in info.value.message


def test_trunk_named_by_dns_needs_match(tmp_path: Path) -> None:
    data = broken(_set("trunks", 0, value={"name": "carrier", "host": "sip.carrier.example"}))
    with pytest.raises(ConfigError) as info:
        load_site(write_site(tmp_path / "site.yaml", data), environ={})
    assert "match" in info.value.problems[0][1]


@pytest.mark.parametrize("change,path,value,words", [c[1:] for c in FIELD_CASES], ids=[c[0] for c in FIELD_CASES])
def test_bad_field_names_path_and_value(tmp_path: Path, change, path: str, value: Any, words: str) -> None:
    site_file = write_site(tmp_path / "site.yaml", broken(change))
    with pytest.raises(ConfigError) as info:
        load_site(site_file, environ={})
    err = info.value
    assert err.error_id == "invalid-config"
    assert err.file == str(site_file)
    found = problems_of(err)
    assert path in found, f"no problem at {path}: {err.problems}"
    msg, got = found[path]
    assert got == value
    assert words.lower() in msg.lower()
    # The message a user reads names the file, the path and the value.
    assert str(site_file) in err.message and path in err.message and repr(value) in err.message
    assert err.to_dict()["details"]["problems"]


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    data = broken(_set("trunks", 0, "port", value="abc"))
    data["api"]["port"] = "xyz"
    data["seats"][0]["secret"] = "short"
    with pytest.raises(ConfigError) as info:
        load_site(write_site(tmp_path / "site.yaml", data), environ={})
    assert {"trunks.0.port", "api.port", "seats.0.secret"} <= set(problems_of(info.value))


# Cross-reference problems: found by SiteConfig's model validator. The message names
# the offending value; the field path is the one they *should* be reported at.
CROSS_CASES: list[tuple[str, Callable, str, Any, str]] = [
    ("legacy-number-is-the-hotline-number", _append("legacy_numbers",
     {"number": "12345", "mode": "merged", "department": "renshe"}), "legacy_numbers.1.number", "12345",
     "duplicate number '12345'"),
    ("same-legacy-number-twice", _append("legacy_numbers",
     {"number": "12333", "mode": "merged", "department": "renshe"}), "legacy_numbers.1.number", "12333",
     "duplicate number '12333'"),
    ("duplicate-seat-id", _append("seats", dict(SEAT2, id="1001")), "seats.1.id", "1001", "duplicate seat id '1001'"),
    ("duplicate-trunk-name", _append("trunks", {"name": "carrier", "host": "192.0.2.99"}), "trunks.1.name",
     "carrier", "duplicate trunk name 'carrier'"),
    ("duplicate-queue", _append("queues", {"name": "renshe"}), "queues.2.name", "renshe",
     "duplicate queue name 'renshe'"),
    ("seat-names-unknown-queue", _set("seats", 0, "queues", value=["hotline", "shichang"]), "seats.0.queues.1",
     "shichang", "unknown queue 'shichang'"),
    ("number-names-unknown-department", _set("legacy_numbers", 0, "department", value="gongshang"),
     "legacy_numbers.0.department", "gongshang", "unknown department 'gongshang'"),
    ("number-names-unknown-queue", _set("legacy_numbers", 0, "queue", value="shichang"),
     "legacy_numbers.0.queue", "shichang", "unknown queue 'shichang'"),
    ("department-names-unknown-queue", _set("departments", 0, "queue", value="shichang"), "departments.0.queue",
     "shichang", "unknown queue 'shichang'"),
    ("default-queue-not-configured", _set("site", "default_queue", value="zonghe"), "site.default_queue",
     "zonghe", "'zonghe' is not a configured queue"),
]
CROSS_IDS = [c[0] for c in CROSS_CASES]


@pytest.mark.parametrize("change,path,value,words", [c[1:] for c in CROSS_CASES], ids=CROSS_IDS)
def test_bad_cross_reference_names_the_value(tmp_path: Path, change, path: str, value: Any, words: str) -> None:
    site_file = write_site(tmp_path / "site.yaml", broken(change))
    with pytest.raises(ConfigError) as info:
        load_site(site_file, environ={})
    assert info.value.file == str(site_file)
    assert len(info.value.problems) == 1
    assert words in info.value.problems[0][1]
    assert words in info.value.message


@pytest.mark.parametrize("change,path,value,words", [c[1:] for c in CROSS_CASES], ids=CROSS_IDS)
def test_bad_cross_reference_names_path_and_value(tmp_path: Path, change, path: str, value: Any,
                                                  words: str) -> None:
    site_file = write_site(tmp_path / "site.yaml", broken(change))
    with pytest.raises(ConfigError) as info:
        load_site(site_file, environ={})
    found = problems_of(info.value)
    assert path in found and found[path][1] == value
    assert VALID["seats"][0]["secret"] not in info.value.message  # no secret leaks into the error


# --- the file itself ------------------------------------------------------------------

FILE_CASES = [
    ("yaml-syntax-error", "site:\n  name: x\n trunks: [\n", "line 3, column 2", None, "not valid YAML"),
    ("yaml-unclosed-flow", "trunks:\n  - name: a\n    host: [1, 2\n", "line 4, column 1", None, "not valid YAML"),
    ("yaml-tab-indent", "trunks:\n\t- name: a\n", "line 2, column 1", None, "not valid YAML"),
    ("empty-file", "", "trunks", {}, "Field required"),
    ("only-a-comment", "# nothing yet\n", "trunks", {}, "Field required"),
    ("top-level-list", "- trunks\n- seats\n", "", "list", "must be a mapping"),
    ("top-level-string", "trunks\n", "", "str", "must be a mapping"),
]


@pytest.mark.parametrize("text,path,value,words", [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_bad_file(tmp_path: Path, text: str, path: str, value: Any, words: str) -> None:
    site_file = tmp_path / "site.yaml"
    site_file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_site(site_file, environ={})
    assert info.value.file == str(site_file)
    found = problems_of(info.value)
    assert path in found, info.value.problems
    assert found[path][1] == value
    assert words in found[path][0]


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_site(missing, environ={})
    assert info.value.problems == [("", "file not found", str(missing))]
    assert str(missing) in info.value.message


def test_not_utf8(tmp_path: Path) -> None:
    site_file = tmp_path / "site.yaml"
    site_file.write_bytes("site:\n  name: 南通\n".encode("gbk"))
    with pytest.raises(ConfigError) as info:
        load_site(site_file, environ={})
    assert "cannot read" in info.value.problems[0][1]


def test_parse_site_rejects_non_mapping() -> None:
    with pytest.raises(ConfigError) as info:
        parse_site(["trunks"], "inline")
    assert info.value.file == "inline"
    assert info.value.problems == [("", "the site config must be a mapping", "list")]


# --- layering: defaults, YAML, environment, explicit overrides ---------------------------


def test_env_names_become_dotted_overrides() -> None:
    env = {"HOTLINE__STORE__URL": "postgresql://h/db", "HOTLINE__API__PORT": "9090", "HOTLINE_STATE_DIR": "x",
           "PATH": "/bin", "HOTLINE__": "ignored"}
    assert overrides_from_env(env) == {"store.url": "postgresql://h/db", "api.port": "9090"}


def test_defaults_then_yaml(tmp_path: Path) -> None:
    site = load_site(write_site(tmp_path / "site.yaml", VALID), environ={})
    assert site.store.url == ""             # default
    assert site.api.port == 8080            # from YAML
    assert site.asterisk.ami.bind == "127.0.0.1"


def test_env_over_yaml_and_overrides_over_env(tmp_path: Path) -> None:
    site_file = write_site(tmp_path / "site.yaml", broken(_set("store", value={"url": "sqlite:///yaml.db"})))
    env = {"HOTLINE__STORE__URL": "postgresql://env/db", "HOTLINE__API__PORT": "9090"}
    site = load_site(site_file, environ=env)
    assert site.store.url == "postgresql://env/db"
    assert site.api.port == 9090
    site = load_site(site_file, overrides={"api.port": "9191"}, environ=env)
    assert site.api.port == 9191
    assert site.store.url == "postgresql://env/db"
    site = load_site(site_file, overrides={"store.url": "sqlite:///cli.db"}, environ=env)
    assert site.store.url == "sqlite:///cli.db"
    assert load_site(site_file, environ={}).store.url == "sqlite:///yaml.db"


def test_env_creates_missing_sections(tmp_path: Path) -> None:
    data = broken(_del("api"))
    site = load_site(write_site(tmp_path / "site.yaml", data), environ={"HOTLINE__API__PORT": "8181"})
    assert site.api.port == 8181 and site.api.bind == "127.0.0.1"


def test_process_environment_is_used_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE__STORE__URL", "postgresql://from-os-environ/db")
    site = load_site(write_site(tmp_path / "site.yaml", VALID))
    assert site.store.url == "postgresql://from-os-environ/db"


@pytest.mark.parametrize("env,path,value", [
    ({"HOTLINE__API__PORT": "abc"}, "api.port", "abc"),
    ({"HOTLINE__STORE__URLL": "x"}, "store.urll", "x"),
])
def test_bad_env_value_is_a_config_error(tmp_path: Path, env: dict[str, str], path: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_site(write_site(tmp_path / "site.yaml", VALID), environ=env)
    assert problems_of(info.value)[path][1] == value


# --- the CLI ----------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("HOTLINE"):
            monkeypatch.delenv(key)


def _bad_site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "bad.yaml", broken(_set("trunks", 0, "port", value="abc")))


def test_cli_config_check_ok(tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    site_file = write_site(tmp_path / "site.yaml", VALID)
    assert main(["--site", str(site_file), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "1 seat(s)" in out and "1 legacy number(s)" in out


def test_cli_config_check_bad_site_exits_2(tmp_path: Path, clean_env: None,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = _bad_site(tmp_path)
    assert main(["--site", str(bad), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert "[invalid-config]" in err
    assert str(bad) in err and "trunks.0.port" in err and "'abc'" in err


def test_cli_set_override_is_validated(tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    site_file = write_site(tmp_path / "site.yaml", VALID)
    assert main(["--site", str(site_file), "--set", "api.port=nope", "config", "check"]) == 2
    err = capsys.readouterr().err
    assert "[invalid-config]" in err and "api.port" in err and "'nope'" in err


def test_cli_generate_with_bad_site_writes_nothing(tmp_path: Path, clean_env: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    assert main(["--site", str(_bad_site(tmp_path)), "--state-dir", str(state), "config", "generate"]) == 2
    assert "[invalid-config]" in capsys.readouterr().err
    assert not state.exists() or not any(state.rglob("*")), sorted(state.rglob("*"))


def test_cli_generate_with_good_site(tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    site_file = write_site(tmp_path / "site.yaml", VALID)
    assert main(["--site", str(site_file), "--state-dir", str(state), "config", "generate"]) == 0
    generated = state / "asterisk-etc"
    names = sorted(p.name for p in generated.iterdir())
    assert names == ["extensions.conf", "http.conf", "manager.conf", "modules-pool.conf", "musiconhold.conf",
                     "pjsip.conf", "queuerules.conf", "queues.conf", "rtp.conf"]
    assert (generated / "manager.conf").stat().st_mode & 0o777 == 0o600
    assert (state / "ami.secret").stat().st_mode & 0o777 == 0o600
    printed = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in printed) == names


def test_cli_subprocess_exit_status_and_nothing_written(tmp_path: Path) -> None:
    """The real console entry point, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE")}
    bad = _bad_site(tmp_path)
    state = tmp_path / "state"
    for action in ("check", "generate"):
        proc = subprocess.run([sys.executable, "-m", "hotline", "--site", str(bad), "--state-dir", str(state),
                               "config", action], check=False, capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert "hotline: error [invalid-config]" in proc.stderr
        assert "trunks.0.port" in proc.stderr and "'abc'" in proc.stderr
        assert proc.stdout == ""
    assert not state.exists() or not any(state.rglob("*"))


@pytest.mark.parametrize("example", ["examples/minimal/site.yaml", "examples/nantong/site.yaml"])
def test_examples_are_valid(example: str, clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--site", str(REPO / example), "config", "check"]) == 0
    assert "ok" in capsys.readouterr().out
