"""Fit the head that ships with the package, from the shipped SmolLM2 vectors.

    python evals/fit_head.py          # or: make head

Reads ``annotator/data/heads/smollm2/embeddings.npy`` and ``ids.json`` (written by
``evals/embed_labelled.py``) and the labels in ``evals/data`` (all three suites), fits
the ridge head with a 5-fold split (seed 0) and writes ``head.json`` beside them. The
same inputs give the same file, byte for byte: ``make head && git diff --exit-code
annotator/data/heads`` checks it (``tests/test_heads_shipped.py`` does the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.heads.shipped import SHIPPED, build_shipped  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=SHIPPED / "head.json")
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    head = build_shipped(n_boot=args.n_boot)
    args.out.write_text(head.dumps() + "\n", encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT)}: {len(head.split.folds)} papers, hash {head.hash[:12]}")


if __name__ == "__main__":
    main()
