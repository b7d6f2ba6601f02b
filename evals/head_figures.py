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
from scipy.stats import spearmanr
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
SUITES = (
    ("iclr2026", "ICLR 2026"),
    ("iclr2022", "ICLR 2022"),
    ("neurips2023", "NeurIPS 2023"),
    ("iclr2017_2018", "ICLR 2017/18"),
)
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


def rho(pred, gold, rows) -> float:
    """The point estimate alone (for the goals table)."""
    rows = [r for r in rows if np.isfinite(pred[r]) and np.isfinite(gold[r])]
    return float(spearmanr(pred[rows], gold[rows])[0]) if len(rows) >= 10 else float("nan")


# (label, suite, target, protocol, bound, strictly above): the figures' goals, met when a
# shipped head's figure reaches the bound (or passes it, for "up on" goals)
GOALS = (
    ("ICLR 2026 rating, out of fold", "iclr2026", "ai", "oof", 0.28, False),
    ("ICLR 2022 rating, out of fold", "iclr2022", "ai", "oof", 0.30, False),
    ("ICLR 2017/18 rating, fit on the other suites", "iclr2017_2018", "ai", "cross", 0.32, False),
    ("novelty up on ICLR 2022, out of fold (the previous head)", "iclr2022", "novelty", "oof", 0.18, True),
    ("novelty up on ICLR 2026, out of fold (the first TF-IDF)", "iclr2026", "novelty", "oof", 0.19, True),
)


def goal_lines(suite, gold, text_oof, text_cross, emb, emb_rows, e_suite) -> list[str]:
    """The goals table: each goal with the shipped heads' figures beside the alternatives."""
    lines = [
        "## Goals\n",
        "Spearman point estimates from the tables above. Shipped: the text head on every "
        "labelled paper, and the stacked embedding head on the papers with vectors.\n",
        "| goal | target | text head, all papers | stacked (shipped) | concatenated | TF-IDF alone | "
        "embeddings alone | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, s, n, protocol, target, strict in GOALS:
        everyone = [r for r in np.where(suite == s)[0] if np.isfinite(gold[n][r])]
        g = gold[n][emb_rows]
        mine = [k for k in np.where(e_suite == s)[0] if np.isfinite(g[k])]
        e = emb[n]
        if protocol == "oof":
            text_all = rho(text_oof[n], gold[n], everyone)
            figures = [rho(e["stack_oof"], g, mine), rho(e["concat"], g, mine)]
            figures += [rho(text_oof[n][emb_rows], g, mine), rho(e["alone"], g, mine)]
        else:
            text_all = rho(text_cross[n], gold[n], everyone)
            figures = [rho(e["stack_x"], g, mine), rho(e["concat_x"], g, mine)]
            figures += [rho(text_cross[n][emb_rows], g, mine), rho(e["alone_x"], g, mine)]
        best = round(max(text_all, figures[0]), 2)
        met = "yes" if (best > target if strict else best >= target) else "no"
        cells = " | ".join("-" if np.isnan(f) else f"{f:.2f}" for f in [text_all, *figures])
        lines.append(f"| {label} | {'>' if strict else '>='} {target:.2f} | {cells} | {met} |")
    return lines


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
    gold = {
        "ai": np.array([np.nan if it.gold_ai is None else it.gold_ai for it in items]),
        "novelty": np.array([np.nan if it.gold_novelty is None else it.gold_novelty for it in items]),
    }
    folds = fold_array(lab.ids)
    held = text_head.text.held
    t_index = {n: k for k, n in enumerate(text_head.text.targets)}
    text_oof = {n: np.array([held[key(t)][t_index[n]] for t in texts]) for n, _ in TARGETS}
    x_counts, vocab = counts(texts)
    x_text, _ = features(x_counts[:, top_columns(x_counts, MAX_FEATURES)])
    base = [len(texts), MAX_FEATURES, ALPHA, hashlib.sha256("".join(texts).encode()).hexdigest()]
    text_cross = {
        n: cached(f"text-cross-{n}", base + [n], lambda n=n: other_suites(x_text, targets[n], suite, ALPHA))
        for n, _ in TARGETS
    }

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
        cat = cached(
            f"concat-oof-{n}", [base, len(keep), n], lambda n=n, c=concat: held_out(c, targets[n], folds, ALPHA)
        )[emb_rows]
        # ICLR 2017/18 from the other suites: two-level stacking as shipped (stack_cross), and
        # the concatenation fitted without the suite
        stack_x = cat_x = np.full(len(emb_rows), np.nan)
        if n == "ai":
            stack_x = cached(
                "stack-cross",
                [base, len(keep), n],
                lambda: stack_cross(v, x_text, targets, suite, emb_rows, folds, base),
            )
            cat_x = cached(
                "concat-cross",
                [base, len(keep), n],
                lambda n=n, c=concat: other_suites(c, targets[n], suite, ALPHA, only=["iclr2017_2018"]),
            )[emb_rows]
        emb[n] = {
            "stack_oof": stack_oof,
            "alone": alone,
            "alone_x": alone_x,
            "concat": cat,
            "stack_x": stack_x,
            "concat_x": cat_x,
        }

    lines = [
        "# The shipped heads: held-out figures\n",
        f"Written by `{COMMAND}` (text head {text_head.hash[:12]}, embedding head "
        f"{head.hash[:12]}). Spearman correlation with the mean rating and with the mean "
        "novelty or contribution score, 95 % bootstrap intervals. Targets are percentiles "
        "within each venue-year; every figure is on papers the scoring head was not fitted "
        "on. Human ceiling: one reviewer against the mean of the others on the same papers "
        "(`annotator/evaluation/ceiling.py`).\n",
        "## The text head, on every labelled paper\n",
        "| suite | label | papers | out-of-fold | fit on the other suites | human ceiling |",
        "|---|---|---|---|---|---|",
    ]
    for n, words in TARGETS:
        for s, name in SUITES:
            rows = [r for r in np.where(suite == s)[0] if np.isfinite(gold[n][r])]
            if not rows:
                continue
            lines.append(
                f"| {name} | {words} | {len(rows):,} | {spearman(text_oof[n], gold[n], rows)} | "
                f"{spearman(text_cross[n], gold[n], rows)} | {ceiling(items, rows, n)} |"
            )
    lines += [
        "",
        "## Papers with SmolLM2 vectors: text, embeddings, both\n",
        f"{len(emb_rows):,} papers ({', '.join(f'{name} {int((e_suite == s).sum()):,}' for s, name in SUITES)}). "
        "Stacked: the shipped embedding head (vectors plus the text head's out-of-fold "
        "predictions); concatenated: one ridge on the TF-IDF columns beside the "
        "standardised vectors.\n",
        "| suite | label | papers | protocol | TF-IDF alone | embeddings alone | stacked (shipped) | "
        "concatenated | human ceiling |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n, words in TARGETS:
        g = gold[n][emb_rows]
        for s, name in SUITES:
            rows = [k for k in np.where(e_suite == s)[0] if np.isfinite(g[k])]
            if len(rows) < 10:
                continue
            e = emb[n]
            ceil = ceiling(items, [emb_rows[k] for k in rows], n)
            lines.append(
                f"| {name} | {words} | {len(rows):,} | out-of-fold | "
                f"{spearman(text_oof[n][emb_rows], g, rows)} | {spearman(e['alone'], g, rows)} | "
                f"{spearman(e['stack_oof'], g, rows)} | {spearman(e['concat'], g, rows)} | {ceil} |"
            )
            lines.append(
                f"| {name} | {words} | {len(rows):,} | other suites | "
                f"{spearman(text_cross[n][emb_rows], g, rows)} | {spearman(e['alone_x'], g, rows)} | "
                f"{spearman(e['stack_x'], g, rows)} | {spearman(e['concat_x'], g, rows)} | {ceil} |"
            )
    lines += ["", *goal_lines(suite, gold, text_oof, text_cross, emb, emb_rows, e_suite)]
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


SETTINGS = (
    (None, 3.0),
    (None, 10.0),
    (None, 30.0),
    (50_000, 3.0),
    (50_000, 10.0),
    (50_000, 30.0),
    (20_000, 3.0),
    (20_000, 10.0),
)
# text blocks beside the shipped word TF-IDF: (name, title weight, character weight); a block
# scaled by w in one ridge is that block with alpha / w**2 (alpha per block)
BLOCKS = (
    ("words (shipped)", 0.0, 0.0),
    ("words + title 0.5", 0.5, 0.0),
    ("words + title 1", 1.0, 0.0),
    ("words + chars 0.5", 0.0, 0.5),
    ("words + chars 1", 0.0, 1.0),
)
VECTOR_WEIGHTS = (0.5, 1.0, 2.0)  # the vector block's weight in a concatenation


def char_counts(texts: list[str]) -> sp.csr_matrix:
    """char_wb 3-5 grams (document frequency 3 or more, the 100,000 most frequent), cached."""
    from sklearn.feature_extraction.text import CountVectorizer

    digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
    path = ROOT / "build" / "text-counts" / f"char-{digest}.npz"
    if path.is_file():
        return sp.load_npz(path).tocsr()
    x = (
        CountVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=100_000, dtype=np.float64)
        .fit_transform(texts)
        .tocsr()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    sp.save_npz(path, x)
    return x


def row(label: str, pred: np.ndarray, gold: np.ndarray, suite: np.ndarray) -> str:
    cells = [spearman(pred, gold, list(np.where(suite == s)[0])).split(" ")[0] for s, _ in SUITES]
    return f"| {label} | " + " | ".join(cells) + " |"


def select() -> None:
    """Out-of-fold Spearman per suite for the settings tried: the word TF-IDF settings (mean
    rating), extra text blocks (rating, novelty), and on the papers with vectors, text,
    embeddings, stacking and concatenation; all on the split of the figures."""
    lab = load_labelled()
    texts = text_inputs(lab)
    x_counts, _ = counts(texts)
    targets = lab.targets()
    gold = {
        "ai": np.array([np.nan if it.gold_ai is None else it.gold_ai for it in lab.items]),
        "novelty": np.array([np.nan if it.gold_novelty is None else it.gold_novelty for it in lab.items]),
    }
    folds = fold_array(lab.ids)
    base = [len(texts), hashlib.sha256("".join(texts).encode()).hexdigest()]
    names = " | ".join(name for _, name in SUITES)
    print("Word TF-IDF, mean rating:\n\n| terms | alpha | " + names + " |\n|---|---|" + "---|" * len(SUITES))
    for n, alpha in SETTINGS:
        terms = n or x_counts.shape[1]
        x, _ = features(x_counts[:, top_columns(x_counts, terms)])
        pred = cached(
            "select", base + [terms, alpha], lambda x=x, alpha=alpha: held_out(x, targets["ai"], folds, alpha)
        )
        print(row(f"{terms:,} | {alpha:g}", pred, gold["ai"], lab.suite))
    words, _ = features(x_counts[:, top_columns(x_counts, MAX_FEATURES)])
    title, _ = features(counts([it.title for it in lab.items], max_features=None)[0])
    chars, _ = features(char_counts(texts))
    text_oof = {}
    print(
        "\nText blocks beside the words (alpha 10; a block's weight w is alpha / w^2 for it):\n\n"
        "| features | label | " + names + " |\n|---|---|" + "---|" * len(SUITES)
    )
    for label, w_title, w_char in BLOCKS:
        parts = [words] + ([title * w_title] if w_title else []) + ([chars * w_char] if w_char else [])
        x = sp.hstack(parts).tocsr()
        for n, words_n in TARGETS:
            pred = cached(
                "select-blocks", base + [w_title, w_char, n], lambda x=x, n=n: held_out(x, targets[n], folds, ALPHA)
            )
            text_oof[label, n] = pred
            print(row(f"{label} | {words_n}", pred, gold[n], lab.suite))
    select_combination(lab, words, text_oof, targets, gold, folds, base)


def select_combination(lab, words, text_oof, targets, gold, folds, base) -> None:
    """Papers with vectors: TF-IDF alone, embeddings alone, stacked (two levels, as shipped)
    and concatenated (TF-IDF columns beside standardised vectors, one ridge on every paper,
    zeros where no vector) with the vector block weighted 0.5, 1, 2; out of fold, and ICLR
    2017/18 from a head fitted on the other suites."""
    papers, vectors = training_vectors()
    index = {i: k for k, i in enumerate(lab.ids)}
    keep = [k for k, (pid, _) in enumerate(papers) if pid in index]
    rows = np.array([index[papers[k][0]] for k in keep])
    v, e_suite, e_folds = vectors[keep], lab.suite[rows], folds[rows]
    key_e = base + [len(keep), hashlib.sha256(v.tobytes()).hexdigest()]
    z = np.zeros((len(lab.ids), v.shape[1]))
    z[rows] = StandardScaler().fit_transform(v) / np.sqrt(v.shape[1])
    print(
        f"\nPapers with vectors ({len(rows):,}: "
        + ", ".join(f"{name} {int((e_suite == s).sum()):,}" for s, name in SUITES)
        + "):\n\n"
        "| features | label | protocol | "
        + " | ".join(name for _, name in SUITES)
        + " |\n|---|---|---|"
        + "---|" * len(SUITES)
    )
    level1 = {
        n: cached("sel-emb", key_e + [n], lambda n=n: dense_oof(v, targets[n][rows], e_folds)) for n, _ in TARGETS
    }
    text_feat = np.column_stack([text_oof["words (shipped)", n][rows] for n, _ in TARGETS])
    stack_in = np.column_stack([level1[n] for n, _ in TARGETS] + [text_feat])
    for n, words_n in TARGETS:
        g, y = gold[n][rows], targets[n]
        out = [
            ("TF-IDF alone", "out-of-fold", text_oof["words (shipped)", n][rows]),
            ("embeddings alone", "out-of-fold", level1[n]),
            (
                "stacked",
                "out-of-fold",
                cached("sel-stack", key_e + [n], lambda y=y: dense_oof(stack_in, y[rows], e_folds)),
            ),
        ]
        for w in VECTOR_WEIGHTS:
            x = sp.hstack([words, sp.csr_matrix(z * w)]).tocsr()
            out.append(
                (
                    f"concatenated, vectors x{w:g}",
                    "out-of-fold",
                    cached("sel-concat", key_e + [w, n], lambda x=x, y=y: held_out(x, y, folds, ALPHA))[rows],
                )
            )
            if n == "ai":
                out.append(
                    (
                        f"concatenated, vectors x{w:g}",
                        "other suites",
                        cached(
                            "sel-concat-x",
                            key_e + [w, n],
                            lambda x=x, y=y: other_suites(x, y, lab.suite, ALPHA, only=["iclr2017_2018"]),
                        )[rows],
                    )
                )
        if n == "ai":
            out.append(("stacked", "other suites", stack_cross(v, words, targets, lab.suite, rows, folds, base)))
        for label, how, pred in out:
            print(row(f"{label} | {words_n} | {how}", pred, g, e_suite))


def stack_cross(v, words, targets, suite, rows, folds, base) -> np.ndarray:
    """Stacking fitted on the suites other than ICLR 2017/18, scoring it: level one (vectors)
    out of fold and level two within the training suites; at the test suite, level one fitted
    on all training papers and the text features from the word ridge fitted without the suite."""
    test, e_test = suite == "iclr2017_2018", suite[rows] == "iclr2017_2018"
    l1, text = [], []
    for n, _ in TARGETS:
        y = targets[n]
        t = np.full(len(y), np.nan)
        t[~test] = cached(
            "sel-text-inner", base + [n], lambda y=y: held_out(words[~test], y[~test], folds[~test], ALPHA)
        )
        t[test] = other_suites(words, y, suite, ALPHA, only=["iclr2017_2018"])[test]
        text.append(t[rows])
        ye, ok = y[rows], np.isfinite(y[rows]) & ~e_test
        col = np.full(len(rows), np.nan)
        col[~e_test] = dense_oof(v[~e_test], ye[~e_test], folds[rows][~e_test])
        col[e_test] = fit_linear(v[ok], ye[ok]).predict(v[e_test])
        l1.append(col)
    x = np.column_stack(l1 + text)
    ye = targets["ai"][rows]
    ok = np.isfinite(ye) & ~e_test
    out = np.full(len(rows), np.nan)
    out[e_test] = fit_linear(x[ok], ye[ok]).predict(x[e_test])
    return out


def speed(n: int, texts: list[str]) -> None:
    from annotator.judge.embeddings import EmbeddingsClient
    from annotator.judge.local_model import MODEL_NAME, LocalModelServer

    for threads in (1, 2):
        with LocalModelServer(threads=threads, embedding=True) as server:
            client = EmbeddingsClient(MODEL_NAME, base_url=server.base_url, batch_size=16)
            start = time.monotonic()
            client.embed(texts[:n])
            took = time.monotonic() - start
        print(
            f"\nSmolLM2 embeddings, {threads} thread(s): {n} abstracts in {took:.1f} s = "
            f"{n / took:.2f} abstracts per second"
        )


if __name__ == "__main__":
    main()
