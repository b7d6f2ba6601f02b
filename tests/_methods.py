"""Helpers for the judging-method tests: labelled papers, a noisy fake rater, runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
WORDS = (
    "graph",
    "speech",
    "protein",
    "code",
    "robot",
    "causal",
    "federated",
    "image",
    "theorem",
    "weather",
    "music",
    "sparse",
    "kernel",
    "bandit",
    "vision",
    "privacy",
)


def labelled_papers(n: int, lo: float = 1.0, hi: float = 10.0, start: int = 0) -> list[dict]:
    """``n`` papers whose labels spread evenly over [lo, hi] (in a shuffled, fixed order)."""
    rows = []
    for i in range(start, start + n):
        j = (i * 37) % n if start == 0 else i - start
        label = round(lo + (hi - lo) * (j + 0.5) / n, 4)
        topic = f"{WORDS[i % len(WORDS)]} {WORDS[(i * 7 + 3) % len(WORDS)]}"
        rows.append(
            {
                "id": f"p{i}",
                "title": f"Paper {i} on {topic}",
                "abstract": f"We study {topic} in setting {i}. We propose a method and "
                f"evaluate it on {3 + i % 5} benchmarks.",
                "label": label,
                "published": f"20{10 + i % 12:02d}-01-15",
            }
        )
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def ingest(engine, tmp_path: Path, rows: list[dict], name: str = "papers.jsonl") -> list[int]:
    from annotator.ingest import ingest_paths

    papers = [{k: r[k] for k in ("id", "title", "abstract", "published") if k in r} for r in rows]
    summary = ingest_paths(engine, [str(write_jsonl(tmp_path / name, papers))])
    assert summary.rejected == 0, summary.errors
    return summary.paper_ids


def rater(labels: dict[str, float], **cfg) -> dict:
    return {"labels": labels, "label_scale": [1, 10], **cfg}


def prompt_dir(tmp_path: Path, monkeypatch, files: dict[str, str]) -> Path:
    """A prompts folder with the given ``name/vN.md`` texts (``ANNOTATOR_PROMPTS``)."""
    folder = tmp_path / "prompts"
    for rel, body in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(body, encoding="utf-8")
    monkeypatch.setenv("ANNOTATOR_PROMPTS", str(folder))
    return folder


SINGLE = """[system]
You rate papers. Reply with JSON only.

[user]
<paper>
Title: $title

Abstract: $abstract
</paper>
"""

PAIR = """[system]
You compare two papers. Reply with JSON only.

[user]
Paper A:
<paper>
Title: $title_a

Abstract: $abstract_a
</paper>

Paper B:
<paper>
Title: $title_b

Abstract: $abstract_b
</paper>
"""


def prompt_text(name: str, version: int = 1, *, body: str = SINGLE, **front) -> str:
    lines = ["---", f"name: {name}", f"version: {version}", "description: a test prompt"]
    variables = front.pop("variables", ["title", "abstract"])
    lines.append(f"variables: [{', '.join(variables)}]")
    for key, value in front.items():
        lines.append(f"{key}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")
    return "\n".join(lines + ["---", body])


def annotate(engine, fs, prompt: str, **opts):
    from annotator.jobs.annotate import AnnotateOptions
    from annotator.jobs.annotate import annotate as run
    from annotator.settings import get_settings

    opts.setdefault("concurrency", 8)
    opts.setdefault("model", "gpt-4o-mini")
    settings = get_settings(base_url=fs.base_url, api_key="sk-test", timeout_s=10.0)
    return run(engine, settings, AnnotateOptions(prompt=prompt, **opts))


def judged(engine, prompt_name: str) -> dict[str, dict]:
    """title -> stored judgment columns (details decoded) of one prompt name."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.title, j.ai_score, j.novelty, j.method, j.details_json, j.ai_score_spread, "
                "j.rationale FROM judgments j JOIN papers p ON p.id = j.paper_id "
                "WHERE j.prompt_name = :n"
            ),
            {"n": prompt_name},
        ).all()
    return {
        r[0]: {
            "ai_score": r[1],
            "novelty": r[2],
            "method": r[3],
            "details": json.loads(r[4]) if r[4] else {},
            "spread": r[5],
            "rationale": r[6],
        }
        for r in rows
    }


def rmse(pairs: list[tuple[float, float]]) -> float:
    return math.sqrt(sum((a - b) ** 2 for a, b in pairs) / len(pairs))


def rows(engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]
