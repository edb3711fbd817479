"""The map and the code agree: the import graph of ``app/`` has no cycle and no arrow that
``docs/architecture.md`` does not allow, the code the page names exists,
and no function in ``app/`` is longer than a screen."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

APP = ROOT / "app"
DOC = ROOT / "docs" / "architecture.md"

#: Arrows the issue that drew the map forbids outright: the page may not allow them either.
FORBIDDEN = {
    "floor": {"db", "models", "migrate", "api", "live", "services", "ingest"},
    "services": {"api", "live"},
    "live": {"api"},
    "ingest": {"api", "live", "services"},
}
#: What app/floor may import besides itself: the standard library and the type declarations.
FLOOR_THIRD_PARTY = {"pydantic", "typing_extensions"}
#: Reading the clock in app/floor would make the domain's answers depend on when they run.
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic", "perf_counter"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(APP.rglob("*.py"))}


def part_of(module: str) -> str:
    """``app.ingest.bulk`` -> ``ingest``; ``app.cli`` -> ``cli``."""
    return module.split(".")[1] if module.count(".") else module


def resolve(name: str) -> str:
    """The app module an import names (``app.x.y.z`` -> the longest existing prefix)."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def imports_of(tree: ast.AST) -> Iterator[str]:
    """Every app module ``tree`` imports, wherever the import stands (in a function too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (resolve(a.name) for a in node.names if a.name.split(".")[0] == "app")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "app":
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in MODULES else resolve(node.module)


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        graph[name] = {t for t in imports_of(ast.parse(path.read_text())) if t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph)))
    try:
        for v in graph:
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def allowed_arrows() -> dict[str, set[str]]:
    """part -> the parts it may import, from the page's table (``| `part` | … | `a`, `b` |``)."""
    rows = re.findall(r"^\| `([\w_]+)` \|[^|\n]*\| ([^|\n]*) \|$", DOC.read_text(), re.M)
    return {part: set(re.findall(r"`([\w_]+)`", targets)) for part, targets in rows}


def test_the_app_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_every_part_of_the_app_is_on_the_map():
    parts = {part_of(m) for m in MODULES} - {"app"}
    assert parts - set(allowed_arrows()) == set(), "parts missing from docs/architecture.md"
    assert set(allowed_arrows()) - parts == set(), "docs/architecture.md names parts that are gone"


def test_every_import_follows_an_arrow_the_map_allows():
    allowed = allowed_arrows()
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        for target in targets
        if part_of(target) != part_of(source)
        and part_of(target) not in allowed.get(part_of(source), set())
    )
    assert wrong == []


def test_the_map_allows_none_of_the_forbidden_arrows():
    allowed = allowed_arrows()
    assert {p: allowed[p] & banned for p, banned in FORBIDDEN.items()} == {
        p: set() for p in FORBIDDEN
    }


def test_the_domain_imports_only_itself_the_standard_library_and_type_declarations():
    outside = set()
    for name, path in MODULES.items():
        if part_of(name) != "floor":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            outside |= {
                f"{name}: {r}"
                for r in roots
                if r not in sys.stdlib_module_names and r not in FLOOR_THIRD_PARTY | {"app"}
            }
    assert outside == set()


def test_the_domain_never_reads_the_clock():
    reads = set()
    for name, path in MODULES.items():
        if part_of(name) != "floor":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CLOCK_CALLS
            ):
                reads.add(f"{name}:{node.lineno} .{node.func.attr}()")
    assert reads == set()


def defines(path: Path, name: str) -> bool:
    """Whether ``path`` defines a function, class or method (Python) or function (JS) ``name``."""
    text = path.read_text()
    if path.suffix == ".py":
        return any(
            isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name
            for n in ast.walk(ast.parse(text))
        )
    return (
        re.search(rf"(function\s+{name}\b|\b{name}\s*\(.*\)\s*\{{|\b{name}\s*[:=])", text)
        is not None
    )


@pytest.mark.parametrize(
    "reference",
    sorted(
        set(re.findall(r"`((?:app|migrations|bench|tests)/[\w/.]+(?::\w+)?)`", DOC.read_text()))
    ),
)
def test_the_code_the_map_names_exists(reference):
    path, _, name = reference.partition(":")
    assert (ROOT / path).exists(), f"{path} is gone"
    if name:
        assert defines(ROOT / path, name), f"{path} no longer defines {name}"


#: A function longer than a screen does more than one job (issue 22): split it by job.
LONGEST_FUNCTION = 80


def test_no_function_in_the_app_is_longer_than_a_screen():
    long = sorted(
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > LONGEST_FUNCTION
    )
    assert long == []
