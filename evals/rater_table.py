"""The method table against the fake rater in coarse mode, on the ICLR 2022 and 2026 suites.

    python evals/rater_table.py --n 100 --out rater-table      # prints the Markdown table

The rater knows every paper's mean rating and answers like a noisy reviewer whose
written scores fall on three points of the scale (60, 70, 80 on 0-100) while its
log-probabilities and A/B comparisons keep its full belief (``annotator/testing/_rater.py``).
The figures check the methods' machinery and maths, never how a real model ranks papers.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from annotator.db import open_db
from annotator.evalrun.run import EvalRunOptions, run_eval
from annotator.evaluation.method_table import add_usage, method_table, run_usage
from annotator.evaluation.results import load_result
from annotator.settings import get_settings
from annotator.testing.fakeserver import FakeServer

HERE = Path(__file__).resolve().parent
SUITES = {
    "iclr2022": ("iclr2022_ratings_novelty.jsonl", [1, 10], "novelty_or_contribution_mean"),
    "iclr2026": ("iclr2026_sample.jsonl", [0, 10], "contribution_mean"),
}
PROMPTS = ["score@1", "score-rubric@1", "score-samples@1", "score-expected@1", "score-pairwise@1", "score-tournament@1"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="papers per suite")
    ap.add_argument("--out", default="rater-table")
    ap.add_argument("--prompts", nargs="*", default=PROMPTS)
    ap.add_argument("--noise", type=float, default=0.2)
    args = ap.parse_args()
    out = Path(args.out)
    results = []
    with FakeServer(latency_s=0.0) as fs, tempfile.TemporaryDirectory() as tmp:
        settings = get_settings(base_url=fs.base_url, api_key="sk-test", timeout_s=30.0)
        for suite, (data, scale, novelty) in SUITES.items():
            fs.configure(
                rater={
                    "labels_path": str(HERE / "data" / data),
                    "label_field": "rating_mean",
                    "label_scale": scale,
                    "novelty_field": novelty,
                    "novelty_scale": [1, 4],
                    "noise": args.noise,
                    "paper_noise": args.noise / 2,
                    "coarse": [0.6, 0.7, 0.8],
                }
            )
            engine = open_db(str(Path(tmp) / f"{suite}.db"))
            for prompt in args.prompts:
                folder = out / f"{suite}-{prompt}"
                run_eval(
                    engine,
                    settings,
                    str(HERE / f"{suite}.toml"),
                    EvalRunOptions(
                        prompt=prompt,
                        model="gpt-4o-mini",
                        n_boot=300,
                        plots=False,
                        sample_size=args.n,
                        out_dir=str(folder),
                        concurrency=16,
                    ),
                )
                results.append((engine, load_result(str(folder / "result.json"))))
        by_suite = [r for _, r in results]
        table = method_table(by_suite, price_model="gpt-4o-mini")
        # usage per suite comes from that suite's database
        for engine, res in results:
            found = run_usage(engine, res, "gpt-4o-mini")
            name = f"{res.provenance.prompt_name}@{res.provenance.prompt_version} {res.provenance.model}"
            row = next(r for r in table.rows if r.name == name)
            if found is not None:
                row.usage = add_usage(row.usage, found[0])
                row.method = row.method or found[1]
        table.notes = [n for n in table.notes if "database" not in n]
    text = table.to_markdown()
    (out / "table.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
