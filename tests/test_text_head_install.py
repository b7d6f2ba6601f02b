"""Right after a plain install (no endpoint, no ``local`` extra) ``annotator annotate`` judges
with the text head instead of failing, says so, and records which judge it was.

Reuses the wheel and the fresh virtualenv of ``tests/test_install.py`` (core packages only,
from requirements.lock), and runs the installed entry point in an empty folder with no
OPENAI_* variables set.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import SEED_PAGE
from test_install import _check, _run, venv, wheel  # noqa: F401 - fixtures

pytestmark = pytest.mark.install

NO_ENDPOINT = {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": "", "ANNOTATOR_MODEL": ""}


def test_annotate_without_endpoint_or_local_model_uses_the_text_head(venv, tmp_path):  # noqa: F811
    work = tmp_path / "empty"
    work.mkdir()

    def annotator(*args: object) -> str:
        result = _run([venv / "bin" / "annotator", *args], cwd=work, timeout=300, env=NO_ENDPOINT)
        _check(result)
        return result.stdout + result.stderr

    assert "new 45" in annotator("ingest", SEED_PAGE)
    out = annotator("annotate", "--limit", "5")
    assert "done 5, failed 0" in out
    assert "text judge" in out and "Spearman" in out  # what it is, and its held-out figures
    assert "pip install 'annotator[local]'" in " ".join(out.split())  # the way to the embedding judge

    listed = {row["ref"]: row for row in json.loads(_prompts(venv, work))}
    assert listed["text-head@1"]["judged"] == 5
    with sqlite3.connect(work / "annotator.db") as conn:
        rows = conn.execute(
            "SELECT j.model, j.method, j.ai_score, j.novelty, j.details_json, j.rationale FROM judgments j"
        ).fetchall()
    assert len(rows) == 5
    for model, method, ai, novelty, details, rationale in rows:
        assert (model, method) == ("tfidf", "text-head")
        assert 0 <= ai <= 100 and 0 <= novelty <= 100
        head = json.loads(details)["head"]
        assert head["source"] == "annotator/data/heads/text/head.json" and len(head["hash"]) == 64
        assert "percentile" in rationale
    assert len({r[2] for r in rows}) > 1, "every paper got the same score"


def _prompts(venv, work) -> str:  # noqa: F811
    result = _run([venv / "bin" / "annotator", "prompts", "list", "--json"], cwd=work, timeout=120, env=NO_ENDPOINT)
    _check(result)
    return result.stdout


def test_the_demo_after_a_plain_install_judges_with_the_text_head(venv, tmp_path):  # noqa: F811
    """`annotator demo` with neither an endpoint nor the local extra: the sample papers are
    judged by the text judge, which says what it is, and nothing speaks of the chat path."""
    work = tmp_path / "empty"
    work.mkdir()
    result = _run([venv / "bin" / "annotator", "demo", "--json"], cwd=work, timeout=300, env=NO_ENDPOINT)
    _check(result)
    shown = json.loads(result.stdout)
    assert shown["prompt"] == "text-head@1" and shown["model"] == "tfidf"
    assert len(shown["judgments"]) == 6 and shown["summary"]["failed"] == 0
    assert len({j["ai_score"] for j in shown["judgments"]}) > 1, "every paper got the same score"
    about = " ".join(shown["about"])
    assert "TF-IDF" in about and "Spearman" in about  # what judged, and its held-out figures
    assert "text judge" in result.stderr and "nearly every abstract" not in result.stderr

    named = _run([venv / "bin" / "annotator", "demo", "--prompt", "embed@1"], cwd=work, timeout=300, env=NO_ENDPOINT)
    assert named.returncode != 0  # naming the embedding judge without the extra still says what to install
    assert "pip install 'annotator[local]'" in " ".join(named.stderr.split())
