"""``direct``: the model writes the scores; with ``samples: K``, K independent replies."""

from __future__ import annotations

from annotator.judge.client import JudgeResult
from annotator.methods.interface import JudgingMethod, PaperInput, Verdict
from annotator.methods.sampling import combine_samples


class DirectMethod(JudgingMethod):
    name = "direct"

    async def sample(self, messages: list[dict], params: dict | None = None) -> list[JudgeResult]:
        """K calls, one cache identity each when K > 1."""
        results: list[JudgeResult] = []
        k = self.ctx.samples
        for s in range(k):
            result = await self.client.judge(
                messages,
                self.ctx.prompt.output_model,
                params if params is not None else self.ctx.params,
                sample=s if k > 1 else 0,
            )
            results.append(result)
        return results

    async def judge(self, paper: PaperInput) -> Verdict:
        messages, cut = self.messages(paper)
        results = await self.sample(messages)
        attempts = [a for r in results for a in r.attempts]
        failed = next((r for r in results if r.judgment is None), None)
        if failed is not None:
            return Verdict(attempts, None, failed.error, cut)
        replies = [r.judgment for r in results if r.judgment is not None]
        fields, details = combine_samples(replies, self.ctx.aggregate)
        return Verdict(attempts, fields, None, cut, details)


METHOD = DirectMethod
