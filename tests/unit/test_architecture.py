"""The import rules and line budget of ARCHITECTURE.md, checked on the source (no import is run).

Every ``import`` of the five packages is read with :mod:`ast` (function-level and
``TYPE_CHECKING`` imports included: a deferred import is still an arrow) and checked against
the layer table below:

1. an import goes to the same layer or a lower one, never up;
2. features and adapters never import each other (features never import trunk_config or
   agi_scripts; trunk_config and agi_scripts import no live service);
3. no import cycle between modules, and none between hotline subpackages (``hotline.calls``,
   ``hotline.store``, ...; the other four packages count as one each);
4. no module over 400 lines and no function over 80, unless its docstring starts with
   ``Long because: <reason>``.

Violations owned by work in progress are listed in KNOWN_VIOLATIONS. That list may only shrink:
a listed violation that no longer exists fails the test too, so it is removed when fixed.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hotline", "ivr", "agi_scripts", "queue_manager", "trunk_config")

# The layer table, lowest rank first: (rank, layer, module prefixes). A module belongs to the
# layer of its longest matching prefix, so everything under hotline.* not listed is a feature.
# An import may go to its own rank or a lower one (ARCHITECTURE.md, "Import rules").
LAYERS: list[tuple[int, str, tuple[str, ...]]] = [
    # errors with stable ids, durable writes, small tools
    (0, "base", ("hotline.exceptions", "hotline.filemodes", "hotline.throttle", "hotline.latency",
                 "hotline.privacy", "hotline.resources", "hotline.statelock", "hotline.supervise")),
    # the site model and its loader
    (1, "config", ("hotline.config",)),
    # pure descriptions every party of a call shares: call plan, marks, ids
    (2, "spine", ("hotline.spine",)),
    # plain data the store keeps and the features use (call record, work order)
    (3, "records", ("hotline.records",)),
    # pure libraries: prompts and office hours; queue membership and KPI arithmetic
    (3, "libraries", ("ivr", "queue_manager")),
    # the Asterisk config generator and the FastAGI server
    (4, "adapters", ("trunk_config", "agi_scripts")),
    # features and what they stand on (ami, store, http kit, live): everything else in hotline
    (4, "features", ("hotline",)),
    # build and start everything: the only code that may import every part
    (5, "entry points", ("hotline.app", "hotline.cli", "hotline.deploy", "hotline.demo",
                         "hotline.agi_process", "hotline.__main__", "hotline.compose", "hotline.api.app")),
]
# The two layers of rank 4 never import each other.
NOT_ACROSS = {"adapters", "features"}

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
REASON = "Long because:"

# Violations tolerated while work in progress fixes them, each with a comment naming the work.
# Only ever remove entries: a fixed one fails test_known_violations_only_shrink. Empty since
# issue 10 (spine, root and shape work merged).
KNOWN_VIOLATIONS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: int


def _modules() -> dict[str, Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            text = path.read_text(encoding="utf-8")
            found[".".join(parts)] = Module(".".join(parts), path, ast.parse(text), len(text.splitlines()))
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    """The module ``name`` is, or lies in (``pkg.mod.Class`` -> ``pkg.mod``); None if outside."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: Module) -> set[str]:
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    targets: set[str | None] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            targets.update(_known(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # "from pkg import sub" imports the submodule, "from pkg import name" the package.
            targets.update(_known(f"{source}.{a.name}") if f"{source}.{a.name}" in MODULES
                           else _known(source) for a in node.names)
    return {t for t in targets if t is not None and t != module.name}


GRAPH = {name: _imports(module) for name, module in MODULES.items()}


def layer_of(module: str) -> str:
    matches = [(len(prefix), layer) for _, layer, prefixes in LAYERS for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]
    return max(matches)[1] if matches else "?"


RANK = {layer: rank for rank, layer, _ in LAYERS}


def unit_of(module: str) -> str:
    """The package a module counts in for the package-cycle rule: hotline.<sub> or the top package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "hotline" and len(parts) > 1 else parts[0]


def _cyclic_edges(graph: dict[str, set[str]]) -> Iterator[tuple[str, str]]:
    """Every edge a -> b where b also reaches a (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = itertools.count()

    def visit(node: str) -> None:
        index[node] = low[node] = next(counter)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            while True:
                member = stack.pop()
                component[member] = index[node]
                if member == node:
                    break

    for node in sorted(graph):
        if node not in index:
            visit(node)
    for a in sorted(graph):
        for b in sorted(graph[a]):
            if component[a] == component.get(b):
                yield a, b


def violations() -> dict[str, str]:
    """Key (as in KNOWN_VIOLATIONS) -> the one-line message naming module, import and rule."""
    return {**import_violations(GRAPH), **size_violations(MODULES)}


def import_violations(graph: dict[str, set[str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for a, targets in sorted(graph.items()):
        for b in sorted(targets):
            la, lb = layer_of(a), layer_of(b)
            if {la, lb} == NOT_ACROSS:
                found[f"adapter: {a} -> {b}"] = (
                    f"{a} ({la}) imports {b} ({lb}): features and adapters never import each other")
            elif RANK[lb] > RANK[la]:
                found[f"layer: {a} -> {b}"] = f"{a} ({la}) imports {b} ({lb}): a layer never imports a higher one"
    for a, b in _cyclic_edges(graph):
        found[f"module cycle: {a} -> {b}"] = f"{a} imports {b}, which leads back to it: no import cycle"
    units: dict[str, set[str]] = {}
    why: dict[tuple[str, str], str] = {}
    for a, targets in sorted(graph.items()):
        units.setdefault(unit_of(a), set())
        for b in sorted(targets):
            if unit_of(a) != unit_of(b):
                units[unit_of(a)].add(unit_of(b))
                why.setdefault((unit_of(a), unit_of(b)), f"{a} imports {b}")
    for a, b in _cyclic_edges(units):
        found[f"package cycle: {a} -> {b}"] = (
            f"{why[a, b]}, and {b} leads back to {a}: no cycle between hotline subpackages")
    return found


def size_violations(modules: dict[str, Module]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, module in sorted(modules.items()):
        if module.lines > MAX_MODULE_LINES and not _has_reason(module.tree):
            found[f"module size: {name}"] = (
                f"{name}: {module.lines} lines > {MAX_MODULE_LINES}; split it or start its docstring '{REASON}'")
        for qualname, node in _functions(module.tree):
            length = node.end_lineno - node.lineno + 1 if node.end_lineno else 0
            if length > MAX_FUNCTION_LINES and not _has_reason(node):
                found[f"function size: {name}.{qualname}"] = (
                    f"{name}.{qualname}: {length} lines > {MAX_FUNCTION_LINES}; "
                    f"split it or start its docstring '{REASON}'")
    return found


def _has_reason(node: ast.AST) -> bool:
    doc = ast.get_docstring(node) if isinstance(
        node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
    return bool(doc and doc.startswith(REASON))


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if layer_of(m) == "?"] == []


def test_imports_follow_the_layer_table() -> None:
    found = violations()
    new = [found[key] for key in sorted(found) if key not in KNOWN_VIOLATIONS]
    assert not new, "import rules broken (see ARCHITECTURE.md):\n" + "\n".join(new)


def test_known_violations_only_shrink() -> None:
    gone = sorted(KNOWN_VIOLATIONS - violations().keys())
    assert not gone, "fixed, remove from KNOWN_VIOLATIONS:\n" + "\n".join(gone)


# The checker itself, on small graphs: each rule fires and names the import.

def test_layer_of_uses_the_longest_prefix() -> None:
    assert layer_of("hotline.config.site") == "config"
    assert layer_of("hotline.calls.model") == "features"
    assert layer_of("hotline.app") == "entry points"
    assert layer_of("trunk_config.dialplan") == "adapters"
    assert layer_of("hotline.exceptions") == "base"


def test_cyclic_edges_finds_only_edges_on_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert sorted(_cyclic_edges(graph)) == [("a", "b"), ("b", "c"), ("c", "a")]


def test_reason_exempts_a_long_function() -> None:
    body = "\n".join("    x = 1" for _ in range(MAX_FUNCTION_LINES))
    long_fn = ast.parse(f"def f():\n{body}\n")
    excused = ast.parse(f'def f():\n    """{REASON} a table."""\n{body}\n')
    assert [_has_reason(n) for _, n in _functions(long_fn)] == [False]
    assert [_has_reason(n) for _, n in _functions(excused)] == [True]


def test_each_rule_names_the_module_the_import_and_the_rule() -> None:
    graph = {
        "hotline.config.site": {"hotline.store.store"},        # up a layer
        "hotline.calls.control": {"trunk_config.dialplan"},    # a feature importing an adapter
        "trunk_config.manager": {"hotline.seats.services"},    # an adapter importing a live service
        "hotline.store.store": {"hotline.calls.model"},        # store -> calls ...
        "hotline.calls.model": {"hotline.calls.legs"},
        "hotline.calls.legs": {"hotline.store.journal", "hotline.calls.model"},   # ... -> store: cycles
        "hotline.store.journal": set(),
        "hotline.seats.services": set(),
        "trunk_config.dialplan": set(),
    }
    found = import_violations(graph)
    assert found["layer: hotline.config.site -> hotline.store.store"] == (
        "hotline.config.site (config) imports hotline.store.store (features): a layer never imports a higher one")
    assert "features and adapters never import each other" in found["adapter: hotline.calls.control -> "
                                                                      "trunk_config.dialplan"]
    assert "adapter: trunk_config.manager -> hotline.seats.services" in found
    assert found["module cycle: hotline.calls.legs -> hotline.calls.model"] == (
        "hotline.calls.legs imports hotline.calls.model, which leads back to it: no import cycle")
    assert found["package cycle: hotline.store -> hotline.calls"] == (
        "hotline.store.store imports hotline.calls.model, and hotline.calls leads back to hotline.store: "
        "no cycle between hotline subpackages")
    assert sorted(k for k in found if k.startswith("package cycle")) == [
        "package cycle: hotline.calls -> hotline.store", "package cycle: hotline.store -> hotline.calls"]


def test_imports_are_read_from_the_source() -> None:
    assert "hotline.config.checks" in GRAPH["hotline.config.loader"]          # from . import checks
    assert "hotline.records.call" in GRAPH["hotline.store.store"]             # from x.y import Name
    assert GRAPH["hotline.records.call"] == set()                            # stdlib only
