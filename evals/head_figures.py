"""Held-out figures of the shipped head beside TF-IDF and the human ceiling, on the same papers.

    python evals/head_figures.py                 # Markdown table on stdout
    python evals/head_figures.py --speed 16      # also: abstracts per second of SmolLM2 embeddings

Two protocols, both over the papers the shipped head was fitted on (the ones with vectors):
- ICLR 2022 out-of-fold: each paper scored by a head fitted on the other 4 of 5 folds (the
  head's recorded split, all three suites in training);
- ICLR 2017/18 fit on the other suites: heads fitted on ICLR 2022 and NeurIPS 2023 only.
TF-IDF ridge (the eval harness's baseline) is fitted with the same split or the same
suites; the human ceiling is one reviewer against the others on the same papers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.evaluation.baselines import make_vectorizer  # noqa: E402
from annotator.evaluation.ceiling import human_ceiling  # noqa: E402
from annotator.evaluation.metrics import compute_metrics  # noqa: E402
from annotator.heads.shipped import load_shipped  # noqa: E402

N_BOOT = 1000


def tfidf_predictions(texts, y, train_sets):
    """{index: prediction} from a TF-IDF ridge fitted on each (train, test) pair."""
    out = {}
    for train, test in train_sets:
        train = [i for i in train if np.isfinite(y[i])]
        vec = make_vectorizer()
        x = vec.fit_transform([texts[i] for i in train])
        model = Ridge(alpha=1.0).fit(x, y[train])
        out.update(zip(test, model.predict(vec.transform([texts[i] for i in test]))))
    return out


def fmt(m) -> str:
    if m is None or m.value is None:
        return "-"
    return f"{m.value:.2f} [{m.ci_low:.2f}, {m.ci_high:.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", type=int, default=0, help="time embedding N abstracts locally")
    args = ap.parse_args()
    from annotator.evaluation.items import load_items
    from annotator.evaluation.suites import load_suite

    head = load_shipped()
    assert head is not None, "no shipped head"
    items = {}
    for name in head.suites:
        for it in load_items(load_suite(ROOT / "evals" / f"{name}.toml"), sample=False):
            items[it.id] = it
    ids = sorted(head.split.folds)
    texts = [items[i].text for i in ids]
    suite = np.array([head.suite_of[i] for i in ids])
    fold = np.array([head.split.folds[i] for i in ids])
    print(f"shipped head {head.hash[:12]}: {len(ids)} papers "
          f"({', '.join(f'{s} {int((suite == s).sum())}' for s in head.suites)})\n")
    print("| papers | label | n | embedding head Spearman | TF-IDF Spearman | human ceiling | "
          "head accept AUROC | TF-IDF accept AUROC |")
    print("|---|---|---|---|---|---|---|---|")
    for target, gold_of, reviewers_of in (
            ("ai", lambda it: it.gold_ai, lambda it: it.ai_reviewers),
            ("novelty", lambda it: it.gold_novelty, lambda it: it.novelty_reviewers)):
        if target not in head.targets:
            continue
        y = np.array([np.nan if gold_of(items[i]) is None else gold_of(items[i]) for i in ids], float)
        t = head.targets[target]
        for name, how, table, sets in (
                ("iclr2022", "out-of-fold", t.oof,
                 [(np.where(fold != f)[0].tolist(), np.where((fold == f) & (suite == "iclr2022"))[0].tolist())
                  for f in range(head.split.k)]),
                ("iclr2017_2018", "fit on the other suites", t.cross,
                 [(np.where(suite != "iclr2017_2018")[0].tolist(),
                   np.where(suite == "iclr2017_2018")[0].tolist())])):
            rows = [k for k in range(len(ids)) if suite[k] == name and np.isfinite(y[k]) and ids[k] in table]
            if len(rows) < 10:
                continue
            tf = tfidf_predictions(texts, y, sets)
            acc = [np.nan if items[ids[k]].accepted is None else float(items[ids[k]].accepted) for k in rows]
            kinds = ("spearman", "auroc")
            mh = compute_metrics([table[ids[k]] for k in rows], y[rows], accepted=acc, kinds=kinds, n_boot=N_BOOT)
            mt = compute_metrics([tf[k] for k in rows], y[rows], accepted=acc, kinds=kinds, n_boot=N_BOOT)
            ceil = human_ceiling([reviewers_of(items[ids[k]]) for k in rows], n_boot=N_BOOT)
            print(f"| {name} ({how}) | {target} | {len(rows)} | {fmt(mh['spearman'])} | "
                  f"{fmt(mt['spearman'])} | {fmt(ceil.spearman)} | {fmt(mh.get('auroc'))} | {fmt(mt.get('auroc'))} |")
    if args.speed:
        speed(args.speed, texts)


def speed(n: int, texts: list[str]) -> None:
    from annotator.judge.embeddings import EmbeddingsClient
    from annotator.judge.local_model import MODEL_NAME, LocalModelServer

    for threads in (1, 2):
        with LocalModelServer(threads=threads, embedding=True) as server:
            client = EmbeddingsClient(MODEL_NAME, base_url=server.base_url, batch_size=16)
            start = time.monotonic()
            client.embed(texts[:n])
            took = time.monotonic() - start
        print(f"\nSmolLM2 embeddings, {threads} thread(s): {n} abstracts in {took:.1f} s = "
              f"{n / took:.2f} abstracts per second")


if __name__ == "__main__":
    main()
