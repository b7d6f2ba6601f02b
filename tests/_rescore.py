"""Helpers for the re-scoring tests (``test_rescore_*.py``): papers, a private prompts
folder, annotate runs against the fake server, and a CLI app with the new commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import typer

REPO = Path(__file__).resolve().parent.parent
TOPICS = (
    "graph neural networks",
    "speech translation",
    "protein folding",
    "code generation",
    "robot grasping",
    "causal discovery",
    "federated learning",
    "image compression",
    "theorem proving",
    "weather forecasting",
    "music generation",
    "sparse attention",
)


def write_papers(path: Path, n: int, start: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            topic = TOPICS[i % len(TOPICS)]
            fh.write(
                json.dumps(
                    {
                        "id": f"paper-{i}",
                        "title": f"Study {i}: a new approach to {topic}",
                        "abstract": f"We study {topic} (case {i}). We propose a method, evaluate it on "
                        f"{3 + i % 5} benchmarks and report gains of {i % 17} points.",
                        "authors": [f"Author {i % 7}", f"Coauthor {i % 11}"],
                    }
                )
                + "\n"
            )
    return path


def ingest_papers(engine, tmp_path: Path, n: int, start: int = 0) -> list[int]:
    from annotator.ingest import ingest_paths

    summary = ingest_paths(engine, [str(write_papers(tmp_path / f"papers_{start}.jsonl", n, start))])
    assert summary.rejected == 0, summary.errors
    return summary.paper_ids


def private_prompts(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the shipped score@1 in a folder of its own (``ANNOTATOR_PROMPTS``)."""
    folder = tmp_path / "prompts"
    (folder / "score").mkdir(parents=True)
    shutil.copy(REPO / "prompts" / "score" / "v1.md", folder / "score" / "v1.md")
    monkeypatch.setenv("ANNOTATOR_PROMPTS", str(folder))
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def settings(db: str, fs, **overrides):
    from annotator.settings import get_settings

    return get_settings(base_url=fs.base_url, api_key="sk-test", timeout_s=5.0, **overrides)


def annotate(engine, db: str, fs, **opts):
    from annotator.jobs.annotate import AnnotateOptions
    from annotator.jobs.annotate import annotate as run

    opts.setdefault("concurrency", 4)
    return run(engine, settings(db, fs), AnnotateOptions(**opts))


def rows(engine, sql: str, **params) -> list[tuple]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def scores(engine, prompt: str, model: str | None = None) -> dict[int, tuple[int, int]]:
    """paper id -> (ai_score, novelty) for NAME@VERSION."""
    name, version = prompt.split("@")
    sql = (
        "SELECT j.paper_id, j.ai_score, j.novelty FROM judgments j JOIN prompt_versions pv "
        "ON pv.id = j.prompt_version_id WHERE pv.name = :n AND pv.version = :v"
    )
    params = {"n": name, "v": version}
    if model:
        sql += " AND j.model = :m"
        params["m"] = model
    return {p: (a, n) for p, a, n in rows(engine, sql, **params)}


def cli_app() -> typer.Typer:
    """The real ``annotator`` app."""
    from annotator import cli

    return cli.app
