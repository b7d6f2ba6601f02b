"""Before and after in one run: a benchmark measured on an earlier commit's code too.

A script that takes ``--baseline REF`` checks that commit out into a temporary git
worktree and runs its own measurement in a child process whose ``annotator`` and
``db`` packages come from there (``ANNOTATOR_BENCH_CODE``, read by ``_util``), then
on the current code, alternating ``--rounds`` times so that both see the same load:

    python bench/bench_ingest.py --baseline 78e9c38^ --rounds 2

The benchmark script itself is always the current one, so both sides do the same
work; the child writes its figures as JSON (``--json``) for the parent to compare.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """The tree of ``ref`` in a temporary folder (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--quiet", "--detach", str(path), ref], check=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def measure(script: Path, argv: Sequence[str], code: Path | None) -> dict:
    """Run ``script argv --json F`` with the packages of ``code`` (None: the current tree)."""
    env = dict(os.environ)
    env.pop("ANNOTATOR_BENCH_CODE", None)
    if code is not None:
        env["ANNOTATOR_BENCH_CODE"] = str(code)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        subprocess.run([sys.executable, str(script), *argv, "--json", str(out)], env=env, check=True, cwd=ROOT)
        return json.loads(out.read_text())


def side_by_side(script: Path, argv: Sequence[str], ref: str, rounds: int) -> list[tuple[dict, dict]]:
    """(before, after) figures for each round, the two runs of a round back to back."""
    pairs = []
    with worktree(ref) as code:
        for i in range(rounds):
            print(f"round {i + 1}/{rounds}: {ref}", flush=True)
            before = measure(script, argv, code)
            print(f"round {i + 1}/{rounds}: current code", flush=True)
            after = measure(script, argv, None)
            pairs.append((before, after))
    return pairs


def commit_of(ref: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True, check=True
    ).stdout.strip()
