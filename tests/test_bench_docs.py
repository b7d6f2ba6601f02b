"""docs/benchmarks.md is written by bench/write_docs.py from the scripts' JSON, never by hand."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


write_docs = _module("write_docs")


def test_the_page_is_what_the_stored_results_render():
    page = (REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert page == write_docs.render(write_docs.load_results(), write_docs.load_recorded()), (
        "docs/benchmarks.md was edited by hand: change bench/recorded/*.md and run python bench/write_docs.py"
    )
    assert "### Recorded earlier" in page


def test_a_run_becomes_tables_with_its_command_and_date(tmp_path):
    results, recorded = tmp_path / "results", tmp_path / "recorded"
    recorded.mkdir()
    (recorded / "throughput.md").write_text("An older figure: 4.86 papers/s.\n")
    figures = {  # the shapes the scripts write
        "latency_ms": 200.0,
        "papers": 2000,
        "target_pass": False,
        "runs": [
            {"concurrency": 8, "papers_per_s": 38.61, "cpu_ms": None},
            {"concurrency": 128, "papers_per_s": 1376.04, "cpu_ms": 3.5},
        ],
        "passes": {"fresh": {"seconds": 12.5, "cpu": 10.0}, "again": {"seconds": 8.25, "cpu": 7.0}},
        "problems": [],
        "code": str(REPO / "annotator"),
    }
    store_result = write_docs.store_result
    store_result(
        "throughput",
        ["python", "bench/bench_throughput.py", "--full"],
        seconds=61.23,
        exit_code=0,
        environment="python 3.11 on Linux x86_64, 2 CPUs",
        figures=figures,
        results=results,
    )
    stored = json.loads((results / "throughput.json").read_text())
    assert str(REPO) not in json.dumps(stored)  # no machine paths in the repository
    assert stored["figures"]["code"] == "./annotator"

    page = write_docs.render(write_docs.load_results(results), write_docs.load_recorded(recorded))
    assert "`python bench/bench_throughput.py --full`, " + stored["date"] in page
    assert "61.2 s, exit 0." in page
    assert "| latency_ms | 200 |" in page and "| target_pass | no |" in page
    assert "| concurrency | papers_per_s | cpu_ms |" in page
    assert "| 128 | 1,376 | 3.5 |" in page and "| 8 | 38.61 | - |" in page
    assert "|  | seconds | cpu |" in page and "| fresh | 12.5 | 10 |" in page
    assert "- problems: none" in page
    assert page.index("### Latest run") < page.index("### Recorded earlier") < page.index("4.86 papers/s")
    assert "[Throughput against the fake server](#throughput-against-the-fake-server)" in page


def test_a_table_the_script_names_keeps_its_columns():
    found, lines = write_docs.tables(
        {
            "papers": 100000,
            "columns": ["direction", "rows/s"],
            "rows": [["SQLite -> SQLite", "10,580"]],
            "notes": ["hashed"],
        }
    )
    assert found[0] == ("", ["direction", "rows/s"], [["SQLite -> SQLite", "10,580"]])
    assert ("", ["measure", "value"], [["papers", 100000]]) in found
    assert lines == ["hashed"]
    assert write_docs.markdown_table(["a|b"], [["x|y"]]) == ["| a\\|b |", "|---|", "| x\\|y |"]


def test_run_all_passes_json_to_every_script_that_writes_it(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # run_all imports its neighbours, as when run as a script
    run_all = _module("run_all")
    writes = {name for name, path in run_all.scripts() if run_all.takes_json(path)}
    assert {
        "throughput",
        "ratelimit",
        "storage",
        "ingest",
        "db_copy",
        "replay",
        "startup",
        "injection_detector",
        "site",
        "profiles",
        "local_model",
    } <= writes
