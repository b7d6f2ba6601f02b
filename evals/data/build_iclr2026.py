"""Build the two ICLR 2026 files in this folder from the public review dump.

    python evals/data/build_iclr2026.py PATH/TO/iclr2026_initial_reviews.jsonl

Writes, byte for byte the same on every run:

- ``iclr2026_initial_reviews.jsonl.gz``: every row (17,472 submissions), without the
  per-row ``source`` field (it is the same repository and commit for every row; the
  README names it). Training data for the fitted heads; not shipped in the wheel.
- ``iclr2026_sample.jsonl``: 1,500 of those rows drawn uniformly at random with the
  seed below, the data of the ``iclr2026`` eval suite (shipped in the wheel).
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261204
SAMPLE = 1500


def main(source: str) -> None:
    rows = [json.loads(line) for line in Path(source).read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        row.pop("source", None)
    rows.sort(key=lambda r: r["id"])
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in rows]
    with (
        (HERE / "iclr2026_initial_reviews.jsonl.gz").open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out,
    ):
        out.write("".join(lines).encode("utf-8"))
    picked = sorted(random.Random(SEED).sample(range(len(lines)), SAMPLE))
    (HERE / "iclr2026_sample.jsonl").write_text("".join(lines[i] for i in picked), encoding="utf-8")
    print(f"{len(rows)} rows, sample of {SAMPLE}")


if __name__ == "__main__":
    main(sys.argv[1])
