"""The shape of the code: no import cycles between modules, small modules, no clashing
class names, and the floors documented as they are enforced.

The floors themselves (which package may import which) are import-linter's layers
contract in ``pyproject.toml``, checked by ``lint-imports`` in ``.ci/test.sh``; here
the table in ``docs/architecture.md`` is held to it.

The import graph is read from the source (``ast``), imports inside functions
included: an import that is deferred to a function still makes a cycle.
Imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("annotator",)
MAX_LINES = 400


def source_files() -> dict[str, Path]:
    """Module name -> file, for the packages and cli.py."""
    files = {"cli": REPO / "cli.py"}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` (a module or a module attribute) lies in."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                found = _resolve(name, files)
                if found and found != module:
                    targets.add(found)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(import_graph(source_files())) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_function_level_imports_count(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "one.py").write_text("def f():\n    from pkg import two\n")
    (tmp_path / "pkg" / "two.py").write_text("from pkg.one import f\n")
    files = {"pkg.one": tmp_path / "pkg" / "one.py", "pkg.two": tmp_path / "pkg" / "two.py"}
    assert cycles(import_graph(files)) == [["pkg.one", "pkg.two"]]


@pytest.mark.parametrize("module", sorted(source_files()))
def test_modules_stay_small(module):
    lines = len(source_files()[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def test_no_two_public_classes_share_a_name():
    by_name = defaultdict(list)
    for module, path in source_files().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                by_name[node.name].append(module)
    assert {name: mods for name, mods in by_name.items() if len(mods) > 1} == {}


def contract_floors() -> list[set[str]]:
    """The floors of the layers contract in pyproject.toml, top floor first."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [set(re.split(r"\s*[|:]\s*", floor.strip())) for floor in contract["layers"]]


def documented_floors(text: str) -> list[set[str]]:
    """The floors in the table of the "Floors" section, in its order (top floor first)."""
    section = text.split("\n## Floors\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in section.splitlines() if re.match(r"\|\s*\d+\s*\|", line)]
    return [set(re.findall(r"`([\w.]+)`", row[2])) for row in rows]


def test_the_documented_floors_are_the_enforced_ones():
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert documented_floors(text) == contract_floors()


def test_a_floor_documented_out_of_order_is_caught():
    text = "# Doc\n\n## Floors\n\n| floor | packages | what |\n|---|---|---|\n| 2 | `b` | x |\n| 1 | `a`, `c` | y |\n"
    assert documented_floors(text) == [{"b"}, {"a", "c"}]
    assert documented_floors(text.replace("`a`, `c`", "`a`")) != [{"b"}, {"a", "c"}]
