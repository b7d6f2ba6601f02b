"""The method in the prompt front matter: validation, estimates, cache, fallbacks, $related."""

from __future__ import annotations

import pytest
from _methods import PAIR, annotate, ingest, judged, labelled_papers, prompt_dir, prompt_text, rater
from sqlalchemy import text

from annotator.errors import ConfigError, PromptError
from annotator.jobs.annotate import AnnotateOptions, dry_run
from annotator.prompts.files import load_prompt, parse_prompt
from annotator.prompts.registry import register_prompt


def _labels(rows):
    return {r["title"]: r["label"] for r in rows}


@pytest.mark.parametrize(
    ("front", "line", "field", "words"),
    [
        ({"method": "pairwise", "output": "pairwise"}, 6, "method", "needs an 'anchors' key"),
        ({"method": "expected", "scale": {"min": 5, "max": 3}}, 7, "scale", "must be below max"),
        ({"method": "expected", "scale": {"min": 1, "max": 99}}, 7, "scale.max", "less than or equal to 10"),
        ({"method": "sideways"}, 6, "method", "Input should be"),
        ({"anchors": {"suite": "iclr2022"}}, 6, "anchors", "is for method 'pairwise'"),
        ({"related": {"k": 3}}, 6, "related", "no $related variable"),
        ({"samples": 0}, 6, "samples", "greater than or equal to 1"),
        ({"rationale": "middle"}, 6, "rationale", "Input should be 'first' or 'last'"),
    ],
)
def test_bad_method_keys_name_file_line_and_field(front, line, field, words):
    with pytest.raises(PromptError) as err:
        parse_prompt(prompt_text("p", **front), "prompts/p/v1.md")
    assert f"prompts/p/v1.md:{line}, field '{field}'" in str(err.value)
    assert words in str(err.value)


def test_unknown_key_inside_anchors_is_named():
    body = prompt_text(
        "p",
        body=PAIR,
        method="pairwise",
        output="pairwise",
        variables=["title_a", "abstract_a", "title_b", "abstract_b"],
        anchors={"suite": "iclr2022", "kk": 8},
    )
    with pytest.raises(PromptError, match=r"v1.md:8, field 'anchors.kk': unknown key"):
        parse_prompt(body, "prompts/p/v1.md")


def test_rationale_first_puts_it_first_in_the_schema_and_rubric_has_subscores():
    first = parse_prompt(prompt_text("p", output="rubric", rationale="first"))
    assert list(first.output_model.model_fields) == [
        "rationale",
        "significance",
        "originality",
        "soundness",
        "clarity",
        "ai_score",
        "novelty",
    ]
    last = parse_prompt(prompt_text("p", scale={"min": 1, "max": 9}))
    assert list(last.output_model.model_fields)[-1] == "rationale"
    assert last.output_model.model_json_schema()["properties"]["ai_score"]["maximum"] == 9
    # today's prompt keeps today's schema, so its requests (and cache keys) do not change
    from annotator.prompts.schema import JudgmentReply

    assert load_prompt("score@1").output_model is JudgmentReply


def test_shipped_method_prompts_load_and_score_stays_the_default(engine):
    from annotator.prompts.resolve import choose_prompt
    from annotator.settings import Settings

    for ref, method in (
        ("score-samples@1", "direct"),
        ("score-expected@1", "expected"),
        ("score-pairwise@1", "pairwise"),
        ("score-rubric@1", "direct"),
    ):
        assert load_prompt(ref).meta.method == method
    at_endpoint = Settings(base_url="http://127.0.0.1:9/v1", api_key=None)
    assert choose_prompt(engine, at_endpoint, None).ref == "score@1"


def test_dry_run_counts_calls_per_paper_by_method(engine, tmp_path, monkeypatch):
    ingest(engine, tmp_path, labelled_papers(5))
    out = {}
    for ref in ("score@1", "score-samples@1", "score-expected@1", "score-pairwise@1"):
        out[ref] = dry_run(engine, load_prompt(ref), "gpt-4o-mini", AnnotateOptions(prompt=ref), 12_000)
    assert [out[r].calls for r in out] == [5, 25, 5, 80]
    assert out["score-samples@1"].prompt_tokens == 5 * out["score@1"].prompt_tokens
    # a comparison carries two papers and the anchors are longer than these: more tokens per call
    assert out["score-pairwise@1"].prompt_tokens > 16 * out["score@1"].prompt_tokens
    assert out["score-pairwise@1"].cost_usd > 10 * out["score@1"].cost_usd


def test_expected_without_logprobs_fails_clearly_and_names_the_fallback(engine, tmp_path, monkeypatch, fake_server):
    rows = labelled_papers(3)
    ingest(engine, tmp_path, rows)
    fake_server.configure(rater=rater(_labels(rows), logprobs=False))
    prompt_dir(tmp_path, monkeypatch, {"exp/v1.md": prompt_text("exp", method="expected")})
    summary = annotate(engine, fake_server, "exp@1")
    assert (summary.done, summary.failed) == (0, 3)
    assert "sent no log-probabilities" in summary.failures[0]
    assert "'method: direct' and 'samples: K'" in summary.failures[0]
    assert judged(engine, "exp") == {}  # nothing stored under another method


def test_a_score_split_over_tokens_is_an_error_not_a_guess(engine, tmp_path, monkeypatch, fake_server):
    rows = [{"id": "top", "title": "The best paper", "abstract": "Excellent work.", "label": 10.0}]
    ingest(engine, tmp_path, rows)
    fake_server.configure(rater=rater(_labels(rows), split_numbers=True, noise=0.01, paper_noise=0.0))
    prompt_dir(tmp_path, monkeypatch, {"exp/v1.md": prompt_text("exp", method="expected", scale={"min": 1, "max": 10})})
    summary = annotate(engine, fake_server, "exp@1")
    assert summary.failed == 1
    assert "is split over 2 tokens" in summary.failures[0] and "samples" in summary.failures[0]


def test_expected_answers_come_back_from_the_cache_with_their_logprobs(
    engine, tmp_path, monkeypatch, fake_server, db_path
):
    rows = labelled_papers(8)
    ingest(engine, tmp_path, rows)
    fake_server.configure(rater=rater(_labels(rows)))
    prompt_dir(tmp_path, monkeypatch, {"exp/v1.md": prompt_text("exp", method="expected")})
    annotate(engine, fake_server, "exp@1")
    first = judged(engine, "exp")
    # a copy of the database without the judgments: the second run reads stored calls only
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM judgments"))
        conn.execute(text("UPDATE tasks SET state = 'pending'"))
    before = len(fake_server.chat_requests())
    summary = annotate(engine, fake_server, "exp@1", replay=True)
    assert (summary.done, summary.calls, summary.cached) == (8, 0, 8)
    assert len(fake_server.chat_requests()) == before
    assert judged(engine, "exp") == first


def test_related_lists_similar_earlier_papers_only(engine, tmp_path, monkeypatch, fake_server):
    rows = [
        {
            "id": "a",
            "title": "Sparse attention for long documents",
            "published": "2019-05-01",
            "abstract": "Sparse attention patterns let transformers read long documents cheaply.",
        },
        {
            "id": "b",
            "title": "Protein folding with diffusion",
            "published": "2019-06-01",
            "abstract": "A diffusion model predicts protein structures from sequences.",
        },
        {
            "id": "c",
            "title": "Sparse attention revisited",
            "published": "2023-01-01",
            "abstract": "We revisit sparse attention patterns for transformers on long documents.",
        },
        {
            "id": "d",
            "title": "Even sparser attention",
            "published": "2024-01-01",
            "abstract": "Sparse attention for transformers on long documents, with fewer links.",
        },
    ]
    ingest(engine, tmp_path, [{**r, "label": 5.0} for r in rows])
    fake_server.configure(rater=rater({r["title"]: 5.0 for r in rows}))
    prompt_dir(
        tmp_path,
        monkeypatch,
        {
            "rel/v1.md": prompt_text(
                "rel",
                variables=["title", "abstract", "related"],
                related={"k": 2, "excerpt_chars": 60},
                body="[system]\nRate.\n\n[user]\nTitle: $title\n\nAbstract: $abstract\n\nEarlier:\n$related\n",
            )
        },
    )
    annotate(engine, fake_server, "rel@1", concurrency=1)
    sent = {}
    for r in fake_server.chat_requests():
        user = r["body"]["messages"][-1]["content"]
        sent[user.split("\n")[0].removeprefix("Title: ")] = user.split("Earlier:\n")[1]
    revisited = sent["Sparse attention revisited"]
    assert "Sparse attention for long documents (2019)" in revisited
    assert "Even sparser" not in revisited  # published later
    assert "Protein folding" not in revisited  # nothing in common
    assert sent["Sparse attention for long documents"] == "(no earlier papers in the collection)"
    assert sent["Even sparser attention"].index("revisited") < sent["Even sparser attention"].index("2019")


def test_pairwise_needs_its_suite_file(engine, tmp_path, monkeypatch, fake_server):
    ingest(engine, tmp_path, labelled_papers(1))
    prompt_dir(
        tmp_path,
        monkeypatch,
        {
            "pair/v1.md": prompt_text(
                "pair",
                body=PAIR,
                method="pairwise",
                output="pairwise",
                variables=["title_a", "abstract_a", "title_b", "abstract_b"],
                anchors={"suite": str(tmp_path / "missing.toml")},
            )
        },
    )
    with pytest.raises(ConfigError, match="anchors: no suite file"):
        annotate(engine, fake_server, "pair@1")


def test_changing_the_method_is_a_new_version(engine, tmp_path, monkeypatch, fake_server):
    ingest(engine, tmp_path, labelled_papers(2))
    folder = prompt_dir(tmp_path, monkeypatch, {"p/v1.md": prompt_text("p")})
    assert annotate(engine, fake_server, "p@1").done == 2
    (folder / "p" / "v1.md").write_text(prompt_text("p", method="expected"), encoding="utf-8")
    with pytest.raises(PromptError, match="changed"):
        annotate(engine, fake_server, "p@1")
    # as a new version it runs, and both methods' judgments stay side by side
    (folder / "p" / "v2.md").write_text(prompt_text("p", 2, method="expected"), encoding="utf-8")
    (folder / "p" / "v1.md").write_text(prompt_text("p"), encoding="utf-8")
    fake_server.configure(rater=rater({}))
    assert annotate(engine, fake_server, "p@2").done == 2
    with engine.connect() as conn:
        methods = conn.execute(
            text(
                "SELECT prompt_version, method, COUNT(*) FROM judgments "
                "GROUP BY prompt_version, method ORDER BY prompt_version"
            )
        ).all()
    assert [tuple(m) for m in methods] == [("1", "direct", 2), ("2", "expected", 2)]


def test_batch_refuses_other_methods(engine, tmp_path, monkeypatch, fake_server):
    from annotator.jobs.batch_submit import submit_batches
    from annotator.jobs.batch_types import BatchOptions
    from annotator.settings import get_settings

    settings = get_settings(base_url=fake_server.base_url, api_key="sk-test", timeout_s=5.0)
    with pytest.raises(ConfigError, match="run it with 'annotator annotate' instead"):
        submit_batches(engine, settings, BatchOptions(prompt="score-expected@1", model="gpt-4o-mini"))


def test_exports_say_which_method_made_a_judgment_and_keep_its_details(engine, tmp_path, monkeypatch, fake_server):
    from annotator.export import iter_papers

    rows = labelled_papers(6)
    ingest(engine, tmp_path, rows)
    fake_server.configure(rater=rater(_labels(rows)))
    prompt_dir(tmp_path, monkeypatch, {"exp/v1.md": prompt_text("exp", method="expected")})
    annotate(engine, fake_server, "exp@1")
    judgments = [j for p in iter_papers(engine, prompt="exp@1") for j in p["judgments"]]
    assert len(judgments) == 6
    for j in judgments:
        assert j["method"] == "expected"
        dist = j["details"]["distribution"]["ai_score"]
        assert abs(sum(dist.values()) - 1) < 1e-6
        assert round(j["details"]["expected"]["ai_score"]) == j["ai_score"]
