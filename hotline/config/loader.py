"""Layered configuration: defaults (in the model), the YAML site file, then
environment variables ``HOTLINE__SECTION__KEY=value`` (and CLI overrides in the
same dotted form). Every problem is reported with file, field path and value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from hotline.exceptions import ConfigError

from . import checks
from .site import SiteConfig

ENV_PREFIX = "HOTLINE__"
_SECRET_KEYS = frozenset({"secret", "password"})


def _set_path(data: dict[str, Any], dotted: list[str], value: Any) -> None:
    node = data
    for key in dotted[:-1]:
        nxt = node.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            node[key] = nxt
        node = nxt
    node[dotted[-1]] = value


def overrides_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``HOTLINE__STORE__URL=x`` -> ``{"store.url": "x"}``. Only scalar sections."""
    out: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX):
            out[".".join(part.lower() for part in key[len(ENV_PREFIX):].split("__"))] = value
    return out


def _problems_from_validation(exc: ValidationError) -> list[tuple[str, str, Any]]:
    problems = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        if isinstance(value, dict):  # a whole section: show it, but not the secrets in it
            value = {k: ("***" if k in _SECRET_KEYS else v) for k, v in value.items()}
        # (a secret that is itself the bad value is shown: it cannot be a working credential)
        problems.append((path, err["msg"], value))
    return problems


def parse_site(data: Any, source: str = "<site config>") -> SiteConfig:
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "the site config must be a mapping", type(data).__name__)])
    try:
        site = SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _problems_from_validation(exc)) from None
    problems = checks.problems(site)
    if problems:
        raise ConfigError(source, problems)
    return site


def read_yaml(path: Path) -> Any:
    """The YAML document in ``path``; a missing, unreadable or invalid file is a ConfigError
    naming the file (and, for YAML errors, the line and column)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [("", "file not found", source)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [("", f"cannot read: {exc}", source)]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(source, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}", None)]) from None


def load_site(path: str | Path, overrides: Mapping[str, str] | None = None,
              environ: Mapping[str, str] | None = None) -> SiteConfig:
    """Read, layer and validate a site config. Raises :class:`ConfigError`."""
    path = Path(path)
    source = str(path)
    data = read_yaml(path)
    if data is None:
        data = {}
    layered = dict(overrides_from_env(environ if environ is not None else os.environ))
    layered.update(overrides or {})
    if isinstance(data, dict):
        for dotted, value in layered.items():
            _set_path(data, dotted.split("."), value)
    return parse_site(data, source)
