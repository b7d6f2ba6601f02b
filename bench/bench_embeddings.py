"""Embedding throughput of the embedded SmolLM2-135M server: the old settings against the new.

    python bench/bench_embeddings.py                      # 24 abstracts, 3 rounds, demo twice each
    python bench/bench_embeddings.py -n 48 --rounds 5 --json embeddings.json
    python bench/bench_embeddings.py --demo-runs 0        # embeddings only

"old" is one llama.cpp server process with one thread, 32 texts per request (the
settings before replicas); "new" is the default now: one single-thread process per usable
core (at most four; ``ANNOTATOR_LOCAL_REPLICAS``) with each call's batches spread over them.
Both run at once and embed the same N abstracts of
``evals/data/iclr2026_sample.jsonl`` (the ``embed@1`` text) in alternating rounds, so
a busy machine slows both alike; the table gives the median abstracts per second of
each, their ratio, the servers' CPU seconds per abstract (what two idle cores would
give is about cores / that figure), the load average during the run, and the smallest
cosine similarity of old and new vectors of the same text (the shipped head needs
them equal). Then ``annotator demo --json`` runs end to end, alternately with one
process and with two, in a fresh database each time.
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
from annotator.judge.embeddings import DEFAULT_BATCH, EmbeddingsClient
from annotator.judge.local_model import MODEL_NAME, REPLICAS_ENV, LocalModelServer
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
    setups = {"old": dict(replicas=1, batch=DEFAULT_BATCH), "new": dict(replicas=None, batch=DEFAULT_BATCH)}
    servers: dict[str, LocalModelServer] = {}
    try:
        for name, cfg in setups.items():
            servers[name] = LocalModelServer(embedding=True, replicas=cfg["replicas"]).start()
            servers[name].wait_for_replicas()
        rates: dict[str, list[float]] = {k: [] for k in setups}
        cpu: dict[str, list[float]] = {k: [] for k in setups}
        vectors: dict[str, np.ndarray] = {}
        loads = []
        for r in range(rounds):
            for name in list(setups) if r % 2 == 0 else list(setups)[::-1]:
                client = EmbeddingsClient(
                    MODEL_NAME, base_url=servers[name].base_url, batch_size=setups[name]["batch"]
                )  # no cache: every round embeds
                c0, t0 = cpu_seconds(servers[name]), time.monotonic()
                vectors[name] = client.embed(texts)
                seconds = time.monotonic() - t0
                cpu[name].append((cpu_seconds(servers[name]) - c0) / n)
                rates[name].append(n / seconds)
                loads.append(os.getloadavg()[0])
                client.close()
                print(f"  round {r + 1} {name}: {n / seconds:.3f} abstracts/s, load {loads[-1]:.1f}", flush=True)
        old, new = vectors["old"], vectors["new"]
        cos = (old * new).sum(1) / np.linalg.norm(old, axis=1) / np.linalg.norm(new, axis=1)
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
        "min_cosine": float(cos.min()),
    }


def demo_runs(runs: int, concurrency: int) -> dict:
    """Wall-clock seconds of ``annotator demo --json`` with one server process and with two."""
    times: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(runs):
        for name in ["old", "new"] if r % 2 == 0 else ["new", "old"]:
            env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
            env[REPLICAS_ENV] = "1" if name == "old" else "auto"
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
    print(f"embeddings: old vs new settings; {environment()}", flush=True)
    fig = {"environment": environment(), "embeddings": embed_rounds(args.n, args.rounds)}
    e = fig["embeddings"]
    rows = [
        (k, e["processes"][k], f"{e['median_per_s'][k]:.3f}", f"{e['cpu_s_per_abstract'][k]:.2f}")
        for k in ("old", "new")
    ]
    ratio = e["median_per_s"]["new"] / e["median_per_s"]["old"]
    e["ratio"] = ratio
    notes = [
        f"new/old: {ratio:.2f}x; load average {e['load_avg']['min']:.1f}-{e['load_avg']['max']:.1f} "
        f"on {os.cpu_count()} CPUs",
        f"smallest cosine old vs new: {e['min_cosine']:.6f}",
    ]
    if args.demo_runs:
        fig["demo"] = demo_runs(args.demo_runs, args.demo_concurrency)
        d = fig["demo"]["median_s"]
        notes.append(
            f"annotator demo end to end (median, concurrency {args.demo_concurrency}): "
            f"old {d['old']:.1f} s, new {d['new']:.1f} s"
        )
    print_table(
        f"embedding {args.n} abstracts x {args.rounds} rounds",
        ["settings", "processes", "abstracts/s (median)", "CPU s per abstract"],
        rows,
        notes,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=1))


if __name__ == "__main__":
    main()
