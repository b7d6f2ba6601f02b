"""Embed every labelled paper of the shipped suites with the embedded SmolLM2 model.

    python evals/embed_labelled.py            # resumable: vectors go to a work file first
    python evals/embed_labelled.py --save-pending   # keep them in the repository, unfitted

Writes ``evals/data/embeddings/smollm2/embeddings.npy`` (float16, one row per paper,
in the order of ``ids.json``), the input of ``evals/fit_head.py`` (``make head``): training
data kept in the repository, not shipped in the wheel (which carries the fitted heads).
It starts llama.cpp's server with embeddings enabled and sends the text the
``embed`` prompt version renders, through the same client the judge uses. On two
shared cores this takes about an hour for the 3,774 papers, so it is done once and
its output is kept in the repository.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.evaluation.items import load_items  # noqa: E402
from annotator.evaluation.suites import load_suite  # noqa: E402
from annotator.heads.shipped import training_weights  # noqa: E402
from annotator.heads.text import prompt_text  # noqa: E402
from annotator.judge.embeddings import DEFAULT_BATCH, EmbeddingsClient, text_hash  # noqa: E402
from annotator.judge.local_model import MODEL_NAME, LocalModelServer  # noqa: E402
from annotator.judge.local_weights import WEIGHTS  # noqa: E402
from annotator.prompts.files import load_prompt  # noqa: E402
from annotator.settings import current  # noqa: E402

SUITES = ("iclr2022", "iclr2017_2018", "neurips2023", "iclr2026")
# every ICLR 2026 submission (the suite's file is a sample of it): embedded after the suites
ICLR2026_ALL = ROOT / "evals" / "data" / "iclr2026_initial_reviews.jsonl.gz"
OUT = ROOT / "evals" / "data" / "embeddings" / "smollm2"
PENDING = OUT / "pending.npz"


class FileCache:
    """Vectors appended to a JSON-lines file as they arrive, so a stopped run resumes."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[str, np.ndarray] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:  # a line being written by a running shard
                    continue
                self.rows[rec["h"]] = np.frombuffer(base64.b64decode(rec["v"]), np.float32)

    def get_many(self, model, hashes):
        return {h: self.rows[h] for h in hashes if h in self.rows}

    def put_many(self, model, vectors):
        with self.path.open("a") as fh:
            for h, v in vectors.items():
                self.rows[h] = v
                fh.write(
                    json.dumps({"h": h, "v": base64.b64encode(np.asarray(v, np.float32).tobytes()).decode()}) + "\n"
                )


def labelled_texts(prompt_ref: str) -> list[tuple[str, str]]:
    """(id, text) of every labelled paper: each suite's eval sample first, then the rest
    in a seeded random order (a run stopped early leaves a uniform random subset)."""
    prompt = load_prompt(prompt_ref)
    first, rest = [], []
    for name in SUITES:
        suite = load_suite(ROOT / "evals" / f"{name}.toml")
        sample = {it.id for it in load_items(suite)}
        for it in load_items(suite, sample=False):
            (first if it.id in sample else rest).append((it.id, prompt_text(prompt, it.title, it.abstract)))
    order = np.random.default_rng(20261127).permutation(len(rest))
    seen = {i for i, _ in first} | {i for i, _ in rest}
    extra = [
        (r["id"], prompt_text(prompt, r["title"], r["abstract"]))
        for r in _jsonl_gz(ICLR2026_ALL)
        if r["id"] not in seen
    ]
    later = np.random.default_rng(20261204).permutation(len(extra))
    return first + [rest[i] for i in order] + [extra[i] for i in later]


def _jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def fitted_weights() -> str:
    """The weights (``local_weights.WEIGHTS``) the fitted file's vectors were made with."""
    return training_weights(OUT) if (OUT / "ids.json").exists() else "packaged"


def shipped_vectors(weights: str) -> dict[str, np.ndarray]:
    """Text hash -> vector of the papers already embedded with ``weights`` (not embedded
    again): those of the fitted file, and those kept in ``pending.npz`` (embedded, not yet
    in a fit). Vectors of other weights are not reused (they differ slightly)."""
    found: dict[str, np.ndarray] = {}
    if weights != fitted_weights():
        return found
    ids, npy = OUT / "ids.json", OUT / "embeddings.npy"
    if ids.exists() and npy.exists():
        papers = json.loads(ids.read_text())["papers"]
        matrix = np.load(npy).astype(np.float32)
        found.update((h, matrix[k]) for k, (_, h) in enumerate(papers))
    if PENDING.exists():
        with np.load(PENDING, allow_pickle=False) as kept:
            found.update(zip(kept["hashes"].tolist(), kept["vectors"].astype(np.float32)))
    return found


def save_pending(work: Path) -> None:
    """Keep the work files' vectors that no fit uses yet in ``pending.npz`` (float16, like the
    fitted file), so a clone resumes from them; the fitted files are left as they are."""
    fitted = set()
    if (OUT / "ids.json").exists():
        fitted = {h for _, h in json.loads((OUT / "ids.json").read_text())["papers"]}
    rows = {h: v for h, v in shipped_vectors(fitted_weights()).items() if h not in fitted}
    for path in work_files(work):
        rows.update((h, v) for h, v in FileCache(path).rows.items() if h not in fitted)
    hashes = sorted(rows)
    if not hashes:  # every vector is in the fitted file: nothing to keep beside it
        PENDING.unlink(missing_ok=True)
        print(f"every embedded paper is in the fitted file; no {PENDING.relative_to(ROOT)}")
        return
    np.savez_compressed(
        PENDING, hashes=np.array(hashes), vectors=np.vstack([rows[h] for h in hashes]).astype(np.float16)
    )
    print(f"kept {len(hashes)} vectors not yet fitted in {PENDING.relative_to(ROOT)}")


def work_files(work: Path) -> list[Path]:
    return sorted(work.parent.glob(work.stem + "*" + work.suffix))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompt", default="embed@1")
    ap.add_argument("--work", type=Path, default=None, help="default: build/smollm2[-WEIGHTS]-embeddings.jsonl")
    ap.add_argument(
        "--weights",
        choices=WEIGHTS,
        default=None,
        help="the weights the server reads (default: ANNOTATOR_LOCAL_EMBEDDING_WEIGHTS); vectors "
        "of other weights are not reused, and the fitted file is replaced only once every paper has them",
    )
    # one thread per server process (llama.cpp's spinning threads stall on busy cores), 32
    # texts a request spread over --replicas processes; --n-batch is also where llama.cpp
    # cuts a text, so another value changes the vectors of long texts
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--replicas",
        type=int,
        default=None,
        help="server processes (default: ANNOTATOR_LOCAL_REPLICAS, else one per usable core, at most 4)",
    )
    ap.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--n-batch", type=int, default=512)
    ap.add_argument(
        "--shard",
        default="0/1",
        help="I/N: embed every N-th paper from the I-th "
        "(run N processes at once); the last to finish, or --collect, writes the output",
    )
    ap.add_argument("--collect", action="store_true", help="write the output from the work files, embedding nothing")
    ap.add_argument(
        "--save-pending",
        action="store_true",
        help="keep the vectors no fit uses yet in pending.npz (for the repository), "
        "embedding nothing and leaving the fitted files as they are",
    )
    args = ap.parse_args()
    args.weights = args.weights or current().local_embedding_weights
    if args.work is None:
        tag = "" if args.weights == "packaged" else f"-{args.weights}"
        args.work = ROOT / "build" / f"smollm2{tag}-embeddings.jsonl"
    if args.save_pending:
        save_pending(args.work)
        return
    rows = labelled_texts(args.prompt)[: args.limit]
    args.work.parent.mkdir(parents=True, exist_ok=True)
    if not args.collect:
        index, count = (int(x) for x in args.shard.split("/"))
        have = shipped_vectors(args.weights)
        mine = [r for r in rows if text_hash(r[1]) not in have][index::count]
        work = args.work if count == 1 else args.work.with_stem(f"{args.work.stem}-{index}")
        cache = FileCache(work)
        start = time.monotonic()
        with LocalModelServer(
            threads=args.threads, n_batch=args.n_batch, embedding=True, replicas=args.replicas, weights=args.weights
        ) as server:
            client = EmbeddingsClient(MODEL_NAME, base_url=server.base_url, batch_size=args.batch, cache=cache)

            def progress(done: int, total: int) -> None:
                rate = done / max(time.monotonic() - start, 1e-9)
                print(f"{done}/{total} new texts, {rate:.2f} per second", flush=True)

            client.embed([t for _, t in mine], on_batch=progress)
        print(f"{client.stats.texts - client.stats.cached} embedded in {client.stats.seconds:.0f} s")
    found: dict[str, np.ndarray] = shipped_vectors(args.weights)
    for path in work_files(args.work):
        found.update(FileCache(path).rows)
    done = [(i, text_hash(t)) for i, t in rows if text_hash(t) in found]
    if not done:
        return
    if args.weights != fitted_weights() and len(done) < len(rows):
        print(
            f"{len(done)} of {len(rows)} papers have {args.weights} vectors; the fitted file "
            f"({fitted_weights()}) is left as it is until every paper has them"
        )
        return
    matrix = np.vstack([found[h] for _, h in done])
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "embeddings.npy", matrix.astype(np.float16), allow_pickle=False)
    (OUT / "ids.json").write_text(
        json.dumps({"model": MODEL_NAME, "prompt": args.prompt, "weights": args.weights, "papers": done}, indent=0)
        + "\n"
    )
    print(f"wrote {matrix.shape[0]} of {len(rows)} vectors ({matrix.shape[1]} dims) to {OUT}")
    if PENDING.exists():  # what is now fitted leaves pending.npz
        save_pending(args.work)


if __name__ == "__main__":
    main()
