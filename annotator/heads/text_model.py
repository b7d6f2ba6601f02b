"""A text-feature model: TF-IDF of title and abstract, one linear map per target.

Costs nothing to run (no language model): the vocabulary and the inverse document
frequencies travel with the weights, and a text is turned into features exactly as at
fitting time (scikit-learn's counting with the same tokeniser and stop words, then
sublinear term frequency, idf and L2 norm, as ``TfidfVectorizer(sublinear_tf=True)``).

A paper the model was fitted on is never scored in-sample: ``held`` keeps each training
paper's out-of-fold prediction under the first 16 hex digits of its text hash, and
:meth:`TextModel.predict` returns it for such a text. The weights and idf are rounded to
``DIGITS`` significant digits so the file is small and the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from annotator.judge.embeddings import text_hash

DIGITS = 5  # significant digits of weights and idf
HELD_DIGITS = 4
KEY_CHARS = 16  # text-hash prefix that names a training paper


def round_sig(values: Sequence[float] | np.ndarray, digits: int = DIGITS) -> list[float]:
    return [float(f"{float(v):.{digits}g}") for v in values]


def key(text: str) -> str:
    return text_hash(text)[:KEY_CHARS]


@dataclass
class TextModel:
    """TF-IDF features and a linear map per target (targets in sorted order)."""

    vocabulary: list[str]  # column order
    idf: np.ndarray
    ngram_range: tuple[int, int]
    weights: dict[str, np.ndarray]
    intercepts: dict[str, float]
    alpha: float
    held: dict[str, list[float]] = field(default_factory=dict)  # text key -> out-of-fold per target
    _counter: CountVectorizer | None = field(default=None, repr=False, compare=False)

    @property
    def targets(self) -> list[str]:
        return sorted(self.weights)

    def counter(self) -> CountVectorizer:
        if self._counter is None:
            self._counter = make_counter(self.ngram_range, {t: i for i, t in enumerate(self.vocabulary)})
        return self._counter

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        return tfidf(self.counter().transform(list(texts)), self.idf)

    def predict(self, texts: Sequence[str], *, held_out: bool = True) -> np.ndarray:
        """(n, targets) predictions; with ``held_out`` a training paper gets its out-of-fold one."""
        x = self.features(texts)
        w = np.column_stack([self.weights[t] for t in self.targets])
        out = np.asarray(x @ w) + np.array([self.intercepts[t] for t in self.targets])
        if held_out and self.held:
            for i, text in enumerate(texts):
                got = self.held.get(key(text))
                if got is not None:
                    out[i] = got
        return out

    def in_training(self, text: str) -> bool:
        return key(text) in self.held

    def to_json(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "idf": round_sig(self.idf),
            "ngram_range": list(self.ngram_range),
            "alpha": self.alpha,
            "targets": {
                t: {"weights": round_sig(self.weights[t]), "intercept": round_sig([self.intercepts[t]])[0]}
                for t in self.targets
            },
            "held": {k: round_sig(v, HELD_DIGITS) for k, v in sorted(self.held.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TextModel:
        targets = data["targets"]
        lo, hi = data["ngram_range"]
        return cls(
            list(data["vocabulary"]),
            np.asarray(data["idf"], np.float64),
            (int(lo), int(hi)),
            {t: np.asarray(v["weights"], np.float64) for t, v in targets.items()},
            {t: float(v["intercept"]) for t, v in targets.items()},
            float(data["alpha"]),
            {k: list(v) for k, v in (data.get("held") or {}).items()},
        )


def make_counter(
    ngram_range: tuple[int, int],
    vocabulary: Mapping[str, int] | None = None,
    min_df: int = 1,
    max_features: int | None = None,
) -> CountVectorizer:
    """The tokeniser every text model uses: lower case, English stop words, word n-grams."""
    return CountVectorizer(
        ngram_range=ngram_range,
        stop_words="english",
        vocabulary=vocabulary,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float64,
    )


def tfidf(counts: sp.spmatrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf (1 + log count), times idf, rows scaled to unit length."""
    x = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    x.data = 1.0 + np.log(x.data)
    x = x @ sp.diags(np.asarray(idf, np.float64))
    return normalize(x, norm="l2", copy=False).tocsr()


def smooth_idf(counts: sp.spmatrix) -> np.ndarray:
    """scikit-learn's smoothed idf: ln((1 + n) / (1 + df)) + 1."""
    n = counts.shape[0]
    df = np.bincount(sp.csr_matrix(counts).indices, minlength=counts.shape[1])  # column indices
    return np.log((1.0 + n) / (1.0 + df)) + 1.0
