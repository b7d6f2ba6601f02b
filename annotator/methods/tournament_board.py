"""The tournament's board: every comparison made so far, the fits, and who meets whom next.

Items are papers (``p:<paper id>``) and anchor papers (``a:<suite id>``); anchors are
never papers of the database and are never scored. A comparison (``Bout``) is one
stored call: the request carries the pair as ``_pair`` (a key of ours, part of the
cache identity and of the stored request, never sent), so the board is rebuilt from
``llm_calls`` alone (``load_board``): the calls of one prompt version and model, the
last valid answer per ordered pair. Nothing else has to be stored for a later run, a
feed increment or a re-fit to see every comparison made before.

Two fits, both Bradley-Terry with an order effect (``bradley_terry``):

- the global fit (``Board.fit``): every item at once, the anchors pinned to their
  standardised gold scores with one fitted unit (``scaled=True``), standard errors
  from the curvature. It runs now and then during a run, and at its end (a re-fit);
- the placement of one paper (``Board.place``): its own comparisons against the
  other items held where the last global fit (or their own placement) put them;
  cheap, so a new paper is placed after each of its comparisons.

Opponents (``Board.choose``) are the items whose current strength is closest to the
paper's current estimate, penalised by how unsure that strength is, never met before
(in either order) and never an anchor with the paper's own text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.engine import Engine

from annotator.db.queries import judgments, papers
from annotator.methods.anchors import AnchorSet, text_key
from annotator.methods.bradley_terry import Comparison, fit_bradley_terry, place_item
from annotator.prompts.registry import version_id

TARGETS = {"ai_score": "better", "novelty": "more_novel"}  # stored field -> reply field
PAIR_KEY = "_pair"  # the request body's key naming the two items, first shown first
UNSURE_WEIGHT = 0.5  # how much an opponent's standard error counts against it
Z95 = 1.959964


def paper_item(paper_id: int) -> str:
    return f"p:{paper_id}"


def paper_id_of(item: str) -> int | None:
    return int(item[2:]) if item.startswith("p:") else None


@dataclass(frozen=True)
class Bout:
    """One comparison: ``first`` was shown as A; whether A was preferred, per target."""

    first: str
    second: str
    first_better: bool
    first_more_novel: bool
    owner: int | None  # the paper whose judgment paid for the call

    def first_won(self, target: str) -> bool:
        return self.first_better if target == "ai_score" else self.first_more_novel

    def as_json(self) -> dict:
        return {
            "first": self.first,
            "second": self.second,
            "better": "A" if self.first_better else "B",
            "more_novel": "A" if self.first_more_novel else "B",
        }


@dataclass
class BoardFit:
    """One global fit of one target: strengths and errors per item, order effect, unit."""

    strength: dict[str, float]
    se: dict[str, float]
    gamma: float
    scale: float
    comparisons: int


@dataclass
class Board:
    anchors: AnchorSet
    matches: dict[tuple[str, str], Bout] = field(default_factory=dict)
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)
    fits: dict[str, BoardFit] = field(default_factory=dict)
    provisional: dict[str, dict[str, float]] = field(default_factory=dict)  # target -> item -> s

    def __post_init__(self) -> None:
        self.anchor_items = [f"a:{a.id}" for a in self.anchors.anchors]
        for item, a in zip(self.anchor_items, self.anchors.anchors, strict=True):
            self.texts[item] = (a.title, a.abstract)
        self.gold: dict[str, np.ndarray] = {
            "ai_score": np.array([a.gold_ai for a in self.anchors.anchors]),
            "novelty": np.array([a.gold_novelty for a in self.anchors.anchors]),
        }
        self.scales = {"ai_score": self.anchors.ai_scale, "novelty": self.anchors.novelty_scale}
        self._by_item: dict[str, list[tuple[str, str]]] = {}
        self._anchor_texts = {
            text_key(a.abstract): item for item, a in zip(self.anchor_items, self.anchors.anchors, strict=True)
        }

    # -- comparisons ----------------------------------------------------------
    def add(self, match: Bout) -> None:
        key = (match.first, match.second)
        if key not in self.matches:
            for item in key:
                self._by_item.setdefault(item, []).append(key)
        self.matches[key] = match

    def of(self, item: str) -> list[Bout]:
        return [self.matches[k] for k in self._by_item.get(item, ())]

    def owned(self, paper_id: int) -> list[Bout]:
        """The comparisons ``paper_id`` paid for, in the order they were stored."""
        return [m for m in self.matches.values() if m.owner == paper_id]

    def anchor_copies(self, abstract: str) -> set[str]:
        """Anchors with this abstract's text: never compared with it."""
        hit = self._anchor_texts.get(text_key(abstract))
        return {hit} if hit else set()

    def fit_id(self) -> str:
        """A short name for the comparisons a fit is made of (same comparisons, same id)."""
        keys = sorted(
            f"{m.first}|{m.second}|{int(m.first_better)}{int(m.first_more_novel)}" for m in self.matches.values()
        )
        return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]

    # -- strengths ------------------------------------------------------------
    def pins(self, target: str) -> dict[str, float]:
        gold = self.gold[target]
        sd = float(gold.std()) or 1.0
        return {item: float((g - gold.mean()) / sd) for item, g in zip(self.anchor_items, gold, strict=True)}

    def strength(self, item: str, target: str) -> tuple[float, float] | None:
        """(strength, standard error) as last known: the global fit, else a placement."""
        fit = self.fits.get(target)
        if fit is not None and item in fit.strength:
            return fit.strength[item], fit.se[item]
        if item in self.anchor_items:
            scale = fit.scale if fit is not None else 1.0
            return scale * self.pins(target)[item], 0.0
        s = self.provisional.get(target, {}).get(item)
        return None if s is None else (s, 1.0)

    def fit(self, errors: bool = True, matches: list[Bout] | None = None) -> dict[str, BoardFit]:
        """Fit every target on every comparison (or on ``matches``, a snapshot taken by
        the caller when this runs in a thread); the result becomes the board's last fit."""
        matches = list(self.matches.values()) if matches is None else matches
        items = self.anchor_items + sorted({i for m in matches for i in (m.first, m.second)} - set(self.anchor_items))
        index = {item: k for k, item in enumerate(items)}
        out: dict[str, BoardFit] = {}
        for target in TARGETS:
            comps = [Comparison(index[m.first], index[m.second], m.first_won(target)) for m in matches]
            pins = self.pins(target)
            start = np.zeros(len(items))
            last = self.fits.get(target)
            if last is not None:
                for item, k in index.items():
                    start[k] = last.strength.get(item, 0.0)
            bt = fit_bradley_terry(
                len(items), comps, fixed={index[i]: v for i, v in pins.items()}, scaled=True, start=start, errors=errors
            )
            se = bt.se if bt.se is not None else np.zeros(len(items))
            out[target] = BoardFit(
                {i: float(bt.strengths[k]) for i, k in index.items()},
                {i: float(se[k]) for i, k in index.items()},
                bt.position_bias,
                bt.scale,
                len(matches),
            )
        self.fits = out
        return out

    def place(self, item: str, target: str) -> tuple[float, float]:
        """(strength, error) of ``item`` from its own comparisons, the others held fixed."""
        opp, me_first, me_won = [], [], []
        for m in self.of(item):
            other = m.second if m.first == item else m.first
            known = self.strength(other, target)
            if known is None:
                continue
            opp.append(known[0])
            me_first.append(m.first == item)
            me_won.append(m.first_won(target) == (m.first == item))
        fit = self.fits.get(target)
        s, se = place_item(
            np.array(opp),
            np.array(me_first, dtype=bool),
            np.array(me_won, dtype=float),
            fit.gamma if fit is not None else 0.0,
        )
        self.provisional.setdefault(target, {})[item] = s
        return s, se

    def choose(self, item: str, estimate: float, avoid: Iterable[str]) -> str | None:
        """The opponent for ``item`` next: the closest known strength, least unsure, not met."""
        skip = set(avoid) | {item}
        skip |= {m.second if m.first == item else m.first for m in self.of(item)}
        candidates = set(self.anchor_items) | {i for m in self.matches.values() for i in (m.first, m.second)}
        best: tuple[float, str] | None = None
        for other in sorted(candidates - skip):
            known = self.strength(other, "ai_score")
            if known is None or other not in self.texts:
                continue
            cost = abs(known[0] - estimate) + UNSURE_WEIGHT * known[1]
            if best is None or cost < best[0]:
                best = (cost, other)
        return best[1] if best else None

    # -- the human scale ------------------------------------------------------
    def on_scale(self, strength: float, target: str) -> float:
        """A strength on the suite's scale: the anchors' line (pinned value times the unit)."""
        gold = self.gold[target]
        fit = self.fits.get(target)
        scale = fit.scale if fit is not None else 1.0
        return float(gold.mean() + (float(gold.std()) or 1.0) * strength / scale)

    def percent(self, strength: float, target: str) -> float:
        lo, hi = self.scales[target]
        value = min(max(self.on_scale(strength, target), lo), hi)
        return (value - lo) / (hi - lo) * 100.0

    def summary(self, item: str, strengths: dict[str, tuple[float, float]]) -> dict:
        """What a stored judgment says about ``item``: strengths, intervals, wins, order effect."""
        mine = self.of(item)
        out: dict = {
            "suite": self.anchors.suite,
            "comparisons": len(mine),
            "strength": {},
            "se": {},
            "placed": {},
            "interval": {},
            "wins": {},
            "wins_by_order": {},
            "position_bias": {},
        }
        for target, (s, se) in strengths.items():
            out["strength"][target], out["se"][target] = s, se
            out["placed"][target] = self.on_scale(s, target)
            out["interval"][target] = [self.percent(s - Z95 * se, target), self.percent(s + Z95 * se, target)]
            won = [m.first_won(target) == (m.first == item) for m in mine]
            out["wins"][target] = int(sum(won))
            out["wins_by_order"][target] = {
                "paper_first": int(sum(w for w, m in zip(won, mine, strict=True) if m.first == item)),
                "paper_second": int(sum(w for w, m in zip(won, mine, strict=True) if m.second == item)),
            }
            fit = self.fits.get(target)
            out["position_bias"][target] = fit.gamma if fit is not None else None
        answers = [m.first_better for m in self.matches.values()] + [m.first_more_novel for m in self.matches.values()]
        out["position_bias"]["first_chosen_rate"] = (sum(answers) / len(answers)) if answers else None
        return out


def prompt_version_id(engine: Engine, name: str, version: int) -> int | None:
    with engine.connect() as conn:
        return version_id(conn, name, version)


def parse_match(request_json: str, response_text: str | None, owner: int | None) -> Bout | None:
    """The comparison a stored call made, or None (not a tournament call, or no valid reply)."""
    try:
        pair = json.loads(request_json).get(PAIR_KEY)
        reply = json.loads(response_text or "")
        first, second = pair
        better, novel = reply["better"], reply["more_novel"]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if better not in ("A", "B") or novel not in ("A", "B"):
        return None
    return Bout(str(first), str(second), better == "A", novel == "A", owner)


def load_board(engine: Engine, anchors: AnchorSet, pv_id: int | None, model: str) -> Board:
    """The board of one prompt version and model from its stored calls (and papers' texts)."""
    board = Board(anchors)
    if pv_id is None:
        return board
    with engine.connect() as conn:
        for owner, request_json, response_text in judgments.answered_calls(conn, pv_id, model):
            match = parse_match(request_json, response_text, owner)
            if match is not None:
                board.add(match)  # a later copy of the same pair (a cache hit) is the same answer
        ids = sorted(
            {pid for m in board.matches.values() for i in (m.first, m.second) if (pid := paper_id_of(i)) is not None}
        )
        for pid, title, abstract in papers.paper_texts(conn, ids):
            board.texts[paper_item(pid)] = (title, abstract)
    return board
