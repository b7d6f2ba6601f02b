"""Precision and recall of the prompt-injection detector on its corpus.

Reads ``evals/injection/injected.jsonl`` and ``evals/injection/clean.jsonl``
and prints precision, recall and recall per family (``corpus_metrics``). With
``--labelled`` it also reports how many of the labelled eval abstracts
(``evals/data/*.jsonl``, all published before the 2025 incidents) are flagged,
and how long ``detect`` takes per abstract. Exits 1 if precision or recall is
below ``--min`` (default 0.9).

    python bench/bench_injection_detector.py
    python bench/bench_injection_detector.py --labelled --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _util import ROOT, environment, print_table

from annotator.injection.detect import corpus_metrics, detect


def labelled_flags() -> dict:
    rows = []
    for path in sorted((ROOT / "evals" / "data").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    start = time.perf_counter()
    flagged = [r["id"] for r in rows if detect(f"{r['title']}\n{r['abstract']}")]
    seconds = time.perf_counter() - start
    return {
        "abstracts": len(rows),
        "flagged": len(flagged),
        "flagged_ids": flagged,
        "ms_per_abstract": round(1000 * seconds / max(1, len(rows)), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT / "evals" / "injection"))
    parser.add_argument("--labelled", action="store_true", help="also count flags on the labelled eval abstracts")
    parser.add_argument("--min", type=float, default=0.9, help="fail below this precision/recall")
    parser.add_argument("--json", dest="json_out", help="write the figures to this file")
    args = parser.parse_args()

    m = corpus_metrics(args.corpus)
    rows = [(f, r["flagged"], r["total"], f"{r['recall']:.2f}") for f, r in m["by_family"].items()]
    rows.append(("all injected", m["true_positives"], m["injected"], f"{m['recall']:.2f}"))
    print_table(
        "injection detector: recall by family", ["family", "flagged", "total", "recall"], rows, notes=[environment()]
    )
    print(
        f"precision {m['precision']:.3f}  recall {m['recall']:.3f}  "
        f"({m['true_positives']}/{m['injected']} injected flagged, "
        f"{m['false_positives']}/{m['clean']} clean flagged)"
    )
    for name in m["missed"]:
        print(f"  missed: {name}")
    for name in m["false_positive_ids"]:
        print(f"  false positive: {name}")
    if args.labelled:
        m["labelled"] = labelled_flags()
        lab = m["labelled"]
        print(
            f"labelled eval abstracts flagged: {lab['flagged']}/{lab['abstracts']} "
            f"({lab['ms_per_abstract']} ms per abstract)"
        )
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(m, fh, indent=1, ensure_ascii=False)
    return 0 if (m["precision"] or 0) >= args.min and (m["recall"] or 0) >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
