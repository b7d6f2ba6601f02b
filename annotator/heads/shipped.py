"""The head shipped for the embedded model: SmolLM2-135M embeddings of title and abstract
(prompt ``embed@1``), fitted on the labelled papers of the three suites in ``evals/``.

``build_shipped`` rebuilds it from the shipped vectors (``evals/fit_head.py``, ``make
head``). Its provenance names the package version and the sha256 of the fitting code and
of the vectors rather than a git commit, so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from annotator.evaluation.items import load_items
from annotator.evaluation.suites import evaldata_dir, load_suite
from annotator.judge.local_model import MODEL_NAME
from annotator.prompts.files import load_prompt
from annotator.version import __version__

from .build import build_head
from .model import Head
from .train import suites_hash
from .vector_store import SHIPPED_DIR

SHIPPED = SHIPPED_DIR / "smollm2"
SUITE_NAMES = ("iclr2022", "iclr2017_2018", "neurips2023")
PROMPT = "embed@1"
_FIT_CODE = ("fit.py", "build.py", "model.py", "shipped.py")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fit_code_hash() -> str:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _FIT_CODE:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest.hexdigest()


def build_shipped(folder: Path = SHIPPED, n_boot: int = 1000) -> Head:
    meta = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
    vectors = np.load(folder / "embeddings.npy", allow_pickle=False).astype(np.float64)
    suites = [load_suite(evaldata_dir().parent / f"{name}.toml") for name in SUITE_NAMES]
    by_id, suite_of = {}, {}
    for s in suites:
        for it in load_items(s, sample=False):
            by_id[it.id], suite_of[it.id] = it, s.name
    papers = meta["papers"]
    items = [by_id[i] for i, _ in papers]
    prompt = load_prompt(meta["prompt"])
    provenance = {
        "prompt": prompt.ref, "prompt_hash": prompt.content_hash, "method": prompt.meta.method,
        "model": meta["model"], "embeddings_model": meta["model"], "dim": int(vectors.shape[1]),
        "data_hash": suites_hash(suites), "data": {s.name: s.data for s in suites},
        "code_version": __version__, "fit_code_sha256": fit_code_hash(),
        "vectors_sha256": _sha256(folder / "embeddings.npy"),
        "papers_embedded": {name: sum(suite_of[i] == name for i, _ in papers) for name in SUITE_NAMES},
    }
    return build_head("embedding", items, {i: suite_of[i] for i, _ in papers}, vectors, suites,
                      provenance, k=5, seed=0, text_hashes=[h for _, h in papers], n_boot=n_boot)


def shipped_path() -> Path:
    return SHIPPED / "head.json"


def is_embedded_default(model: str) -> bool:
    return model == MODEL_NAME


def _figure(metrics: dict, suite: str, target: str, how: str, kind: str) -> str | None:
    m = metrics.get(suite, {}).get(target, {}).get(how, {}).get(kind) or {}
    if m.get("value") is None:
        return None
    return f"{m['value']:.2f} [{m['ci_low']:.2f}, {m['ci_high']:.2f}]"


def about_lines(head: Head) -> list[str]:
    """What the embedded default judge's scores are, and how good, in plain words."""
    n = len(head.split.folds)
    lines = [
        "What these scores are: SmolLM2-135M embeddings of title and abstract, scored by a ridge "
        f"head fitted on the public reviews of {n} ICLR and NeurIPS papers. The AI score is the "
        "predicted mean reviewer rating and the novelty the predicted novelty/contribution "
        "label, each as a percentile of those papers. It is a predictor of review scores "
        "from public reviews, not a reviewer: the closest labelled papers in the rationale "
        "show what it is comparing with.",
    ]
    m = head.metrics
    held = []
    for suite, how, words in (("iclr2022", "out_of_fold", "ICLR 2022 out-of-fold"),
                              ("iclr2017_2018", "other_suites", "ICLR 2017/18 fit on the other suites")):
        rho = _figure(m, suite, "ai", how, "spearman")
        auc = _figure(m, suite, "ai", how, "auroc")
        if rho:
            held.append(f"{words}: Spearman with the mean rating {rho}"
                        + (f", accept AUROC {auc}" if auc else ""))
    nov = _figure(m, "iclr2022", "novelty", "out_of_fold", "spearman")
    if nov:
        held.append(f"ICLR 2022 novelty out-of-fold: Spearman {nov}")
    if held:
        lines.append("How good, on papers it was not fitted on (95 % intervals): " + "; ".join(held)
                     + ". One human reviewer against the others reaches about 0.49 on ICLR 2022.")
    lines.append("For real judgments set OPENAI_BASE_URL (see the README); the chat path on the "
                 "embedded model stays available with --prompt score@1.")
    return lines


def load_shipped() -> Head | None:
    path = shipped_path()
    return Head.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
