"""Ctrl-C in the middle of a batch gives leases back; a re-run finishes the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import text

from annotator.demo import SAMPLE
from annotator.testing.fakeserver import FakeServerProcess


def _annotate(db_path, server, extra=()):
    env = dict(os.environ, ANNOTATOR_DB=db_path, OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-test-key")
    return subprocess.Popen(
        [sys.executable, "-m", "annotator.cli", "annotate", "--model", "m", "--concurrency", "2", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigint_releases_leases_and_rerun_completes(db_path, engine):
    from annotator.ingest import ingest_paths

    ingest_paths(engine, [SAMPLE])
    with FakeServerProcess(latency_s=0.6) as server:
        proc = _annotate(db_path, server)
        deadline = time.time() + 30
        while time.time() < deadline:  # wait until some work is in flight and some is done
            with engine.connect() as conn:
                done = conn.execute(text("SELECT COUNT(*) FROM judgments")).scalar_one()
            if done >= 2:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        with engine.connect() as conn:
            states = dict(conn.execute(text("SELECT state, COUNT(*) FROM tasks GROUP BY state")).all())
        assert states.get("running", 0) == 0, states  # nothing left leased
        assert 2 <= states.get("done", 0) < 6

        rerun = _annotate(db_path, server)
        out, err = rerun.communicate(timeout=60)
        assert rerun.returncode == 0, err
    with engine.connect() as conn:
        per_paper = conn.execute(text("SELECT COUNT(*) FROM judgments GROUP BY paper_id")).scalars().all()
    assert per_paper == [1] * 6
