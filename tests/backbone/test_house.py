"""The house stays one-way (docs/architecture.md): read from the code, not from a diagram.

- no import circle between backend modules, counting imports inside functions too;
- each module imports only its own layer or the layers below it, and no domain imports sync;
- only backend/db.py asks which database it is on;
- no backend module over 800 lines, no PWA module over 450.
"""
import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_db

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "backend"

# the layers, lowest first (docs/architecture.md draws them)
GROUND = {"config", "common", "errors", "extensions", "db", "feed", "events", "jobs", "logs", "metrics", "filemodes",
          "csvexport"}
DOMAINS = {"auth", "org", "geo", "cases", "visits", "plans", "payments", "escalations", "policy", "push", "routing", "presence"}
SYNC = {"sync"}
TOP = {"", "consoles", "retention", "demo", "cli", "worker", "health"}
LAYERS = [GROUND, DOMAINS, SYNC, TOP]


def _modules() -> dict[str, Path]:
    found = {}
    for path in BACKEND.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The backend modules `name` imports, anywhere in its body."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) if node.level else node.module
            subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
            targets = subs if len(subs) == len(node.names) else [base, *subs]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in MODULES and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}
EDGES = [(a, b) for a, targets in GRAPH.items() for b in targets]


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, if there is any (depth-first search for a back edge)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _top(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(name: str) -> int:
    top = _top(name)
    for index, members in enumerate(LAYERS):
        if top in members:
            return index
    raise AssertionError(f"{name}: a new package — give it a layer in docs/architecture.md and in this test")


def test_every_module_has_a_layer():
    for name in MODULES:
        _layer(name)


def test_no_import_circles():
    cycle = _a_cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_imports_only_run_down():
    upward = [f"{a} -> {b}" for a, b in EDGES if _layer(b) > _layer(a)]
    assert not upward, "imports that run back up: " + ", ".join(sorted(upward))


def test_no_domain_imports_sync():
    into_sync = [f"{a} -> {b}" for a, b in EDGES if _top(b) == "sync" and _top(a) in DOMAINS | GROUND]
    assert not into_sync, into_sync


def test_dialect_checks_live_only_in_the_database_seam():
    found = []
    for name, path in MODULES.items():
        if name == "backend.db":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "dialect":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .dialect")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and any(
                    marker in node.value for marker in ("pg_advisory", "BEGIN IMMEDIATE", "PRAGMA ")):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value[:30]!r}")
    assert not found, found


def test_modules_stay_small():
    big = [f"{p.relative_to(ROOT)} ({n})" for p in BACKEND.rglob("*.py") if (n := len(p.read_text().splitlines())) > 800]
    big += [f"{p.relative_to(ROOT)} ({n})" for p in (ROOT / "pwa").rglob("*.js")
            if "vendor" not in p.parts and (n := len(p.read_text().splitlines())) > 450]
    assert not big, big


def test_the_check_sees_a_circle():
    """The checks above are only as good as the graph: a known edge of each kind must show."""
    assert "backend.feed" in GRAPH["backend.sync.ops"] and "backend.feed" in GRAPH["backend.cases.services"]
    probe = {**GRAPH, "backend.feed": GRAPH["backend.feed"] | {"backend.sync.ops"}}
    assert _a_cycle(probe) is not None
