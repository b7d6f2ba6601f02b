"""Record the probe vector of the embedded SmolLM2 model beside the shipped vectors.

    python evals/shipped_probe.py            # writes annotator/data/heads/smollm2/probe.json

The embedding cache names a model by its vector of a fixed probe text
(``annotator.heads.vector_store``); the shipped vectors are used only for an endpoint
whose probe matches this one. The probe is asked of llama.cpp's server with 1 and 2
threads and with a batch of other texts beside it, and the script stops unless every
answer matches the first (so batching and thread counts do not change the model's
name). The server reads the weights ``ANNOTATOR_LOCAL_EMBEDDING_WEIGHTS`` names, as the
shipped vectors' were (``evals/embed_labelled.py``). Run it again whenever the shipped
vectors are made again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.heads.vector_store import PROBE_TEXT, SHIPPED_DIR, probe, same_model  # noqa: E402
from annotator.judge.embeddings import EmbeddingsClient  # noqa: E402
from annotator.judge.local_model import MODEL_NAME, LocalModelServer  # noqa: E402
from annotator.settings import current  # noqa: E402

OTHERS = ["A short text.", "Graph neural networks for protein structure.\n\nWe study folding."]


def main() -> None:
    vectors = []
    for threads in (1, 2):
        with LocalModelServer(threads=threads, embedding=True) as server:
            vectors.append(probe(MODEL_NAME, server.base_url, "local"))
            client = EmbeddingsClient(MODEL_NAME, base_url=server.base_url, api_key="local")
            try:
                vectors.append(client.embed([OTHERS[0], PROBE_TEXT, OTHERS[1]])[1])
            finally:
                client.close()
    first = vectors[0]
    cosines = [float(np.dot(first, v) / np.linalg.norm(first) / np.linalg.norm(v)) for v in vectors]
    print("cosine to the first probe:", ", ".join(f"{c:.9f}" for c in cosines))
    if not all(same_model(first, v) for v in vectors):
        raise SystemExit("the probe changed between runs: no fingerprint recorded")
    out = SHIPPED_DIR / "smollm2" / "probe.json"
    out.write_text(
        json.dumps(
            {
                "model": MODEL_NAME,
                "weights": current().local_embedding_weights,
                "text": PROBE_TEXT,
                "dim": int(first.shape[0]),
                "vector": [float(f"{v:.7g}") for v in first.tolist()],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {out.relative_to(ROOT)} ({first.shape[0]} values)")


if __name__ == "__main__":
    main()
