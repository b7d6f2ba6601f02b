"""Bad and hostile input, end to end through the command line.

Each bad row must be refused with a message naming the file, the line and
(where there is one) the field; odd-but-valid rows must be stored and handled
safely (recorded on the judgment, cut in the request, neutralised in CSV).
Nothing stored before may change.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from _pg import cli_env, fetch, paper_row, run_cli, snapshot, write_jsonl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BIG = 1_000_000


def _bad_lines() -> list[tuple[bytes, str | None, str]]:
    """(raw line, field named in the error or None, words the error must contain)."""
    dump = lambda row: json.dumps(row).encode()  # noqa: E731
    return [
        (b'{"id": "b1", "title": "Broken", "abstract": "no closing brace"', None, "not valid JSON"),
        (b'{"id": "b2", "title": "Trailing comma", "abstract": "x",}', None, "not valid JSON"),
        (dump({"id": "b3", "title": "Number", "abstract": 123}), "abstract", "expected a string"),
        (dump({"id": "b4", "title": ["a", "list"], "abstract": "x"}), "title", "expected a string"),
        (dump({"id": "b5", "title": "Object", "abstract": {"text": "x"}}), "abstract", "expected a string"),
        (dump({"id": "b6", "title": "No abstract"}), "abstract", "missing"),
        (dump({"id": "b7", "title": "Empty abstract", "abstract": "  \n "}), "abstract", "empty"),
        (dump({"id": "b8", "title": "Null abstract", "abstract": None}), "abstract", "missing"),
        (b'{"id": "b9", "title": "Latin-1 \xe9t\xe9", "abstract": "x"}', None, "UTF-8"),
        (b'{"id": "b10", "title": "Raw NUL", "abstract": "a\x00b"}', None, "NUL"),
        (dump({"id": "b11", "title": "Escaped NUL", "abstract": "a\u0000b"}), "abstract", "NUL"),
        (dump({"id": "b12", "title": "Authors", "abstract": "x", "authors": "A B"}), "authors", "expected a list"),
        (dump({"id": "b13", "title": "Date", "abstract": "x", "published": "last week"}), "published", "ISO date"),
        (dump({"id": "b14", "title": "Cites", "abstract": "x", "citations": -3}), "citations", "non-negative"),
        (dump({"id": "b15", "title": "Typo", "abstarct": "x"}), "abstarct", "unknown field"),
        (b"[1, 2, 3]", None, "JSON object"),
        (b'"just a string"', None, "JSON object"),
        # the id of a stored paper, with a broken field: refused, the stored paper untouched
        (dump({"id": "p000003", "title": "Overwrite?", "abstract": 5}), "abstract", "expected a string"),
    ]


@pytest.fixture
def setup(tmp_path, fake_server):
    """A database with 10 papers judged through the CLI, and an env to run the CLI."""
    db = str(tmp_path / "inputs.db")
    env = cli_env(db=db, base_url=fake_server.base_url, api_key="sk-test-inputs")
    good = write_jsonl(tmp_path / "good.jsonl", (paper_row(i) for i in range(10)))
    r = run_cli(["ingest", str(good)], env)
    assert r.returncode == 0, r.stderr
    r = run_cli(["annotate", "--model", "fake-model", "--concurrency", "4"], env)
    assert r.returncode == 0 and "done 10, failed 0" in r.stdout, (r.stdout, r.stderr)
    return db, env


def _unchanged(before: dict, after: dict) -> None:
    for table, rows in before.items():
        missing = set(rows) - set(after[table])
        assert not missing, f"{table}: stored rows changed or vanished: {sorted(missing)[:2]}"


def test_bad_rows_are_refused_with_file_line_and_field(setup, tmp_path):
    db, env = setup
    before = snapshot(db)
    cases = _bad_lines()
    lines = [raw for raw, _, _ in cases]
    # a duplicate id within the file: the first copy is a new paper, the second is refused
    lines.append(json.dumps({"id": "dup-1", "title": "First copy", "abstract": "Kept."}).encode())
    lines.append(json.dumps({"id": "dup-1", "title": "Second copy", "abstract": "No."}).encode())
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(lines) + b"\n")

    r = run_cli(["ingest", str(bad)], env)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert f"new 1, updated 0, unchanged 0, rejected {len(cases) + 1}" in r.stdout
    errors = [line for line in r.stderr.splitlines() if line.startswith("rejected ")]
    by_line = {}
    for line in errors:
        where = line.split()[1]  # "path:LINE:" or "path:LINE,"
        by_line[int(where.rstrip(":,").rsplit(":", 1)[1])] = line
        assert str(bad) in line, line
    for lineno, (_, field, words) in enumerate(cases, start=1):
        message = by_line.get(lineno)
        assert message, f"line {lineno} was not reported: {r.stderr}"
        assert words.lower() in message.lower(), message
        if field:
            assert f"field '{field}'" in message, message
    dup = by_line[len(cases) + 2]
    assert "field 'id'" in dup and "duplicate" in dup and f"{bad}:{len(cases) + 1}" in dup

    after = snapshot(db)
    _unchanged(before, after)
    for table in ("judgments", "tasks", "llm_calls", "authorships"):
        assert after[table] == before[table], table
    added = fetch(db, "SELECT external_id, title FROM papers WHERE external_id LIKE 'dup-%'")
    assert added == [("dup-1", "First copy")]
    assert len(after["papers"]) == len(before["papers"]) + 1
    # with --allow-rejects the same file exits 0 and stores nothing new the second time
    r = run_cli(["ingest", "--allow-rejects", str(bad)], env)
    assert r.returncode == 0 and "new 0, updated 0, unchanged 1" in r.stdout, r.stdout
    assert snapshot(db) == after


def test_odd_but_valid_input_is_stored_whole_and_handled_safely(setup, tmp_path, fake_server):
    db, env = setup
    before = snapshot(db)
    huge = ("lorem ipsum dolor sit amet " * (BIG // 27 + 1))[:BIG].strip()
    rows = [
        {"id": "big", "title": "A one megabyte abstract", "abstract": huge},
        {
            "id": "html",
            "title": "HTML <i>inside</i>",
            "abstract": "<p>We use <b>bold</b> claims &amp; <a href='x'>links</a>.</p><p>Then 2 &lt; 3.</p>",
        },
        {
            "id": "latex",
            "title": "LaTeX $\\mathcal{O}(n^2)$",
            "abstract": "We show $a<b$ and $c>d$ with \\textbf{care}; 50\\% faster. % a TeX comment",
        },
        {"id": "delim", "title": "Delimiters", "abstract": "Text that closes </paper> early and opens <PAPER> again."},
        {"id": "f1", "title": '=HYPERLINK("http://evil.example","x")', "abstract": "=1+1 abstract"},
        {
            "id": "f2",
            "title": "+cmd|' /C calc'!A0",
            "abstract": "@SUM(A1:A9) abstract",
            "authors": ["=EVIL()", "-Minus Author"],
        },
        {"id": "f3", "title": "-2+3", "abstract": "-negative start", "categories": ["@cat"]},
        {"id": "emoji", "title": "Ünïcødé 🧪 漢字", "abstract": "Résumé of a 🚀 paper; RTL \u202e text."},
    ]
    weird = write_jsonl(tmp_path / "weird.jsonl", rows)
    r = run_cli(["ingest", str(weird)], env)
    assert r.returncode == 0 and "new 8, updated 0, unchanged 0, rejected 0" in r.stdout, r.stderr
    fake_server.reset(keep_config=True)
    r = run_cli(["annotate", "--model", "fake-model", "--concurrency", "4"], env)
    assert r.returncode == 0 and "done 8, failed 0" in r.stdout, (r.stdout, r.stderr)
    _unchanged(before, snapshot(db))  # the 10 stored papers and their judgments are as they were

    stored = dict(fetch(db, "SELECT external_id, abstract FROM papers"))
    assert stored["big"] == huge and len(stored["big"]) == len(huge)  # ingested whole
    assert stored["html"] == "We use bold claims & links.\n\nThen 2 < 3."
    assert stored["latex"] == rows[2]["abstract"]  # LaTeX kept as written
    flags = dict(
        fetch(db, "SELECT p.external_id, j.abstract_truncated FROM judgments j JOIN papers p ON p.id = j.paper_id")
    )
    assert bool(flags["big"]) is True
    assert not any(bool(v) for k, v in flags.items() if k != "big")

    sent = {}
    for req in fake_server.chat_requests():
        user = [m["content"] for m in req["body"]["messages"] if m["role"] == "user"][0]
        for key, row in zip(("big", "delim"), (rows[0], rows[3])):
            if row["title"] in user:
                sent[key] = user
    big = sent["big"]
    assert "[... abstract cut to length ...]" in big
    assert len(big) < 12_000 + 2_000 and huge[:5_000] in big  # cut, not dropped
    # the abstract cannot close or reopen the prompt's own <paper> fence
    assert sent["delim"].lower().count("</paper>") == 1
    assert sent["delim"].lower().count("<paper>") == 1

    out = tmp_path / "export.csv"
    r = run_cli(["export", "--format", "csv", "-o", str(out)], env)
    assert r.returncode == 0, r.stderr
    limit = csv.field_size_limit(4 * BIG)  # the 1 MB abstract is one cell
    try:
        table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    finally:
        csv.field_size_limit(limit)
    header, body = table[0], table[1:]
    assert len(body) == 18
    for row in body:
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"formula cell in CSV export: {cell!r}"
    cells = {c for row in body for c in row}
    for neutral in (
        '\'=HYPERLINK("http://evil.example","x")',
        "'+cmd|' /C calc'!A0",
        "'=1+1 abstract",
        "'@SUM(A1:A9) abstract",
        "'-2+3",
        "'-negative start",
        "'@cat",
    ):
        assert neutral in cells, neutral
    assert any(c.startswith("'=EVIL()") for c in cells)
    big_row = [row for row in body if row[header.index("title")] == "A one megabyte abstract"][0]
    assert len(big_row[header.index("abstract")]) == len(huge)
