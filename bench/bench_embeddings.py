"""Embedding throughput of the embedded SmolLM2-135M server: earlier settings against the new.

    python bench/bench_embeddings.py                      # 24 abstracts, 3 rounds, demo twice each
    python bench/bench_embeddings.py -n 48 --rounds 5 --json embeddings.json
    python bench/bench_embeddings.py --demo-runs 0        # embeddings only

"old" is one llama.cpp server process with one thread reading the packaged Q4_1 weights,
32 texts per request, computing the vocabulary projection it throws away (the settings
before replicas); "before" is the default before this benchmark's last change: one
single-thread process per usable core (at most four; ``ANNOTATOR_LOCAL_REPLICAS``)
leaving out the vocabulary projection (``annotator.judge.llama_server``), one text a
request as processes come free (``SPREAD_BATCH``), packaged Q4_1 weights; "new" is the
default now: the same with the F16 copy of the weights (``annotator.judge.local_weights``),
which llama.cpp multiplies with its tiled kernels. All three run at once and embed the
same N abstracts of ``evals/data/iclr2026_sample.jsonl`` (the ``embed@1`` text) in
rotating order, so a busy machine slows them alike; the table gives the median abstracts
per second of each, the ratios, the servers' CPU seconds per abstract (what two idle
cores would give is about cores / that figure), the load average during the run, and the
smallest cosine similarity of each setting's vectors to the old ones (1 for the same
weights; F16 weights give nearly, not exactly, the Q4_1 vectors, which is why the shipped
head records the weights its training vectors came from). Then ``annotator demo --json``
runs end to end, alternately with the "before" and "new" server settings, in a fresh
database each time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _util import CODE, environment, print_table

from annotator.heads.text import prompt_text
from annotator.judge.embeddings import EmbeddingsClient
from annotator.judge.local_model import MODEL_NAME, LocalModelServer
from annotator.prompts.files import load_prompt

SAMPLE = CODE / "evals" / "data" / "iclr2026_sample.jsonl"


def abstracts(n: int) -> list[str]:
    prompt = load_prompt("embed@1")
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()[:n]]
    return [prompt_text(prompt, r["title"], r["abstract"]) for r in rows]


def cpu_seconds(server: LocalModelServer) -> float:
    """User and system CPU time of the server's processes (replicas included)."""
    total = 0.0
    for s in [server, *server._extras]:
        if s._proc is None:
            continue
        fields = Path(f"/proc/{s._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def embed_rounds(n: int, rounds: int) -> dict:
    texts = abstracts(n)
    setups = {
        "old": dict(replicas=1, skip=False, spread=None, weights="packaged"),
        "before": dict(replicas=None, skip=True, spread=None, weights="packaged"),
        "new": dict(replicas=None, skip=True, spread=None, weights="f16"),
    }
    servers: dict[str, LocalModelServer] = {}
    try:
        for name, cfg in setups.items():
            servers[name] = LocalModelServer(
                embedding=True, replicas=cfg["replicas"], skip_lm_head=cfg["skip"], weights=cfg["weights"]
            )
            servers[name].start().wait_for_replicas()
        rates: dict[str, list[float]] = {k: [] for k in setups}
        cpu: dict[str, list[float]] = {k: [] for k in setups}
        vectors: dict[str, np.ndarray] = {}
        loads = []
        names = list(setups)
        for r in range(rounds):
            for name in names[r % 3 :] + names[: r % 3]:
                client = EmbeddingsClient(
                    MODEL_NAME, base_url=servers[name].base_url, spread_batch=setups[name]["spread"]
                )  # no cache: every round embeds
                c0, t0 = cpu_seconds(servers[name]), time.monotonic()
                vectors[name] = client.embed(texts)
                seconds = time.monotonic() - t0
                cpu[name].append((cpu_seconds(servers[name]) - c0) / n)
                rates[name].append(n / seconds)
                loads.append(os.getloadavg()[0])
                client.close()
                print(f"  round {r + 1} {name}: {n / seconds:.3f} abstracts/s, load {loads[-1]:.1f}", flush=True)
        old = vectors["old"]
        cos = {
            k: float(((old * v).sum(1) / np.linalg.norm(old, axis=1) / np.linalg.norm(v, axis=1)).min())
            for k, v in vectors.items()
        }
        processes = {k: len(servers[k].wait_for_replicas()) for k in setups}
    finally:
        for s in servers.values():
            s.stop(keep_log=False)
    return {
        "abstracts": n,
        "rounds": rounds,
        "processes": processes,
        "median_per_s": {k: statistics.median(v) for k, v in rates.items()},
        "rates": rates,
        "cpu_s_per_abstract": {k: statistics.median(v) for k, v in cpu.items()},
        "load_avg": {"min": min(loads), "max": max(loads), "mean": statistics.fmean(loads)},
        "min_cosine_to_old": cos,
    }


def demo_runs(runs: int, concurrency: int) -> dict:
    """Wall-clock seconds of ``annotator demo --json`` with the "before" and "new" server settings."""
    times: dict[str, list[float]] = {"before": [], "new": []}
    for r in range(runs):
        for name in ["before", "new"] if r % 2 == 0 else ["new", "before"]:
            env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
            env["ANNOTATOR_LOCAL_EMBEDDING_WEIGHTS"] = "packaged" if name == "before" else "f16"
            env["PYTHONPATH"] = str(CODE)
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.monotonic()
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "annotator.cli",
                        "--db",
                        str(Path(tmp) / "d.db"),
                        "demo",
                        "--json",
                        "--concurrency",
                        str(concurrency),
                    ],
                    env=env,
                    check=True,
                    capture_output=True,
                    cwd=tmp,
                )
                times[name].append(time.monotonic() - t0)
            print(f"  demo {r + 1} {name}: {times[name][-1]:.1f} s", flush=True)
    return {
        "concurrency": concurrency,
        "seconds": times,
        "median_s": {k: statistics.median(v) for k, v in times.items() if v},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=24, help="abstracts per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--demo-runs", type=int, default=2, help="demo runs per setting (0: none)")
    ap.add_argument("--demo-concurrency", type=int, default=1)
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = ap.parse_args()
    print(f"embeddings: old, before and new settings; {environment()}", flush=True)
    fig = {"environment": environment(), "embeddings": embed_rounds(args.n, args.rounds)}
    e = fig["embeddings"]
    rate = e["median_per_s"]
    rows = [
        (
            k,
            e["processes"][k],
            f"{rate[k]:.3f}",
            f"{rate[k] / rate['old']:.2f}x",
            f"{e['cpu_s_per_abstract'][k]:.2f}",
            f"{e['min_cosine_to_old'][k]:.6f}",
        )
        for k in ("old", "before", "new")
    ]
    e["ratio"] = rate["new"] / rate["old"]
    e["ratio_to_before"] = rate["new"] / rate["before"]
    notes = [
        f"new/before: {e['ratio_to_before']:.2f}x; load average {e['load_avg']['min']:.1f}-"
        f"{e['load_avg']['max']:.1f} on {os.cpu_count()} CPUs",
    ]
    if args.demo_runs:
        fig["demo"] = demo_runs(args.demo_runs, args.demo_concurrency)
        d = fig["demo"]["median_s"]
        notes.append(
            f"annotator demo end to end (median, concurrency {args.demo_concurrency}): "
            f"before {d['before']:.1f} s, new {d['new']:.1f} s"
        )
    print_table(
        f"embedding {args.n} abstracts x {args.rounds} rounds",
        ["settings", "processes", "abstracts/s (median)", "vs old", "CPU s per abstract", "smallest cosine to old"],
        rows,
        notes,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=1))


if __name__ == "__main__":
    main()
