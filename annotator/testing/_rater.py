"""A fake model with known signal: a noisy rater that knows each paper's gold label.

Configured through the fake server's config key ``rater`` (``/_fake/config``)::

    {"labels_path": "labels.jsonl", "label_field": "label", "label_scale": [1, 10],
     "noise": 0.15, "paper_noise": 0.05, "position_bias": 0.0, "pair_temperature": 0.1,
     "logprobs": true, "split_numbers": false, "seed": 0}

``labels_path`` is a JSON object (title -> label) or JSON lines with ``title`` and
``label_field`` (and ``novelty_field``, else novelty follows the label); ``labels``
gives the mapping inline. A paper's latent quality ``z`` is its label mapped to
0..1 plus a persistent error (``paper_noise``, fixed per title and field). Each
score field of the requested schema (its ``minimum``/``maximum``) gets a
distribution over its integers: a normal around ``z`` on that scale with SD
``noise`` times the scale's width; the reply samples from it and, when asked,
``top_logprobs`` carry it (one token per number; ``split_numbers`` writes one
token per digit, like tokenizers that split numbers). Rubric sub-scores are known
functions of the label: significance = z, originality = novelty z, soundness =
0.5 + 0.5 z, clarity = 0.5 (no signal). Pairwise replies (fields with enum A/B)
prefer A with probability sigmoid((zA - zB) / pair_temperature + position_bias).
Draws are seeded by the request text and how often it was seen, so a run is
reproducible whatever the order of concurrent requests.

Coarse mode (``"coarse": [0.6, 0.7, 0.8]``): written scores fall on those few
points of each field's scale (fractions of it, so 60, 70 and 80 on 0-100), as real
models' direct answers do. The sampled belief picks the point: below the first of
``coarse_cuts`` (K - 1 fractions; default evenly spaced between 0.35 and 0.65) the
first point, and so on. The log-probabilities of a score token still carry the
rater's full belief, and A/B comparisons its latent qualities, so methods that read
those keep the information a written score loses.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

RATER_DEFAULTS: dict[str, Any] = {
    "labels": None,
    "labels_path": None,
    "label_field": "label",
    "novelty_field": None,
    "label_scale": [1, 10],
    "novelty_scale": None,
    "noise": 0.15,
    "paper_noise": 0.05,
    "position_bias": 0.0,
    "pair_temperature": 0.1,
    "logprobs": True,
    "split_numbers": False,
    "seed": 0,
    "coarse": None,
    "coarse_cuts": None,
}
_TITLE = re.compile(r"Title:\s*(.+)")
_lock = threading.Lock()
_seen: Counter[str] = Counter()
_loaded: dict[tuple[str, str, str | None], dict[str, tuple[float, float | None]]] = {}


def norm_title(title: str) -> str:
    return " ".join(title.lower().split())


def check_rater(cfg: Any) -> dict:
    if not isinstance(cfg, dict):
        raise ValueError("rater must be a JSON object")
    unknown = set(cfg) - set(RATER_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown rater keys {sorted(unknown)}; known: {sorted(RATER_DEFAULTS)}")
    out = {**RATER_DEFAULTS, **cfg}
    coarse = out["coarse"]
    if coarse is not None:
        if (
            not isinstance(coarse, list)
            or len(coarse) < 2
            or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in coarse)
        ):
            raise ValueError("rater.coarse must be a list of two or more fractions of the scale (0..1)")
        cuts = out["coarse_cuts"]
        if cuts is None:
            k = len(coarse)
            cuts = [0.35 + 0.3 * (i + 1) / k for i in range(k - 1)] if k > 2 else [0.5]
        if len(cuts) != len(coarse) - 1 or list(cuts) != sorted(cuts):
            raise ValueError("rater.coarse_cuts must be len(coarse) - 1 increasing fractions")
        out["coarse_cuts"] = list(cuts)
    return out


def coarse_answer(value: int, lo: int, hi: int, cfg: dict) -> int:
    """A sampled score put on the coarse points (the value itself when coarse mode is off)."""
    if cfg["coarse"] is None or hi <= lo:
        return value
    frac = (value - lo) / (hi - lo)
    point = cfg["coarse"][sum(frac >= c for c in cfg["coarse_cuts"])]
    return int(round(lo + point * (hi - lo)))


def _labels(cfg: dict) -> dict[str, tuple[float, float | None]]:
    if cfg["labels"] is not None:
        return {norm_title(t): (float(v), None) for t, v in cfg["labels"].items()}
    path = cfg["labels_path"]
    if path is None:
        raise ValueError("rater needs 'labels' or 'labels_path'")
    key = (str(path), cfg["label_field"], cfg["novelty_field"])
    with _lock:
        if key not in _loaded:
            text = Path(path).read_text(encoding="utf-8")
            out: dict[str, tuple[float, float | None]] = {}
            if text.lstrip().startswith("{") and "\n{" not in text.strip():
                out = {norm_title(t): (float(v), None) for t, v in json.loads(text).items()}
            else:
                for line in text.splitlines():
                    if not line.strip():
                        continue
                    row = json.loads(line)
                    label = row.get(cfg["label_field"])
                    if label is None:
                        continue
                    nov = row.get(cfg["novelty_field"]) if cfg["novelty_field"] else None
                    out[norm_title(row["title"])] = (float(label), None if nov is None else float(nov))
            _loaded[key] = out
        return _loaded[key]


def _rng(cfg: dict, *parts: str) -> random.Random:
    digest = hashlib.sha256("\x1f".join([str(cfg["seed"]), *parts]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class _Paper:
    def __init__(self, title: str, cfg: dict, labels: dict[str, tuple[float, float | None]]):
        self.title = title
        lo, hi = cfg["label_scale"]
        nlo, nhi = cfg["novelty_scale"] or cfg["label_scale"]
        label, nov = labels.get(norm_title(title), (None, None))
        if label is None:  # unknown paper: a latent from its title
            base = _rng(cfg, "unknown", title).random()
            self.z, self.zn = base, base
        else:
            self.z = (label - lo) / (hi - lo)
            self.zn = self.z if nov is None else (nov - nlo) / (nhi - nlo)
        self.cfg = cfg

    def latent(self, field: str) -> float:
        z = {
            "ai_score": self.z,
            "novelty": self.zn,
            "significance": self.z,
            "originality": self.zn,
            "soundness": 0.5 + 0.5 * self.z,
            "clarity": 0.5,
        }.get(field, self.z)
        return z + self.cfg["paper_noise"] * _rng(self.cfg, "paper", self.title, field).gauss(0, 1)


def _distribution(mu01: float, lo: int, hi: int, noise: float) -> dict[int, float]:
    mu = lo + mu01 * (hi - lo)
    sd = max(noise * (hi - lo), 0.25)
    weights = {v: math.exp(-0.5 * ((v - mu) / sd) ** 2) for v in range(lo, hi + 1)}
    total = sum(weights.values()) or 1.0
    return {v: max(w / total, 1e-12) for v, w in weights.items()}


def _draw(dist: dict[int, float], rng: random.Random) -> int:
    return rng.choices(list(dist), weights=list(dist.values()))[0]


def _schema(body: dict) -> dict:
    fmt = body.get("response_format") or {}
    schema = fmt.get("json_schema", {}).get("schema") if fmt.get("type") == "json_schema" else fmt.get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        return schema["properties"]
    return {
        "ai_score": {"type": "integer", "minimum": 0, "maximum": 100},
        "novelty": {"type": "integer", "minimum": 0, "maximum": 100},
        "rationale": {"type": "string"},
    }


def reply(body: dict, user_text: str, raw_cfg: dict) -> tuple[str, list[dict] | None]:
    """(reply content, logprobs content or None) for a chat request."""
    cfg = check_rater(raw_cfg)
    labels = _labels(cfg)
    titles = [t.strip() for t in _TITLE.findall(user_text)]
    request_key = hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest()
    with _lock:
        _seen[request_key] += 1
        nth = _seen[request_key]
    rng = _rng(cfg, "call", request_key, str(nth))
    papers = [_Paper(t, cfg, labels) for t in titles] or [_Paper(user_text[:200], cfg, labels)]
    answer: dict[str, Any] = {}
    dists: dict[str, dict[int, float]] = {}
    for name, prop in _schema(body).items():
        if prop.get("enum") == ["A", "B"] or set(prop.get("enum") or ()) == {"A", "B"}:
            a, b = papers[0], papers[1] if len(papers) > 1 else papers[0]
            field = "novelty" if "novel" in name else "ai_score"
            logit = (a.latent(field) - b.latent(field)) / cfg["pair_temperature"] + cfg["position_bias"]
            answer[name] = "A" if rng.random() < 1 / (1 + math.exp(-logit)) else "B"
        elif prop.get("type") == "integer":
            lo, hi = int(prop.get("minimum", 0)), int(prop.get("maximum", 100))
            dists[name] = _distribution(papers[0].latent(name), lo, hi, cfg["noise"])
            answer[name] = coarse_answer(_draw(dists[name], rng), lo, hi, cfg)
        elif prop.get("type") == "string":
            answer[name] = "Judged by the fake rater from the paper's known label."
    content = json.dumps(answer)
    want = body.get("logprobs") and cfg["logprobs"]
    return content, (
        _logprobs(content, answer, dists, int(body.get("top_logprobs") or 0), cfg["split_numbers"]) if want else None
    )


def _token(text: str, logprob: float, top: list[dict] | None = None) -> dict:
    entry: dict[str, Any] = {"token": text, "logprob": logprob, "bytes": list(text.encode())}
    entry["top_logprobs"] = (
        top if top is not None else [{"token": text, "logprob": logprob, "bytes": list(text.encode())}]
    )
    return entry


def _logprobs(
    content: str, answer: dict, dists: dict[str, dict[int, float]], top_n: int, split_numbers: bool
) -> list[dict]:
    """OpenAI-style ``logprobs.content``: the reply cut into tokens, score tokens with their
    distribution as ``top_logprobs``."""
    tokens: list[dict] = []
    pattern = re.compile(r'"(\w+)": (\d+)')
    pos = 0
    for m in pattern.finditer(content):
        tokens.extend(_token(piece, 0.0) for piece in re.findall(r"\w+|\s+|.", content[pos : m.start(2)]))
        name, digits = m.group(1), m.group(2)
        dist = dists.get(name)
        if dist is None or split_numbers:
            tokens.extend(_token(d, 0.0) for d in digits)
        else:
            ranked = sorted(dist.items(), key=lambda kv: -kv[1])[: max(top_n, 1)]
            top = [{"token": str(v), "logprob": math.log(p), "bytes": list(str(v).encode())} for v, p in ranked]
            tokens.append(_token(digits, math.log(dist[int(digits)]), top))
        pos = m.end(2)
    tokens.extend(_token(piece, 0.0) for piece in re.findall(r"\w+|\s+|.", content[pos:], re.S))
    return tokens
