"""A fitted head as one JSON document: targets, split, provenance, and labelled neighbours.

The same document is stored in the ``fitted_heads`` table and shipped as package data
(``annotator/data/heads/``); :func:`head_hash` is the sha256 of its canonical text, so a
judgment that names the hash names the exact weights it came from.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .fit import Split, TargetFit
from .text_model import TextModel

FORMAT = 1
# what each target is called in words, for rationales and reports
TARGET_WORDS = {"ai": "mean rating", "novelty": "novelty"}
PRED_KEYS = {"ai": "ai_score", "novelty": "novelty"}


@dataclass
class Neighbours:
    """The labelled papers' unit vectors (float16) and what a reader needs to know of each."""

    vectors: np.ndarray
    papers: list[dict[str, Any]]  # id, title, venue, year, accepted, ai, novelty, text_hash

    @classmethod
    def build(cls, x: np.ndarray, papers: Sequence[Mapping[str, Any]]) -> Neighbours:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return cls((x / norms).astype(np.float16), [dict(p) for p in papers])

    def nearest(self, vector: np.ndarray, k: int = 3, exclude_hash: str | None = None) -> list[dict]:
        v = np.asarray(vector, np.float32)
        v = v / (np.linalg.norm(v) or 1.0)
        sims = self.vectors.astype(np.float32) @ v
        out = []
        for i in np.argsort(-sims, kind="stable"):
            paper = self.papers[int(i)]
            if exclude_hash is not None and paper.get("text_hash") == exclude_hash:
                continue  # a labelled paper is never its own neighbour
            out.append(dict(paper, similarity=float(sims[i])))
            if len(out) == k:
                break
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "shape": list(self.vectors.shape),
            "papers": self.papers,
            "vectors_f16_b64": base64.b64encode(self.vectors.astype("<f2").tobytes()).decode(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Neighbours:
        raw = np.frombuffer(base64.b64decode(data["vectors_f16_b64"]), "<f2")
        return cls(raw.reshape(data["shape"]), list(data["papers"]))


@dataclass
class Head:
    """Everything needed to score a paper and to say where the score came from."""

    kind: str  # "embedding" or "judgment"
    targets: dict[str, TargetFit]
    split: Split
    suites: list[str]
    labels: dict[str, dict[str, Any]]  # target -> {"scale": [lo, hi], "fields": {suite: field}}
    provenance: dict[str, Any]  # prompt, prompt_hash, model, data_hash, code_version, ...
    feature_names: list[str] = field(default_factory=list)  # judgment heads
    feature_means: list[float] = field(default_factory=list)  # imputation of missing features
    metrics: dict[str, Any] = field(default_factory=dict)  # out-of-fold and cross-suite figures
    neighbours: Neighbours | None = None
    suite_of: dict[str, str] = field(default_factory=dict)  # paper id -> suite
    # text features: kind "text" scores the text model's predictions alone; an embedding
    # head with one appends them to the vector (stacking). ``text_ref`` names a shipped text
    # head by hash instead of carrying it (see head_store.shipped_head).
    text: TextModel | None = None
    text_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.text is not None and self.text_ref is None:
            extra["text"] = self.text.to_json()
        if self.text_ref is not None:
            extra["text_ref"] = self.text_ref
        return extra | {
            "format": FORMAT,
            "kind": self.kind,
            "suites": self.suites,
            "labels": self.labels,
            "provenance": self.provenance,
            "feature_names": self.feature_names,
            "feature_means": self.feature_means,
            "metrics": self.metrics,
            "split": self.split.to_json(),
            "suite_of": dict(sorted(self.suite_of.items())),
            "targets": {k: t.to_json() for k, t in sorted(self.targets.items())},
            "neighbours": self.neighbours.to_json() if self.neighbours is not None else None,
        }

    def dumps(self) -> str:
        return dumps(self.to_json())

    @property
    def hash(self) -> str:
        return head_hash(self.dumps())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Head:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown head format {data.get('format')!r} (this version reads {FORMAT})")
        split = data["split"]
        return cls(
            kind=data["kind"],
            targets={k: TargetFit.from_json(k, t) for k, t in data["targets"].items()},
            split=Split(int(split["k"]), int(split["seed"]), dict(split["folds"])),
            suites=list(data["suites"]),
            labels=dict(data["labels"]),
            provenance=dict(data["provenance"]),
            feature_names=list(data.get("feature_names") or []),
            feature_means=list(data.get("feature_means") or []),
            metrics=dict(data.get("metrics") or {}),
            neighbours=Neighbours.from_json(data["neighbours"]) if data.get("neighbours") else None,
            suite_of=dict(data.get("suite_of") or {}),
            text=TextModel.from_json(data["text"]) if data.get("text") else None,
            text_ref=data.get("text_ref"),
        )

    @classmethod
    def loads(cls, text: str) -> Head:
        return cls.from_json(json.loads(text))

    # -- scoring --------------------------------------------------------------
    def inputs(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """The feature rows for ``texts`` (and their embeddings, for an embedding head)."""
        if self.text is None:
            if vectors is None:
                raise ValueError("this head scores embeddings: pass the vectors")
            return np.atleast_2d(np.asarray(vectors, np.float64))
        preds = self.text.predict(texts)
        if self.kind == "text":
            return preds
        if vectors is None:
            raise ValueError("this head scores embeddings and text: pass the vectors")
        return np.hstack([np.atleast_2d(np.asarray(vectors, np.float64)), preds])

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Label-scale predictions per target for the rows of ``x`` (features in head order)."""
        x = np.atleast_2d(np.asarray(x, np.float64))
        if self.feature_means:
            x = np.where(np.isfinite(x), x, np.asarray(self.feature_means))
        return {name: t.model.predict(x) for name, t in self.targets.items()}

    def scores(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """0-100 scores per target (percentile among the training papers)."""
        return {name: self.targets[name].score(pred) for name, pred in self.predict(x).items()}

    def held_out(self, paper_id: str, cross: bool = False) -> dict[str, float]:
        """For a paper the head was fitted on: its 0-100 score per target from the head
        fitted without it: out-of-fold, or with ``cross`` fitted without its whole suite."""
        out = {}
        for name, t in self.targets.items():
            table = t.cross if cross else t.oof
            if paper_id in table:
                out[name] = float(t.score(table[paper_id]))
        return out

    def trained_on(self, paper_id: str) -> bool:
        return paper_id in self.split.folds


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def head_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
