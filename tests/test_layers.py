"""The architecture, enforced over the source (`ast`, nothing imported): imports only point down.

    base     seatctl/{errors,clock,config}.py (and the package's __init__): imports only base
    rules    base + rules; never SQLAlchemy, SQLModel, Alembic or a terminal library
    store    base + rules + store (migrations included)
    ops      base + rules + store + ops
    reports  base + rules + store + ops + reports
    cli      anything of seatctl (so does seatctl/__main__.py, the entry point)

Only cli/ may import Typer, Rich, Click or tabulate. Every import counts: top-level, inside a
function, under `if TYPE_CHECKING:`, relative ones, and `import_module("seatctl…")` with a literal
name. Among the imports that run when a module is imported (not those inside functions or under
`if TYPE_CHECKING:`), no two seatctl modules may import each other, directly or round a cycle."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import seatctl

PACKAGE = Path(seatctl.__file__).resolve().parent
ROOT = PACKAGE.parent
BASE = ("seatctl", "seatctl.errors", "seatctl.clock", "seatctl.config")
LAYERS = ("base", "rules", "store", "ops", "reports", "cli")  # low → high
# What each layer may import from seatctl (cli and the entry point: everything).
ALLOWED = {
    "base": {"base"},
    "rules": {"base", "rules"},
    "store": {"base", "rules", "store"},
    "ops": {"base", "rules", "store", "ops"},
    "reports": {"base", "rules", "store", "ops", "reports"},
    "cli": set(LAYERS),
}
TERMINAL = {"typer", "rich", "click", "tabulate"}  # only cli/ may import these
DATABASE = {"sqlalchemy", "sqlmodel", "alembic"}  # never in rules/


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    source: str  # the statement as written
    target: str  # the absolute module name it imports
    at_import_time: bool  # runs when the module is imported (not in a function, not for type checking only)

    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """The layer of a seatctl module; the entry point counts as cli."""
    if module in BASE:
        return "base"
    if module == "seatctl.__main__":
        return "cli"
    part = module.split(".")[1]
    assert part in LAYERS, f"{module}: not in any layer; add it to tests/test_layers.py"
    return part


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _type_checking_only(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path) -> Iterator[Import]:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def absolute(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = package.split(".")
        base = base[:len(base) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])

    def written(node: ast.stmt | ast.expr) -> str:
        return " ".join((ast.get_source_segment(text, node) or "").split())

    def visit(node: ast.AST, runs: bool) -> Iterator[Import]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            runs = False
        if isinstance(node, ast.If) and _type_checking_only(node.test):
            for child in node.body:
                yield from visit(child, False)
            for child in node.orelse:
                yield from visit(child, runs)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, written(node), alias.name, runs)
        elif isinstance(node, ast.ImportFrom):
            origin = absolute(node)
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                yield Import(path, node.lineno, written(node), submodule if _is_module(submodule) else origin, runs)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))
                   or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))):
            yield Import(path, node.lineno, written(node), node.args[0].value, runs)
        for child in ast.iter_child_nodes(node):
            yield from visit(child, runs)

    yield from visit(tree, True)


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@cache
def all_imports() -> list[Import]:
    return [imp for path in source_files() for imp in imports_of(path)]


def violations(imports: list[Import]) -> list[str]:
    found = []
    for imp in imports:
        layer = layer_of(module_name(imp.file))
        top = imp.target.split(".")[0]
        if imp.target == "seatctl" or imp.target.startswith("seatctl."):
            target_layer = layer_of(imp.target)
            if target_layer not in ALLOWED[layer]:
                allowed = ", ".join(sorted(ALLOWED[layer], key=LAYERS.index))
                found.append(f"{imp.where()}: `{imp.source}` imports {imp.target} ({target_layer}); "
                             f"{layer} may import only {allowed}")
        elif top in TERMINAL and layer != "cli":
            found.append(f"{imp.where()}: `{imp.source}` imports {top}; only seatctl/cli/ may use {top}")
        elif top in DATABASE and layer in ("base", "rules"):
            found.append(f"{imp.where()}: `{imp.source}` imports {top}; {layer} stays free of {top}")
    return found


def cycles(imports: list[Import]) -> list[list[Import]]:
    """One cycle per strongly connected group of modules (Tarjan), as the import statements round it."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in imports:
        if imp.at_import_time and imp.target.startswith("seatctl"):
            edges.setdefault(module_name(imp.file), {}).setdefault(imp.target, imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges.get(node, {}):
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            connect(node)

    found = []
    for group in groups:
        start = min(group)
        path, seen = [start], {start}
        while True:  # walk inside the group until a module repeats: that closes a cycle
            nxt = min(t for t in edges[path[-1]] if t in group)
            if nxt in seen:
                loop = path[path.index(nxt):] + [nxt]
                found.append([edges[a][b] for a, b in zip(loop, loop[1:], strict=False)])
                break
            path.append(nxt)
            seen.add(nxt)
    return found


# --- the tests ----------------------------------------------------------------------------------

def test_every_module_is_in_a_layer_and_the_scan_sees_the_imports():
    imports = all_imports()
    assert {layer_of(module_name(path)) for path in source_files()} == set(LAYERS)
    # The scan really resolves imports: cli uses the domain, and a relative or nested import is seen.
    assert any(layer_of(module_name(i.file)) == "cli" and i.target.startswith("seatctl.ops") for i in imports)
    assert any(not i.at_import_time for i in imports)


def test_imports_only_point_down():
    found = violations(all_imports())
    assert not found, "imports against the layering (tests/test_layers.py):\n" + "\n".join(found)


def test_no_import_cycles_at_import_time():
    found = cycles(all_imports())
    assert not found, "import cycles among top-level imports:\n" + "\n".join(
        " -> ".join(f"{module_name(imp.file)} ({imp.where()}: `{imp.source}`)" for imp in cycle) for cycle in found)


# --- the checker itself, on made-up files -----------------------------------------------------------

def _fake(tmp_path: Path, files: dict[str, str], monkeypatch) -> list[Import]:  # type: ignore[no-untyped-def]
    for name, text in files.items():
        path = tmp_path / "seatctl" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    return [imp for path in sorted((tmp_path / "seatctl").rglob("*.py")) for imp in imports_of(path)]


def test_the_checker_names_file_line_and_import(tmp_path, monkeypatch):
    imports = _fake(tmp_path, {
        "__init__.py": "",
        "errors.py": "",
        "rules/__init__.py": "",
        "rules/money.py": "import decimal\n\n\ndef f():\n    from ..store import tables\n    import rich\n",
        "rules/names.py": "from sqlalchemy import text\nfrom seatctl import errors\n",
        "store/__init__.py": "",
        "store/tables.py": "from importlib import import_module\nimport_module('seatctl.ops.seats')\n",
        "ops/__init__.py": "",
        "ops/seats.py": "from seatctl.rules import money\n",
    }, monkeypatch)
    found = violations(imports)
    assert found == [
        "seatctl/rules/money.py:5: `from ..store import tables` imports seatctl.store.tables (store); "
        "rules may import only base, rules",
        "seatctl/rules/money.py:6: `import rich` imports rich; only seatctl/cli/ may use rich",
        "seatctl/rules/names.py:1: `from sqlalchemy import text` imports sqlalchemy; rules stays free of sqlalchemy",
        "seatctl/store/tables.py:2: `import_module('seatctl.ops.seats')` imports seatctl.ops.seats (ops); "
        "store may import only base, rules, store",
    ]


def test_the_checker_finds_a_cycle_but_not_through_a_function(tmp_path, monkeypatch):
    imports = _fake(tmp_path, {
        "__init__.py": "",
        "ops/__init__.py": "",
        "ops/a.py": "from seatctl.ops import b\n",
        "ops/b.py": "from . import c\n",
        "ops/c.py": "import seatctl.ops.a\n",
        "ops/d.py": "from seatctl.ops import a, e\n",  # d -> e -> d only inside a function: no cycle
        "ops/e.py": "import seatctl.ops.f\n\n\ndef g():\n    from seatctl.ops import d\n",
        "ops/f.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from seatctl.ops import e\n",
    }, monkeypatch)
    [cycle] = cycles(imports)
    assert [(module_name(i.file), i.line, i.source) for i in cycle] == [
        ("seatctl.ops.a", 1, "from seatctl.ops import b"),
        ("seatctl.ops.b", 1, "from . import c"),
        ("seatctl.ops.c", 1, "import seatctl.ops.a"),
    ]
