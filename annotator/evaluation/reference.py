"""Reference numbers of a suite's data, independent of any model: human ceiling and TF-IDF.

    python -m annotator.evaluation evals/iclr2022.toml            # the whole data file
    python -m annotator.evaluation evals/iclr2022.toml --sample   # the suite's sample only
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np

from .baselines import tfidf_ridge_oof
from .ceiling import human_ceiling
from .items import EvalItem, load_items
from .labels import label_specs_for_suite
from .metrics import CORRELATIONS, compute_metrics
from .suites import Suite, load_suite


def reference_numbers(suite: Suite, items: Sequence[EvalItem] | None = None, *,
                      n_boot: int = 1000, seed: int = 0, ceiling_draws: int = 10) -> dict:
    """Per label: human ceiling (Spearman) and out-of-fold TF-IDF + ridge correlations.

    ``items`` (default: the whole data file) are the papers scored; the TF-IDF model is
    always cross-validated over the whole file, as in :func:`evaluate`.
    """
    pool = load_items(suite, sample=False)
    items = list(items) if items is not None else pool
    specs = label_specs_for_suite(suite)
    oof_pool = tfidf_ridge_oof([it.text for it in pool], {s.name: [s.gold(it) for it in pool]
                                                          for s in specs}, seed=seed)
    row = {it.id: i for i, it in enumerate(pool)}
    take = np.array([row[it.id] for it in items])
    oof = {name: preds[take] for name, preds in oof_pool.items()}
    out = {"suite": suite.name, "n_papers": len(items), "labels": {}}
    for spec in specs:
        gold = np.array([np.nan if (g := spec.gold(it)) is None else g for it in items])
        ok = np.isfinite(gold) & np.isfinite(oof[spec.name])
        entry = {"gold_field": spec.gold_field, "n": int(ok.sum()),
                 "tfidf_ridge": {k: v.model_dump() for k, v in compute_metrics(
                     oof[spec.name][ok], gold[ok], kinds=CORRELATIONS, n_boot=n_boot,
                     seed=seed).items()}}
        if spec.reviewers_field:
            entry["human_ceiling"] = human_ceiling(
                [spec.reviewers(it) for it, m in zip(items, ok) if m], n_draws=ceiling_draws,
                n_boot=n_boot, seed=seed).model_dump()
        out["labels"][spec.name] = entry
    return out


def _fmt(mv: dict) -> str:
    if mv.get("value") is None:
        return "undefined"
    ci = f" [{mv['ci_low']:.3f}, {mv['ci_high']:.3f}]" if mv.get("ci_low") is not None else ""
    return f"{mv['value']:.3f}{ci}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m annotator.evaluation", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", help="suite TOML file, e.g. evals/iclr2022.toml")
    ap.add_argument("--sample", action="store_true", help="only the suite's sample")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args(argv)
    suite = load_suite(args.suite)
    items = load_items(suite, sample=args.sample)
    ref = reference_numbers(suite, items, n_boot=args.n_boot, seed=args.seed)
    if args.json:
        print(json.dumps(ref, indent=2))
        return 0
    print(f"{ref['suite']}: {ref['n_papers']} papers")
    for label, e in ref["labels"].items():
        print(f"  {label} ({e['gold_field']}, n={e['n']})")
        if "human_ceiling" in e:
            hc = e["human_ceiling"]
            print(f"    human ceiling Spearman   {_fmt(hc['spearman'])}  "
                  f"({hc['n_papers']} papers, {hc['n_draws']} draws)")
        print(f"    TF-IDF + ridge Spearman  {_fmt(e['tfidf_ridge']['spearman'])}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
