"""Raw SQL lives only in the query modules (``annotator/db/queries/``), the migrations,
the ``db copy`` table copier, the task queue and the prompt registry.

The scan reads every module of annotator/ (``ast``) and flags a call to ``text(...)`` or
``sql(...)`` whose first argument is a string (a literal, an f-string or a concatenation),
and any string constant that starts, after whitespace, with SQL (SELECT, INSERT INTO,
UPDATE ... SET, DELETE FROM, WITH ... AS), case-insensitive; docstrings are prose and
left out.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = (
    "annotator/db/queries/",
    "annotator/db/migrations.py",
    "annotator/db/copy.py",
    "annotator/jobs/queue.py",
    "annotator/prompts/registry.py",
)

_SQL = re.compile(
    r"\s*(select\s|insert\s+(or\s+\w+\s+)?into\s|update\s+\w+\s+set\s|delete\s+from\s"
    r"|with\s+(recursive\s+)?\w+\s+as\s*\()",
    re.IGNORECASE,
)


def _is_string(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.BinOp) and (_is_string(node.left) or _is_string(node.right))


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sql_lines(source: str) -> list[int]:
    """Line numbers of SQL written as text in ``source``."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and _is_string(node.args[0]):
            name = (
                node.func.id
                if isinstance(node.func, ast.Name)
                else (node.func.attr if isinstance(node.func, ast.Attribute) else None)
            )
            if name in ("text", "sql"):
                lines.add(node.lineno)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and _SQL.match(node.value)
        ):
            lines.add(node.lineno)
    return sorted(lines)


def _modules() -> dict[str, str]:
    return {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted((ROOT / "annotator").rglob("*.py"))
    }


def test_scanner_finds_sql_and_spares_prose():
    bad = (
        "from sqlalchemy import text\n"
        'a = conn.execute(text("SELECT 1"))\n'
        'b = sql(f"DELETE FROM t WHERE id IN :ids", "ids")\n'
        'c = "  insert into papers (id) values (:i)"\n'
        'd = ("UPDATE authors SET name = :n "\n     "WHERE id = :i")\n'
        'e = "with recent AS (SELECT 1) SELECT * FROM recent"\n'
        'f = sa.text("x" + y)\n'
    )
    assert sql_lines(bad) == [2, 3, 4, 5, 7, 8]
    good = (
        '"""Select the papers to delete from the list."""\n'
        'def f():\n    """Insert rows; update the set."""\n'
        'g = "with concurrency 4"\n'
        'h = "Selected: 3 papers"\n'
        'i = path.write_text("Updated")\n'
        "j = text(query)\n"
    )
    assert sql_lines(good) == []


def test_sql_lives_in_the_query_modules():
    found = [
        f"{name}:{line}"
        for name, source in _modules().items()
        if not name.startswith(ALLOWED)
        for line in sql_lines(source)
    ]
    assert found == [], (
        "SQL outside the query modules (move it into a named function of annotator/db/queries/):\n" + "\n".join(found)
    )
