"""Anchor papers for ``pairwise``: K labelled papers spread over a suite's score range.

Anchors come from the suite's data file, outside the papers its default sample
evaluates. That alone does not keep them out of a report: a larger sample, or
another suite holding the same papers, would meet them again, judged against
themselves with their gold score pinned. So ``eval run`` removes them from the
papers it scores, whatever the sample size or suite (:func:`without_anchors`:
by id, and by the text of the abstract for a copy under another id), before it
draws its sample, and the report names them. The K anchors are one seeded draw
from each of K equal-count strata of the AI gold score, so they cover its range.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from annotator.errors import ConfigError
from annotator.evaluation.items import load_items, read_items
from annotator.evaluation.suite_types import EvalItem
from annotator.evaluation.suites import evaldata_dir, load_suite
from annotator.methods.interface import JudgingMethod
from annotator.prompts.files import AnchorSpec


@dataclass(frozen=True)
class Anchor:
    id: str
    title: str
    abstract: str
    gold_ai: float  # on the suite's AI scale
    gold_novelty: float  # on the novelty scale (the AI gold when the suite has none)


@dataclass(frozen=True)
class AnchorSet:
    suite: str
    anchors: list[Anchor]
    ai_scale: tuple[float, float]
    novelty_scale: tuple[float, float]


def suite_path(name: str) -> Path:
    """``iclr2022`` -> the bundled ``evals/iclr2022.toml``; a path to a TOML file as it is."""
    if name.endswith(".toml"):
        return Path(name)
    return evaldata_dir().parent / f"{name}.toml"


def load_anchors(spec: AnchorSpec) -> AnchorSet:
    path = suite_path(spec.suite)
    if not path.is_file():
        raise ConfigError(f"anchors: no suite file {path} for suite '{spec.suite}'")
    suite = load_suite(path)
    evaluated = {item.id for item in load_items(suite, sample=True)}
    pool = [
        i
        for i in read_items(suite)
        if i.id not in evaluated and i.gold_ai is not None and (suite.novelty is None or i.gold_novelty is not None)
    ]
    if len(pool) < spec.k:
        raise ConfigError(
            f"anchors: suite '{spec.suite}' has {len(pool)} labelled papers outside "
            f"its evaluation sample; {spec.k} anchors asked for"
        )
    pool.sort(key=lambda i: (i.gold_ai, i.id))
    rng = random.Random(spec.seed)
    picked = []
    for s in range(spec.k):
        stratum = pool[s * len(pool) // spec.k : (s + 1) * len(pool) // spec.k]
        picked.append(rng.choice(stratum))
    anchors = [
        Anchor(
            i.id,
            i.title,
            i.abstract,
            float(i.gold_ai or 0.0),
            float(i.gold_novelty if i.gold_novelty is not None else i.gold_ai or 0.0),
        )
        for i in picked
    ]
    ai_scale = tuple(suite.ai.scale)
    nov_scale = tuple(suite.novelty.scale) if suite.novelty is not None else ai_scale
    return AnchorSet(spec.suite, anchors, (ai_scale[0], ai_scale[1]), (nov_scale[0], nov_scale[1]))


def text_key(abstract: str) -> str:
    """An abstract compared as text: case and runs of whitespace do not count."""
    return " ".join(abstract.split()).casefold()


def without_anchors(items: Sequence[EvalItem], anchors: AnchorSet) -> list[EvalItem]:
    """``items`` less every anchor: the same id, or the same abstract under another id."""
    ids = {a.id for a in anchors.anchors}
    texts = {text_key(a.abstract) for a in anchors.anchors}
    return [it for it in items if it.id not in ids and text_key(it.abstract) not in texts]


class AnchoredMethod(JudgingMethod):
    """A method that places papers against the labelled anchors its front matter names
    (``pairwise``, ``tournament``): the anchors are read once, before the first paper."""

    @cached_property
    def anchor_set(self) -> AnchorSet:
        spec = self.ctx.prompt.meta.anchors
        assert spec is not None  # the front matter check requires it
        return load_anchors(spec)

    async def prepare(self) -> None:
        await super().prepare()
        await asyncio.to_thread(lambda: self.anchor_set)
