"""``method: tournament`` against the fake rater: stored and replayable comparisons, feed
increments placed without redoing old comparisons, anchors never scored, the order
effect reported, and a better ranking than ``direct`` when written scores are coarse.

The rater's draws are seeded by the request and how often it was seen, so every figure
here is the same on each run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _methods import (
    PAIR,
    annotate,
    ingest,
    judged,
    labelled_papers,
    prompt_dir,
    prompt_text,
    rater,
    rows,
    write_jsonl,
)
from scipy.stats import spearmanr
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.cli import app
from annotator.methods.anchors import load_anchors
from annotator.methods.bradley_terry import Comparison, fit_bradley_terry
from annotator.prompts.files import AnchorSpec

OWN = 5  # calls a paper pays for: comparisons 10 / 2
COARSE = {"coarse": [0.6, 0.7, 0.8], "noise": 0.2, "paper_noise": 0.1}


def _suite(tmp_path, n_anchors: int = 40):
    anchors = labelled_papers(n_anchors, start=1000)
    write_jsonl(tmp_path / "anchors.jsonl", [{**r, "rating_mean": r["label"]} for r in anchors])
    (tmp_path / "mini.toml").write_text(
        'name = "mini"\ndata = "anchors.jsonl"\nsample_size = 1\nseed = 0\n'
        '[fields]\nid = "id"\ntitle = "title"\nabstract = "abstract"\n'
        '[ai]\ngold = "rating_mean"\nscale = [1, 10]\n',
        encoding="utf-8",
    )
    return anchors


def _setup(tmp_path, monkeypatch, fake_server, papers, **rater_cfg):
    anchors = _suite(tmp_path)
    labels = {r["title"]: r["label"] for r in papers + anchors}
    fake_server.configure(
        rater=rater(labels, **{"noise": 0.1, "paper_noise": 0.0, "pair_temperature": 0.2, **rater_cfg})
    )
    prompt_dir(
        tmp_path,
        monkeypatch,
        {
            "tour/v1.md": prompt_text(
                "tour",
                body=PAIR,
                method="tournament",
                output="pairwise",
                variables=["title_a", "abstract_a", "title_b", "abstract_b"],
                anchors={"suite": str(tmp_path / "mini.toml"), "k": 8, "seed": 0},
            ),
            "plain/v1.md": prompt_text("plain"),
        },
    )
    return anchors


def _spearman(engine, name, papers):
    got = judged(engine, name)
    return spearmanr([got[r["title"]]["ai_score"] for r in papers], [r["label"] for r in papers]).statistic


def _pairs(engine) -> list[tuple[int, list[str]]]:
    """(paying paper, pair) of every stored call, in order."""
    return [
        (pid, json.loads(body)["_pair"])
        for pid, body in rows(engine, "SELECT paper_id, request_json FROM llm_calls ORDER BY id")
    ]


def test_judged_through_the_queue_stored_and_replayed(engine, tmp_path, monkeypatch, fake_server):
    papers = labelled_papers(30)
    _setup(tmp_path, monkeypatch, fake_server, papers)
    ingest(engine, tmp_path, papers)
    summary = annotate(engine, fake_server, "tour@1")
    assert (summary.done, summary.failed, summary.calls, summary.cached) == (30, 0, 30 * OWN, 0)
    assert len(fake_server.chat_requests()) == 30 * OWN
    assert _spearman(engine, "tour", papers) > 0.65
    first = judged(engine, "tour")
    pairs = _pairs(engine)
    assert len(pairs) == 30 * OWN and len({tuple(p) for _, p in pairs}) == 30 * OWN
    # papers meet papers, not only anchors, and each paper pays for its own calls
    assert sum(all(i.startswith("p:") for i in p) for _, p in pairs) > 30
    assert all(f"p:{pid}" in p for pid, p in pairs)
    # the run ended with a re-fit of every comparison: each judgment names that fit
    fits = {json.dumps(g["details"]["tournament"]["fit"], sort_keys=True) for g in first.values()}
    assert len(fits) == 1 and json.loads(fits.pop())["comparisons"] == 30 * OWN
    for g in first.values():
        t = g["details"]["tournament"]
        assert len(t["own"]) == OWN and t["comparisons"] >= OWN
        lo, hi = t["interval"]["ai_score"]
        assert lo <= g["ai_score"] <= hi and hi - lo > 0
        assert g["method"] == "tournament"
    # forget the judgments, keep the calls: the same comparisons come back from the cache
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM judgments"))
        conn.execute(text("UPDATE tasks SET state = 'pending'"))
    again = annotate(engine, fake_server, "tour@1", replay=True)
    assert (again.done, again.calls, again.cached) == (30, 0, 30 * OWN)
    assert len(fake_server.chat_requests()) == 30 * OWN  # nothing new went over HTTP
    assert judged(engine, "tour") == first


def test_a_feed_increment_is_placed_without_redoing_old_comparisons(engine, tmp_path, monkeypatch, fake_server):
    papers = labelled_papers(40)
    old, new = papers[:30], papers[30:]
    _setup(tmp_path, monkeypatch, fake_server, papers)
    ingest(engine, tmp_path, old)
    annotate(engine, fake_server, "tour@1")
    before = _pairs(engine)
    sent_before = [json.dumps(r["body"]["messages"]) for r in fake_server.chat_requests()]
    fit_before = next(iter(judged(engine, "tour").values()))["details"]["tournament"]["fit"]

    new_ids = ingest(engine, tmp_path, new, name="more.jsonl")
    summary = annotate(engine, fake_server, "tour@1")
    assert (summary.done, summary.failed, summary.calls, summary.cached) == (10, 0, 10 * OWN, 0)
    sent_after = [json.dumps(r["body"]["messages"]) for r in fake_server.chat_requests()][len(sent_before) :]
    assert len(sent_after) == 10 * OWN
    assert not set(sent_after) & set(sent_before)  # no old comparison asked again
    titles = [r["title"] for r in new]
    assert all(sum(t in body for t in titles) >= 1 for body in sent_after)
    after = _pairs(engine)
    assert after[: len(before)] == before
    increment = after[len(before) :]
    assert sorted({pid for pid, _ in increment}) == sorted(new_ids)
    # new papers meet old ones, which gain comparisons without paying for them
    assert sum(any(i.startswith("p:") and int(i[2:]) not in new_ids for i in p) for _, p in increment) >= 10
    got = judged(engine, "tour")
    fit_after = got[old[0]["title"]]["details"]["tournament"]["fit"]
    assert fit_after["comparisons"] == 40 * OWN and fit_after["id"] != fit_before["id"]
    assert all(len(got[r["title"]]["details"]["tournament"]["own"]) == OWN for r in papers)
    assert _spearman(engine, "tour", papers) > 0.65


def test_refit_is_explicit_and_repeats_the_same_fit(engine, tmp_path, monkeypatch, fake_server, db_path):
    papers = labelled_papers(20)
    _setup(tmp_path, monkeypatch, fake_server, papers)
    ingest(engine, tmp_path, papers)
    annotate(engine, fake_server, "tour@1")
    first = judged(engine, "tour")
    with engine.begin() as conn:  # scores as a stale placement would have left them
        conn.execute(text("UPDATE judgments SET ai_score = 0, details_json = NULL"))
    sent = len(fake_server.chat_requests())
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    out = CliRunner().invoke(app, ["annotate", "--prompt", "tour@1", "--model", "gpt-4o-mini", "--refit"])
    assert out.exit_code == 0, out.output
    assert "20 judgments from 100 comparisons" in out.output  # no pair was asked twice
    assert len(fake_server.chat_requests()) == sent
    # the same comparisons give the same fit: scores, intervals and fit id as the run left them
    assert judged(engine, "tour") == first


def test_anchors_are_never_scored_nor_met_by_their_own_copy(engine, tmp_path, monkeypatch, fake_server):
    papers = labelled_papers(20)
    anchors = _setup(tmp_path, monkeypatch, fake_server, papers)
    picked = load_anchors(AnchorSpec(suite=str(tmp_path / "mini.toml"), k=8, seed=0)).anchors
    # one anchor's text is also a paper of the corpus, under another id
    copy = next(r for r in anchors if r["id"] == picked[3].id)
    ids = ingest(engine, tmp_path, papers + [{**copy, "id": "copy-of-anchor"}])
    annotate(engine, fake_server, "tour@1")
    got = judged(engine, "tour")
    assert len(got) == 21  # the papers of the database, nothing else
    anchor_items = {f"a:{a.id}" for a in picked}
    pairs = _pairs(engine)
    assert {i for _, p in pairs for i in p} & anchor_items  # anchors took part
    assert all(not i.startswith("a:") or i in anchor_items for _, p in pairs for i in p)
    copy_item = f"p:{ids[-1]}"
    mine = [p for _, p in pairs if copy_item in p]
    assert mine and not any(f"a:{picked[3].id}" in p for p in mine)


@pytest.mark.parametrize("bias", [0.0, 1.5])
def test_position_bias_is_balanced_and_reported(engine, tmp_path, monkeypatch, fake_server, bias):
    papers = labelled_papers(40)
    _setup(tmp_path, monkeypatch, fake_server, papers, position_bias=bias)
    ingest(engine, tmp_path, papers)
    # one at a time: opponents are chosen from the board as it stands, so concurrent
    # replies arriving in another order pick other pairs, and the fitted gamma of an
    # unbiased rater wandered between runs (-0.26 to 0.54 seen); in order, the seeded
    # rater gives the same comparisons every run
    annotate(engine, fake_server, "tour@1", concurrency=1)
    got = judged(engine, "tour")
    reports = [g["details"]["tournament"]["position_bias"] for g in got.values()]
    gamma, rate = reports[0]["ai_score"], reports[0]["first_chosen_rate"]
    assert all(r == reports[0] for r in reports)  # one fit, one order effect
    pairs = _pairs(engine)  # one stored call per comparison
    if bias:  # the rater prefers whatever is shown first, and the fit sees it
        assert gamma > 0.8 and rate > 0.6, (gamma, rate)
    else:
        # an unbiased rater picks the first shown half the time, give or take sampling noise:
        # three standard errors of a proportion over the comparisons (each one's two answers
        # come from one reply, so they are not counted as independent); the 0.06 before was
        # under two of them and failed a clean-clone run with 0.57
        noise = 3 * np.sqrt(0.25 / len(pairs))
        assert abs(gamma) < 0.5 and abs(rate - 0.5) < noise, (gamma, rate, noise)
    # each paper was shown first in as many of its own comparisons as second, give or take one
    for pid in {pid for pid, _ in pairs}:
        firsts = sum(p[0] == f"p:{pid}" for q, p in pairs if q == pid)
        assert firsts in (OWN // 2, OWN - OWN // 2)
    assert _spearman(engine, "tour", papers) > 0.6


def test_fit_with_scaled_pins_recovers_the_unit_and_gives_honest_intervals():
    rng = np.random.default_rng(3)
    true = rng.normal(0, 1.5, 30)
    pins = {i: true[i] / 2.0 for i in range(6)}  # anchors known up to the unit: 2 logits
    comps = []
    for _ in range(1500):
        a, b = rng.choice(30, 2, replace=False)
        p = 1 / (1 + np.exp(-(true[a] - true[b] + 0.4)))
        comps.append(Comparison(int(a), int(b), bool(rng.random() < p)))
    fit = fit_bradley_terry(30, comps, fixed=pins, scaled=True, errors=True)
    assert fit.scale == pytest.approx(2.0, abs=0.3)
    assert fit.position_bias == pytest.approx(0.4, abs=0.15)
    assert fit.se is not None
    inside = np.abs(fit.strengths[6:] - true[6:]) < 1.96 * fit.se[6:]
    assert inside.mean() > 0.8, inside.mean()


def _paired_bootstrap(a: np.ndarray, b: np.ndarray, gold: np.ndarray, n: int = 2000) -> np.ndarray:
    """Spearman(a) - Spearman(b) on the same resampled papers, ``n`` times (seeded)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        idx = rng.integers(0, len(gold), len(gold))
        out.append(spearmanr(a[idx], gold[idx]).statistic - spearmanr(b[idx], gold[idx]).statistic)
    return np.array(out)


def test_tournament_ranks_better_than_direct_when_written_scores_are_coarse(engine, tmp_path, monkeypatch, fake_server):
    papers = labelled_papers(80)
    _setup(tmp_path, monkeypatch, fake_server, papers, pair_temperature=0.1, seed=4, **COARSE)
    ingest(engine, tmp_path, papers)
    for name in ("tour", "plain"):
        assert annotate(engine, fake_server, f"{name}@1").failed == 0
    gold = np.array([r["label"] for r in papers])
    scores = {
        name: np.array([judged(engine, name)[r["title"]]["ai_score"] for r in papers], dtype=float)
        for name in ("tour", "plain")
    }
    assert len(set(scores["plain"])) <= 3  # direct writes the three coarse points only
    gain = spearmanr(scores["tour"], gold).statistic - spearmanr(scores["plain"], gold).statistic
    # Not noise: the margin is the paired bootstrap over papers (both methods on the same
    # resampled papers), whose 95 % interval of the gain must lie above zero; with 80 papers
    # that interval is about +-0.09 wide, so a gain under ~0.09 could not pass. Measured on
    # this seed: +0.11, interval [+0.03, +0.21].
    boot = _paired_bootstrap(scores["tour"], scores["plain"], gold)
    assert gain > 0.05 and np.quantile(boot, 0.025) > 0, (gain, np.quantile(boot, [0.025, 0.975]))


def test_dry_run_counts_half_the_comparisons_per_paper(engine, tmp_path, monkeypatch, fake_server, db_path):
    papers = labelled_papers(12)
    _setup(tmp_path, monkeypatch, fake_server, papers)
    ingest(engine, tmp_path, papers)
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    out = CliRunner().invoke(app, ["annotate", "--prompt", "tour@1", "--model", "gpt-4o-mini", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert f"dry run: {12 * OWN} calls for tour@1" in out.output and "method tournament" in out.output
    assert fake_server.chat_requests() == []
