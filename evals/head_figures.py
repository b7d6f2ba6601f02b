"""Held-out figures of the shipped heads beside TF-IDF alone, embeddings alone and the human
ceiling on the same papers; writes docs/heads.md.

    python evals/head_figures.py                 # prints the tables, writes docs/heads.md
    python evals/head_figures.py --speed 16      # also: abstracts per second of SmolLM2 embeddings
    python evals/head_figures.py --select        # only: the text settings tried (out-of-fold)

Protocols (targets are percentiles within each venue-year; Spearman is against the raw
mean rating and mean novelty or contribution of each suite):
- out-of-fold: each paper scored by a head fitted without its fold (5 folds, seed 0, the
  shipped heads' split);
- other suites: each suite scored by a head fitted on the other suites only, so ICLR 2026
  "from the other suites" is a head fitted on older years meeting current papers (drift).
The text head's out-of-fold predictions come from the shipped head itself; everything
else is refitted here (ridge fits are cached in build/, keyed by their inputs).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.evaluation.ceiling import human_ceiling  # noqa: E402
from annotator.evaluation.metrics import compute_metrics  # noqa: E402
from annotator.heads.fit import fit_linear, make_split  # noqa: E402
from annotator.heads.labelled import load_labelled  # noqa: E402
from annotator.heads.shipped import load_shipped, load_text, text_inputs, training_vectors  # noqa: E402
from annotator.heads.text_fit import counts, features, held_out, other_suites, top_columns  # noqa: E402
from annotator.heads.text_model import key  # noqa: E402
from annotator.heads.text_shipped import ALPHA, MAX_FEATURES  # noqa: E402

N_BOOT = 1000
CACHE = ROOT / "build" / "head-figures"
SUITES = (("iclr2026", "ICLR 2026"), ("iclr2022", "ICLR 2022"), ("neurips2023", "NeurIPS 2023"),
          ("iclr2017_2018", "ICLR 2017/18"))
TARGETS = (("ai", "rating"), ("novelty", "novelty / contribution"))
COMMAND = "python evals/head_figures.py"


def cached(name: str, parts: list, compute) -> np.ndarray:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    out = compute()
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def fold_array(ids: list[str]) -> np.ndarray:
    split = make_split(ids, 5, 0)
    return np.array([split.folds[i] for i in ids])


def dense_oof(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    out = np.full(len(y), np.nan)
    ok = np.isfinite(y)
    for f in sorted(set(folds.tolist())):
        test = folds == f
        out[test] = fit_linear(x[~test & ok], y[~test & ok]).predict(x[test])
    return out


def dense_cross(x: np.ndarray, y: np.ndarray, suite: np.ndarray) -> np.ndarray:
    out = np.full(len(y), np.nan)
    ok = np.isfinite(y)
    for name in sorted(set(suite.tolist())):
        test = suite == name
        if (~test & ok).sum() >= 50:
            out[test] = fit_linear(x[~test & ok], y[~test & ok]).predict(x[test])
    return out


def fmt(m) -> str:
    if m is None or m.value is None:
        return "-"
    return f"{m.value:.2f} [{m.ci_low:.2f}, {m.ci_high:.2f}]"


def spearman(pred, gold, rows) -> str:
    rows = [r for r in rows if np.isfinite(pred[r]) and np.isfinite(gold[r])]
    if len(rows) < 10:
        return "-"
    return fmt(compute_metrics(pred[rows], gold[rows], kinds=("spearman",), n_boot=N_BOOT)["spearman"])


def ceiling(items, rows, target: str) -> str:
    lists = [it.ai_reviewers if target == "ai" else it.novelty_reviewers for it in (items[r] for r in rows)]
    return fmt(human_ceiling(lists, n_boot=N_BOOT).spearman)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", type=int, default=0, help="time embedding N abstracts locally")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "heads.md")
    ap.add_argument("--select", action="store_true", help="print the text settings tried, nothing else")
    args = ap.parse_args()
    if args.select:
        select()
        return
    start = time.monotonic()
    text_head, head = load_text(), load_shipped()
    assert text_head is not None and text_head.text is not None and head is not None, "run make head"
    lab = load_labelled()
    items, suite = lab.items, lab.suite
    texts = text_inputs(lab)
    targets = lab.targets()
    gold = {"ai": np.array([np.nan if it.gold_ai is None else it.gold_ai for it in items]),
            "novelty": np.array([np.nan if it.gold_novelty is None else it.gold_novelty for it in items])}
    folds = fold_array(lab.ids)
    held = text_head.text.held
    t_index = {n: k for k, n in enumerate(text_head.text.targets)}
    text_oof = {n: np.array([held[key(t)][t_index[n]] for t in texts]) for n, _ in TARGETS}
    x_counts, vocab = counts(texts)
    x_text, _ = features(x_counts[:, top_columns(x_counts, MAX_FEATURES)])
    base = [len(texts), MAX_FEATURES, ALPHA, hashlib.sha256("".join(texts).encode()).hexdigest()]
    text_cross = {n: cached(f"text-cross-{n}", base + [n], lambda n=n: other_suites(
        x_text, targets[n], suite, ALPHA)) for n, _ in TARGETS}

    # the papers with SmolLM2 vectors (the embedding and stacked heads)
    papers, vectors = training_vectors()
    row = {i: k for k, i in enumerate(lab.ids)}
    keep = [k for k, (pid, _) in enumerate(papers) if pid in row]
    emb_rows = np.array([row[papers[k][0]] for k in keep])
    v = vectors[keep]
    e_suite = suite[emb_rows]
    e_folds = np.array([head.split.folds[lab.ids[r]] for r in emb_rows])
    emb: dict[str, dict[str, np.ndarray]] = {}
    for n, _ in TARGETS:
        y = targets[n][emb_rows]
        stack_oof = np.array([head.targets[n].oof.get(lab.ids[r], np.nan) for r in emb_rows])
        alone = cached(f"emb-oof-{n}", [base, len(keep), n], lambda y=y: dense_oof(v, y, e_folds))
        alone_x = cached(f"emb-cross-{n}", [base, len(keep), n], lambda y=y: dense_cross(v, y, e_suite))
        # concatenation: TF-IDF columns beside the standardised vectors, one ridge, all papers
        # (zeros where a paper has no vector), scored out of fold on the embedded papers
        z = np.zeros((len(texts), v.shape[1]))
        z[emb_rows] = StandardScaler().fit_transform(v) / np.sqrt(v.shape[1])
        concat = sp.hstack([x_text, sp.csr_matrix(z)]).tocsr()
        cat = cached(f"concat-oof-{n}", [base, len(keep), n], lambda n=n, c=concat: held_out(
            c, targets[n], folds, ALPHA))[emb_rows]
        # stacking fitted on the other suites: the text features of the training papers are
        # out-of-fold within those suites, the test suite's from the text head fitted without it
        stack_x = np.full(len(emb_rows), np.nan)
        if n == "ai":
            test = suite == "iclr2017_2018"
            inner = cached("text-oof-without-iclr2017", base + [n], lambda n=n, t=test: held_out(
                x_text[~t], targets[n][~t], folds[~t], ALPHA))
            feat = np.where(test, text_cross[n], 0.0)
            feat[~test] = inner
            e_test = e_suite == "iclr2017_2018"
            xs = np.column_stack([v, feat[emb_rows]])
            ok = np.isfinite(y) & ~e_test
            stack_x[e_test] = fit_linear(xs[ok], y[ok]).predict(xs[e_test])
        emb[n] = {"stack_oof": stack_oof, "alone": alone, "alone_x": alone_x, "concat": cat,
                  "stack_x": stack_x}

    lines = ["# The shipped heads: held-out figures\n",
             f"Written by `{COMMAND}` (text head {text_head.hash[:12]}, embedding head "
             f"{head.hash[:12]}). Spearman correlation with the mean rating and with the mean "
             "novelty or contribution score, 95 % bootstrap intervals. Targets are percentiles "
             "within each venue-year; every figure is on papers the scoring head was not fitted "
             "on. Human ceiling: one reviewer against the mean of the others on the same papers "
             "(`annotator/evaluation/ceiling.py`).\n",
             "## The text head, on every labelled paper\n",
             "| suite | label | papers | out-of-fold | fit on the other suites | human ceiling |",
             "|---|---|---|---|---|---|"]
    for n, words in TARGETS:
        for s, name in SUITES:
            rows = [r for r in np.where(suite == s)[0] if np.isfinite(gold[n][r])]
            if not rows:
                continue
            lines.append(f"| {name} | {words} | {len(rows):,} | {spearman(text_oof[n], gold[n], rows)} | "
                         f"{spearman(text_cross[n], gold[n], rows)} | {ceiling(items, rows, n)} |")
    lines += ["", "## Papers with SmolLM2 vectors: text, embeddings, both\n",
              f"{len(emb_rows):,} papers ({', '.join(f'{name} {int((e_suite == s).sum()):,}' for s, name in SUITES)}). "
              "Stacked: the shipped embedding head (vectors plus the text head's out-of-fold "
              "predictions); concatenated: one ridge on the TF-IDF columns beside the "
              "standardised vectors.\n",
              "| suite | label | papers | protocol | TF-IDF alone | embeddings alone | stacked (shipped) | "
              "concatenated | human ceiling |", "|---|---|---|---|---|---|---|---|---|"]
    for n, words in TARGETS:
        g = gold[n][emb_rows]
        for s, name in SUITES:
            rows = [k for k in np.where(e_suite == s)[0] if np.isfinite(g[k])]
            if len(rows) < 10:
                continue
            e = emb[n]
            ceil = ceiling(items, [emb_rows[k] for k in rows], n)
            lines.append(f"| {name} | {words} | {len(rows):,} | out-of-fold | "
                         f"{spearman(text_oof[n][emb_rows], g, rows)} | {spearman(e['alone'], g, rows)} | "
                         f"{spearman(e['stack_oof'], g, rows)} | {spearman(e['concat'], g, rows)} | {ceil} |")
            lines.append(f"| {name} | {words} | {len(rows):,} | other suites | "
                         f"{spearman(text_cross[n][emb_rows], g, rows)} | {spearman(e['alone_x'], g, rows)} | "
                         f"{spearman(e['stack_x'], g, rows)} | - | {ceil} |")
    text = "\n".join(lines) + "\n"
    print(text + f"\n({time.monotonic() - start:.0f} s to compute.)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        body = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        marker = "<!-- figures end -->"
        tail = body.split(marker, 1)[1] if marker in body else ""
        args.out.write_text(text + "\n" + marker + tail, encoding="utf-8")
    if args.speed:
        speed(args.speed, texts)


SETTINGS = ((None, 3.0), (None, 10.0), (None, 30.0), (50_000, 3.0), (50_000, 10.0),
            (50_000, 30.0), (20_000, 3.0), (20_000, 10.0))


def select() -> None:
    """Out-of-fold Spearman of TF-IDF ridge with the mean rating per suite, for the settings
    tried (word uni- and bigrams with document frequency 3 or more; None: every such term)."""
    lab = load_labelled()
    texts = text_inputs(lab)
    x_counts, _ = counts(texts)
    y = lab.targets()["ai"]
    gold = np.array([np.nan if it.gold_ai is None else it.gold_ai for it in lab.items])
    folds = fold_array(lab.ids)
    base = [len(texts), hashlib.sha256("".join(texts).encode()).hexdigest()]
    print("| terms | alpha | " + " | ".join(name for _, name in SUITES) + " |")
    print("|---|---|" + "---|" * len(SUITES))
    for n, alpha in SETTINGS:
        terms = n or x_counts.shape[1]
        x, _ = features(x_counts[:, top_columns(x_counts, terms)])
        pred = cached("select", base + [terms, alpha], lambda x=x, alpha=alpha: held_out(x, y, folds, alpha))
        cells = [spearman(pred, gold, list(np.where(lab.suite == s)[0])).split(" ")[0] for s, _ in SUITES]
        print(f"| {terms:,} | {alpha:g} | " + " | ".join(cells) + " |")


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
