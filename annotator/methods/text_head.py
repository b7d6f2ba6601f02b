"""``text-head``: score the words of title and abstract with the shipped text head.

No model is called or started: the text the template renders is turned into TF-IDF
features and a ridge head fitted on public ICLR and NeurIPS reviews (``annotator.heads``,
shipped in ``annotator/data/heads/text/``) predicts where the paper's mean rating and its
novelty or contribution score would rank among its venue's submissions (0-100). It is the
judge right after a plain ``pip install``: instant, and weaker than the embedding judge
or a chat model (its held-out figures are in the head and in ``docs/heads.md``).

A paper the head was fitted on gets its out-of-fold prediction (found by text hash), never
an in-sample one. The rationale names the words that moved the score most.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annotator.errors import ConfigError
from annotator.heads.head_store import StoredHead, find_head
from annotator.heads.text import prompt_text
from annotator.heads.text_words import rationale
from annotator.judge.embeddings import text_hash
from annotator.methods.interface import CallEstimate, JudgingMethod, PaperInput, Verdict
from annotator.methods.sampling import round_half_up


class TextHeadMethod(JudgingMethod):
    name = "text-head"
    stored: StoredHead

    def calls_per_paper(self) -> int:
        return 0

    def estimate(self, paper: PaperInput) -> CallEstimate:
        return CallEstimate(0, 0, 0)

    def text(self, paper: PaperInput) -> str:
        return prompt_text(self.ctx.prompt, paper.title, paper.abstract, self.ctx.max_abstract_chars)

    async def prepare(self) -> None:
        self.stored = find_head(self.ctx.engine, self.ctx.prompt, self.client.model)
        head = self.stored.head
        if head.text is None or head.kind != "text":
            raise ConfigError(f"the head for {self.ctx.prompt.ref} is not a text head")
        missing = {"ai", "novelty"} - set(head.targets)
        if missing:
            raise ConfigError(f"the text head for {self.ctx.prompt.ref} has no {' or '.join(sorted(missing))} target")

    async def judge(self, paper: PaperInput) -> Verdict:
        text = self.text(paper)
        cut = len(paper.abstract) > self.ctx.max_abstract_chars
        head = self.stored.head
        assert head.text is not None
        predicted = {name: float(v[0]) for name, v in head.predict(head.inputs([text])).items()}
        scores = {name: float(head.targets[name].score(v)) for name, v in predicted.items()}
        held = head.text.in_training(text)
        words = top_terms(head, text)
        details: dict[str, Any] = {
            "text": {"text_hash": text_hash(text), "out_of_fold": held},
            "head": {
                "id": self.stored.head_id,
                "hash": self.stored.head_hash,
                "source": self.stored.source,
                "suites": head.suites,
                "fitted_by": head.provenance.get("code_version"),
            },
            "predicted": predicted,
            "interval": {n: list(head.targets[n].interval(v)) for n, v in predicted.items()},
            "terms": words,
        }
        fields = {
            "ai_score": round_half_up(scores["ai"]),
            "novelty": round_half_up(scores["novelty"]),
            "rationale": rationale(head, predicted, scores, words, held),
        }
        return Verdict([], fields, None, cut, details)


def top_terms(head, text: str, n: int = 3) -> dict[str, list[str]]:
    """The terms of ``text`` that raised and lowered the predicted rating most."""
    model = head.text
    x = model.features([text]).tocsr()
    cols, values = x.indices, x.data
    if not len(cols):
        return {"raised": [], "lowered": []}
    contrib = values * model.weights["ai"][cols]
    order = np.argsort(-contrib, kind="stable")
    up = [model.vocabulary[cols[i]] for i in order[:n] if contrib[i] > 0]
    down = [model.vocabulary[cols[i]] for i in order[::-1][:n] if contrib[i] < 0]
    return {"raised": up, "lowered": down}


METHOD = TextHeadMethod
