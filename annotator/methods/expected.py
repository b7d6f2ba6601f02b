"""``expected``: scores as probability-weighted means over a small single-token scale.

The request asks for ``logprobs`` with the top 20 alternatives per token; the
score token of each field is located in the reply and its alternatives give a
distribution over the scale (1-9 unless the front matter's ``scale`` says
otherwise); the expected value, rescaled to 0-100, is the score. With
``samples: K`` the K expected values are averaged. An endpoint that sends no
log-probabilities, or a model that writes a score over several tokens, fails
the judgment with a message that names the fallback; the method is never
changed behind the user's back.
"""

from __future__ import annotations

import statistics
from typing import Any

from annotator.methods.direct import DirectMethod
from annotator.methods.interface import PaperInput, Verdict
from annotator.methods.sampling import SCORE_FIELDS, combine_samples
from annotator.methods.score_tokens import (
    ScoreTokenError,
    expected_value,
    score_distribution,
    to_percent,
)
from annotator.prompts.schema import RUBRIC_CRITERIA

TOP_LOGPROBS = 20
FALLBACK = (
    "method 'expected' needs token log-probabilities; use a prompt version with "
    "'method: direct' and 'samples: K' on this endpoint instead"
)


class ExpectedMethod(DirectMethod):
    name = "expected"

    @property
    def scale(self) -> tuple[int, int]:
        return self.ctx.prompt.meta.score_scale or (1, 9)

    async def judge(self, paper: PaperInput) -> Verdict:
        messages, cut = self.messages(paper)
        params = {**self.ctx.params, "logprobs": True, "top_logprobs": TOP_LOGPROBS}
        results = await self.sample(messages, params)
        attempts = [a for r in results for a in r.attempts]
        failed = next((r for r in results if r.judgment is None), None)
        if failed is not None:
            error = failed.error or "no reply"
            if "logprob" in error.lower():
                error = f"{error}; the endpoint refused log-probabilities: {FALLBACK}"
            return Verdict(attempts, None, error, cut)
        names = [n for n in (*RUBRIC_CRITERIA, *SCORE_FIELDS) if n in self.ctx.prompt.output_model.model_fields]
        dists: list[dict[str, dict[int, float]]] = []
        for r in results:
            answer = r.attempts[-1]
            if not answer.logprobs:
                return Verdict(attempts, None, f"the endpoint sent no log-probabilities: {FALLBACK}", cut)
            try:
                dists.append(
                    {n: score_distribution(answer.response_text or "", answer.logprobs, n, self.scale) for n in names}
                )
            except ScoreTokenError as exc:
                return Verdict(attempts, None, f"{exc}: {FALLBACK}", cut)
        values = [{n: to_percent(expected_value(d[n]), self.scale) for n in names} for d in dists]
        replies = [r.judgment for r in results if r.judgment is not None]
        fields, details = combine_samples(replies, "mean", values)
        details["expected"] = {n: statistics.mean(v[n] for v in values) for n in SCORE_FIELDS}
        details["distribution"] = {n: _mean_distribution([d[n] for d in dists]) for n in SCORE_FIELDS}
        sub = [n for n in names if n not in SCORE_FIELDS]
        if sub:  # the expected sub-scores, 0-100, replace the sampled ones
            details["subscores"] = {n: statistics.mean(v[n] for v in values) for n in sub}
        details["scale"] = list(self.scale)
        return Verdict(attempts, fields, None, cut, details)


def _mean_distribution(dists: list[dict[int, float]]) -> dict[str, float]:
    keys = sorted({k for d in dists for k in d})
    out: dict[str, Any] = {str(k): sum(d.get(k, 0.0) for d in dists) / len(dists) for k in keys}
    return out


METHOD = ExpectedMethod
