"""The words the head judges print: ordinals in rationales, and notices whose text keeps
its brackets when rich prints it."""

from __future__ import annotations

import json
import re

import pytest
from rich.console import Console

from annotator.heads.explain import ordinal
from annotator.heads.notice import judge_notice
from annotator.prompts.files import load_prompt


@pytest.mark.parametrize(
    ("n", "said"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"), (21, "21st")]
    + [(22, "22nd"), (51, "51st"), (53, "53rd"), (100, "100th"), (0, "0th"), (50.6, "51st"), (111, "111th")],
)
def test_ordinal(n, said):
    assert ordinal(n) == said


def test_text_judge_rationales_read_as_english(tmp_path):
    """Every percentile in the text judge's rationales has its right suffix (it said "51th")."""
    import annotator

    db = annotator.open_db(str(tmp_path / "a.db"))
    rows = tmp_path / "p.jsonl"
    topics = ["graphs", "language models", "retrieval", "vision", "robots", "proofs", "speech"]
    rows.write_text(
        "".join(
            json.dumps({"title": f"Paper {k}", "abstract": f"We study {w} and show gains.", "authors": ["A"]}) + "\n"
            for k, w in enumerate(topics)
        )
    )
    assert annotator.ingest_files(db, rows).new == len(topics)
    assert annotator.annotate(db, prompt="text-head@1").done == len(topics)
    said = " ".join(p["judgments"][0]["rationale"] for p in annotator.judged_papers(db))
    numbers = re.findall(r"at the (\d+)(st|nd|rd|th) percentile", said)
    assert len(numbers) == 14
    for n, suffix in numbers:
        assert n + suffix == ordinal(int(n))


@pytest.mark.parametrize("ref", ["text-head@1", "embed@1", "score@1"])
def test_notices_name_the_judge_and_survive_rich(ref):
    said = judge_notice(load_prompt(ref))
    console = Console(record=True, width=400)
    from rich.markup import escape

    console.print(f"[yellow]note:[/yellow] {escape(said)}", highlight=False)
    shown = console.export_text()
    assert said in " ".join(shown.split())
    if ref == "text-head@1":
        assert "text judge" in said and "Spearman" in said and "pip install 'annotator[local]'" in said
    elif ref == "embed@1":
        assert "embedding head" in said and "not a reviewer" in said
    else:
        assert "demo quality" in said
