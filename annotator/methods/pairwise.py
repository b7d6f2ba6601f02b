"""``pairwise``: the paper against K anchor papers of known human score, both orders.

Each comparison asks which of two papers (A shown first, B second) is better
and which is more novel. Every anchor is compared in both orders (times
``samples``), so an order preference cancels and can be measured. A
Bradley-Terry model with the anchors' strengths pinned to their standardised
gold scores places the paper (its strength and the order effect are fitted),
and the line from anchor strengths to anchor gold scores maps it onto the
suite's scale, then to 0-100.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from annotator.injection.detect import fence
from annotator.judge.client import JudgeResult
from annotator.judge.messages import prepare_abstract
from annotator.judge.prices import estimate_messages_tokens
from annotator.methods.anchors import Anchor, AnchoredMethod
from annotator.methods.bradley_terry import Comparison, fit_bradley_terry, place_on_scale
from annotator.methods.interface import CallEstimate, PaperInput, Verdict
from annotator.methods.sampling import round_half_up

PARALLEL_CALLS = 4  # comparisons of one paper in flight at once
_REPLY_TOKENS = 60  # "A"/"B" twice and a short rationale


class PairwiseMethod(AnchoredMethod):
    name = "pairwise"

    def calls_per_paper(self) -> int:
        return 2 * len(self.anchor_set.anchors) * self.ctx.samples

    def pair_messages(self, first: tuple[str, str], second: tuple[str, str]) -> list[dict]:
        limit = self.ctx.max_abstract_chars // 2
        return self.ctx.prompt.render(
            title_a=fence(first[0]),
            abstract_a=prepare_abstract(first[1], limit)[0],
            title_b=fence(second[0]),
            abstract_b=prepare_abstract(second[1], limit)[0],
        )

    def estimate(self, paper: PaperInput) -> CallEstimate:
        me = (paper.title, paper.abstract)
        tokens = (
            sum(
                estimate_messages_tokens(self.pair_messages(me, (a.title, a.abstract))) for a in self.anchor_set.anchors
            )
            * 2
            * self.ctx.samples
        )
        calls = self.calls_per_paper()
        return CallEstimate(calls, tokens, calls * _REPLY_TOKENS)

    async def judge(self, paper: PaperInput) -> Verdict:
        me = (paper.title, paper.abstract)
        cut = len(paper.abstract) > self.ctx.max_abstract_chars // 2
        anchors = self.anchor_set.anchors
        jobs: list[tuple[int, bool, list[dict], int]] = []  # anchor, paper first?, messages, sample
        for i, a in enumerate(anchors):
            other = (a.title, a.abstract)
            for paper_first in (True, False):
                messages = self.pair_messages(me, other) if paper_first else self.pair_messages(other, me)
                for s in range(self.ctx.samples):
                    jobs.append((i, paper_first, messages, s))
        gate = asyncio.Semaphore(PARALLEL_CALLS)
        k = self.ctx.samples

        async def ask(messages: list[dict], s: int) -> JudgeResult:
            async with gate:
                return await self.client.judge(
                    messages, self.ctx.prompt.output_model, self.ctx.params, sample=s if k > 1 else 0
                )

        results = await asyncio.gather(*(ask(m, s) for _, _, m, s in jobs))
        attempts = [a for r in results for a in r.attempts]
        failed = [r for r in results if r.judgment is None]
        if failed:
            return Verdict(
                attempts, None, f"{len(failed)} of {len(results)} comparisons failed: {failed[0].error}", cut
            )
        fields, details = self._place(anchors, jobs, results)
        return Verdict(attempts, fields, None, cut, details)

    def _place(self, anchors: list[Anchor], jobs, results: list[JudgeResult]) -> tuple[dict, dict]:
        aset = self.anchor_set
        fields: dict = {}
        summary: dict = {
            "suite": aset.suite,
            "anchors": [],
            "wins": {},
            "position_bias": {},
            "strength": {},
            "comparisons": len(jobs),
        }
        per_anchor: list[dict[str, Any]] = [
            {
                "id": a.id,
                "gold_ai": a.gold_ai,
                "gold_novelty": a.gold_novelty,
                "wins_ai_score": 0,
                "wins_novelty": 0,
                "n": 0,
            }
            for a in anchors
        ]
        first_chosen = 0
        for target, key, scale in (
            ("ai_score", "better", aset.ai_scale),
            ("novelty", "more_novel", aset.novelty_scale),
        ):
            gold = np.array([a.gold_ai if target == "ai_score" else a.gold_novelty for a in anchors])
            sd = float(gold.std()) or 1.0
            pinned = (gold - gold.mean()) / sd
            comparisons = []
            by_order = {"paper_first": 0, "paper_second": 0}
            for (i, paper_first, _, _), r in zip(jobs, results, strict=True):
                first_won = getattr(r.judgment, key) == "A"
                first_chosen += first_won
                paper_won = first_won == paper_first
                per_anchor[i][f"wins_{target}"] += paper_won
                by_order["paper_first" if paper_first else "paper_second"] += paper_won
                # item 0 is the paper, anchor i is item i + 1
                pair = (0, i + 1) if paper_first else (i + 1, 0)
                comparisons.append(Comparison(pair[0], pair[1], first_won))
            fit = fit_bradley_terry(
                len(anchors) + 1, comparisons, fixed={i + 1: float(v) for i, v in enumerate(pinned)}
            )
            value = place_on_scale(float(fit.strengths[0]), pinned, gold)
            lo, hi = scale
            percent = (min(max(value, lo), hi) - lo) / (hi - lo) * 100.0
            fields[target] = round_half_up(percent)
            summary["wins"][target] = sum(a[f"wins_{target}"] for a in per_anchor)
            summary.setdefault("wins_by_order", {})[target] = by_order
            summary["position_bias"][target] = fit.position_bias
            summary["strength"][target] = float(fit.strengths[0])
            summary.setdefault("placed", {})[target] = value
        for a in per_anchor:
            a["n"] = 2 * self.ctx.samples
        summary["anchors"] = per_anchor
        summary["position_bias"]["first_chosen_rate"] = first_chosen / (2 * len(jobs))
        n = len(jobs)
        fields["rationale"] = (
            f"Preferred in {summary['wins']['ai_score']} of {n} comparisons for "
            f"quality and {summary['wins']['novelty']} of {n} for novelty, against "
            f"{len(anchors)} anchor papers of {aset.suite} in both orders."
        )
        return fields, {"pairwise": summary}


METHOD = PairwiseMethod
