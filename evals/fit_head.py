"""Fit the heads that ship with the package (``make head``).

    python evals/fit_head.py

1. The text head (``annotator/data/heads/text/head.json``, prompt ``text-head@1``): TF-IDF
   of title and abstract, ridge, fitted on every labelled paper in ``evals/data``
   (the three suites' files and all ICLR 2026 submissions of the gzipped file).
2. The embedding head (``annotator/data/heads/smollm2/head.json``, prompt ``embed@1``):
   the SmolLM2 vectors in ``evals/data/embeddings/smollm2/`` (written by
   ``evals/embed_labelled.py``) stacked with the text head's out-of-fold predictions.

Targets are percentiles within each venue-year; splits are 5-fold, seed 0. The same inputs
give the same files, byte for byte: ``make head && git diff --exit-code annotator/data/heads``
checks it (``tests/test_heads_shipped.py`` does the same). The TF-IDF count matrix is
cached under ``build/`` (keyed by the texts and settings).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.heads.labelled import load_labelled  # noqa: E402
from annotator.heads.shipped import build_shipped, build_text, shipped_path, text_path  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    lab = load_labelled()
    text_head = build_text(lab, n_boot=args.n_boot)
    head = build_shipped(text_head, lab=lab, n_boot=args.n_boot)
    for path, h in ((text_path(), text_head), (shipped_path(), head)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(h.dumps() + "\n", encoding="utf-8")
        size = path.stat().st_size / 1e6
        print(f"wrote {path.relative_to(ROOT)}: {size:.1f} MB, hash {h.hash[:12]}")


if __name__ == "__main__":
    main()
