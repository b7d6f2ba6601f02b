"""Writers of derived data when killed halfway or run twice at once: an export file is
replaced whole or not at all, and calibrations stay one row per label."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _pg import pg_server_url, pg_url  # noqa: F401  (fixtures)

from annotator.ingest import ingest_records
from annotator.ingest.records import PaperRecord

N_PAPERS = 4000


def many_papers(engine) -> None:
    body = " ".join(f"word{i}" for i in range(400))
    ingest_records(
        engine,
        [
            PaperRecord(title=f"Paper {i} on things", abstract=f"{body} {i}", external_id=f"x{i}")
            for i in range(N_PAPERS)
        ],
    )


def export(db_path: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "annotator.cli", "--db", db_path, "export", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_killed_export_leaves_the_previous_file_whole(engine, db_path, tmp_path):
    many_papers(engine)
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "papers.jsonl"
    first = export(db_path, out)
    assert first.wait() == 0, first.stderr.read() if first.stderr else ""
    before = out.read_bytes()
    assert before.count(b"\n") == N_PAPERS

    second = export(db_path, out)
    # kill it once it has begun writing: the target changed, or a file beside it appeared
    while second.poll() is None:
        if out.stat().st_size != len(before) or len(list(folder.iterdir())) > 1:
            second.send_signal(signal.SIGKILL)
            break
        time.sleep(0.001)
    code = second.wait()
    if code != -signal.SIGKILL:
        pytest.fail(f"the export finished (exit {code}) before it could be killed: make it larger")
    assert out.read_bytes() == before  # a reader sees the old export, never half of the new one


@pytest.mark.postgres
def test_calibrations_saved_at_once_stay_one_row_per_label(pg_url):
    """Eval runs that finish together each replace the suite's maps: one row per label
    remains, never one per run."""
    import threading

    from sqlalchemy import text

    from annotator.db import open_db
    from annotator.evalrun.run import save_calibrations
    from annotator.evaluation.pipeline import evaluate
    from annotator.evaluation.suite_types import EvalItem
    from annotator.prompts.files import load_prompt
    from annotator.prompts.registry import register_prompt

    engine = open_db(pg_url)
    prompt = load_prompt("score@1")
    register_prompt(engine, prompt)
    items = [
        EvalItem(id=f"p{i}", title=f"t{i}", abstract=f"a{i}", gold_ai=1 + i % 9, gold_novelty=1 + i % 4)
        for i in range(60)
    ]
    result = evaluate(
        items,
        {f"p{i}": {"ai_score": (i * 37) % 100, "novelty": (i * 11) % 100} for i in range(60)},
        n_boot=100,
        baselines=False,
    )
    assert {res.calibration is not None for res in result.labels.values()} == {True}
    threads_n, rounds = 8, 5
    for _ in range(rounds):
        barrier = threading.Barrier(threads_n)
        errors: list[BaseException] = []

        def save(barrier: threading.Barrier, errors: list[BaseException]) -> None:
            try:
                barrier.wait()
                save_calibrations(engine, result, "suite", prompt.name, str(prompt.version), "m")
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)

        workers = [threading.Thread(target=save, args=(barrier, errors)) for _ in range(threads_n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert not errors, errors
    with engine.connect() as conn:
        per_label = dict(conn.execute(text("SELECT label, COUNT(*) FROM calibrations GROUP BY label")).all())
    assert per_label == {label: 1 for label in result.labels}
