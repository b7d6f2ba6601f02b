"""SQL ``IN (...)`` lists are bound parameters, never values formatted into the SQL text.

The scan reads every module under annotator/ and db/ and flags an ``IN (`` whose list
is an f-string placeholder or a string concatenation, unless the placeholder is one
of the named constant subqueries below (SQL fragments built from constants, whose
values arrive as bound parameters themselves).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("annotator",)

# constant subqueries that may follow "IN (" (all in annotator/db/queries/): bibliometrics'
# author_paper_ids_sql(), EVAL_PAPERS_SQL and authors_tagged_sql(), the author-paper
# subquery of a profile (bibliometrics._mine: mine_sql, papers_sql); the aggregates' authors
# with new snapshots (bibliometrics_aggregates.renew_author_metrics: touched) and an
# affiliation's ids by name (AFFILIATION_IDS)
ALLOWED_SUBQUERIES = {
    "author_paper_ids_sql",
    "EVAL_PAPERS_SQL",
    "authors_tagged_sql",
    "mine_sql",
    "papers_sql",
    "touched",
    "AFFILIATION_IDS",
}

_OPEN_IN = re.compile(r"\bIN\s*\(\s*$", re.IGNORECASE)


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _ends_with_open_in(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_OPEN_IN.search(node.value))
    if isinstance(node, ast.JoinedStr) and node.values:
        return _ends_with_open_in(node.values[-1])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _ends_with_open_in(node.right)
    return False


def formatted_in_lists(source: str) -> list[int]:
    """Line numbers where an ``IN (`` list is built by formatting or concatenation."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            for before, part in zip(node.values, node.values[1:]):
                if (
                    isinstance(part, ast.FormattedValue)
                    and _ends_with_open_in(before)
                    and _name(part.value) not in ALLOWED_SUBQUERIES
                ):
                    lines.append(node.lineno)
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add)
            and _ends_with_open_in(node.left)
            and not isinstance(node.right, ast.Constant)
            and _name(node.right) not in ALLOWED_SUBQUERIES
        ):
            lines.append(node.lineno)
    return sorted(set(lines))


def test_scanner_flags_formatted_lists_and_spares_subqueries():
    bad = (
        'ids = ",".join(map(str, xs))\n'
        'a = f"SELECT id FROM papers WHERE id IN ({ids})"\n'
        'b = "SELECT id FROM papers WHERE id IN (" + ",".join(map(str, xs)) + ")"\n'
        'c = ("SELECT 1 FROM t "\n      f"WHERE x NOT IN ({_ids(xs)})")\n'
    )
    assert formatted_in_lists(bad) == [2, 3, 4]
    good = (
        'a = f"SELECT id FROM papers WHERE id IN ({S.author_paper_ids_sql()})"\n'
        'b = f"SELECT 1 WHERE x NOT IN ({EVAL_PAPERS_SQL})"\n'
        'c = text("SELECT id FROM papers WHERE id IN :ids")\n'
    )
    assert formatted_in_lists(good) == []


def test_no_in_list_is_formatted_into_sql():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for top in SCANNED
        for path in sorted((ROOT / top).rglob("*.py"))
        for line in formatted_in_lists(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "IN lists built into the SQL text (use an expanding bind parameter):\n" + "\n".join(found)
