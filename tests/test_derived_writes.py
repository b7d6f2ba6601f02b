"""Writers of derived data when killed halfway or run twice at once: an export file is
replaced whole or not at all, and calibrations stay one row per label."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annotator.ingest import ingest_records
from annotator.ingest.records import PaperRecord

N_PAPERS = 4000


def many_papers(engine) -> None:
    body = " ".join(f"word{i}" for i in range(400))
    ingest_records(engine, [PaperRecord(title=f"Paper {i} on things", abstract=f"{body} {i}",
                                        external_id=f"x{i}") for i in range(N_PAPERS)])


def export(db_path: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "annotator.cli", "--db", db_path, "export",
                             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


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
