"""The text-head judge: no model started or asked, judgments that say which head made them,
out-of-fold scores for the labelled papers, and the default-prompt rule."""

from __future__ import annotations

import json

import annotator
from annotator.evaluation.items import load_items
from annotator.evaluation.suites import load_suite
from annotator.heads.shipped import load_text
from annotator.packaged import local_model_file
from annotator.prompts.resolve import EMBEDDED_REF, TEXT_REF, choose_prompt, default_ref
from annotator.settings import Settings

# nothing listens here: a judge that asked an endpoint would fail
DEAD_URL = "http://127.0.0.1:9/v1"


def _papers(tmp_path, rows) -> str:
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_text_head_judges_without_any_model(tmp_path):
    db = annotator.open_db(str(tmp_path / "t.db"))
    labelled = load_items(load_suite("iclr2022"))[:2]
    rows = [{"title": it.title, "abstract": it.abstract, "authors": ["A. Author"]} for it in labelled]
    rows += [
        {
            "title": "Graph transformers for protein folding at scale",
            "abstract": "We propose a new architecture and evaluate it on three benchmarks, "
            "improving over prior work by a large margin.",
            "authors": ["B. Author"],
        },
        {
            "title": "A note on notation",
            "abstract": "We discuss notation used in some papers and suggest a convention.",
            "authors": ["C. Author"],
        },
    ]
    annotator.ingest_files(db, _papers(tmp_path, rows))
    # an endpoint is configured but unreachable: the text head never asks it
    summary = annotator.annotate(db, prompt=TEXT_REF, base_url=DEAD_URL, api_key="sk-x")
    assert (summary.done, summary.failed) == (4, 0)
    head = load_text()
    assert head is not None and head.text is not None
    judged = {p["title"]: p["judgments"][0] for p in annotator.judged_papers(db)}
    assert len(judged) == 4
    for j in judged.values():
        assert j["model"] == "tfidf" and j["method"] == "text-head"
        assert 0 <= j["ai_score"] <= 100 and 0 <= j["novelty"] <= 100
        assert "percentile" in j["rationale"] and "not a reviewer" in j["rationale"]
    # labelled papers are scored out-of-fold, and say so; new papers are not
    for it in labelled:
        assert "out-of-fold" in judged[it.title]["rationale"]
    assert "out-of-fold" not in judged["A note on notation"]["rationale"]
    assert (
        judged["A note on notation"]["ai_score"]
        != judged["Graph transformers for protein folding at scale"]["ai_score"]
    )


def test_the_default_without_an_endpoint_follows_the_local_extra():
    settings = Settings(base_url=None, api_key=None)
    expected = EMBEDDED_REF if local_model_file() is not None else TEXT_REF
    assert default_ref(settings) == expected
    assert choose_prompt(None, settings, None).ref == expected
    assert choose_prompt(None, settings, "score@1").ref == "score@1"
    assert default_ref(Settings(base_url=DEAD_URL, api_key=None)) == "score"
