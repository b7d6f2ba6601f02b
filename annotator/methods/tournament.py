"""``tournament``: papers compared with each other, chosen adaptively, on the anchors' scale.

Where ``pairwise`` meets eight fixed anchors in both orders (16 calls a paper), a
tournament compares the papers being judged with each other and with the papers
judged before under the same prompt version and model. Each new paper pays for
``ceil(comparisons / 2)`` calls (``comparisons`` in the front matter, default 10): the
first against an anchor (a different one per paper, so every anchor is linked to
the field), each next one against the item whose current strength is closest to the
paper's current estimate (``tournament_board.Board.choose``). Later papers meet it in
turn, so a paper takes part in about ``comparisons`` comparisons once a corpus exists
(comparative-judgement studies find about ten per item enough for a reliable scale).
The paper is shown first in its even-numbered comparisons and second in the others,
so an order preference cancels; the fit measures it (``position_bias``).

Aggregation is Bradley-Terry with an order effect (``bradley_terry``, not ``choix``:
see there), the anchors pinned to their standardised gold scores with one fitted unit,
so strengths land on the human scale and map to 0-100 through the anchors' line,
with 95 % intervals from the fit's curvature. Anchors come from the suite file, are
never papers of the database and are never scored; a paper with an anchor's text is
never compared with that anchor (and ``eval run`` leaves anchors out of its sample).

Incremental and replayable: every comparison is one ``ModelClient.judge`` call,
stored with the paper that paid for it; its request names the pair (``_pair``), so
the stored calls are the tournament (``tournament_board.load_board``). A paper judged
again (its judgment deleted, ``--replay``) asks its stored comparisons again and gets
them from the cache. Papers added later are placed by their own new comparisons; the
old ones are never asked again.

Scores move as comparisons accumulate. A paper's score at judging time is its
placement against the others as they stood (``fit.kind = placement``); a run ends with
a global re-fit of every judgment of the prompt version and model
(``tournament_refit.refit``, also ``annotator annotate --refit``), after which each
judgment names the fit it reflects (``fit.id``, ``fit.comparisons``). Several worker
processes on one queue each see the others' comparisons at that re-fit, not before.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from annotator.injection.detect import fence
from annotator.judge.client import JudgeResult
from annotator.judge.messages import prepare_abstract
from annotator.judge.prices import estimate_messages_tokens
from annotator.methods.anchors import AnchoredMethod
from annotator.methods.interface import CallEstimate, PaperInput, Verdict
from annotator.methods.sampling import round_half_up
from annotator.methods.tournament_board import (
    PAIR_KEY,
    TARGETS,
    Board,
    Bout,
    load_board,
    paper_item,
    prompt_version_id,
)
from annotator.methods.tournament_refit import rationale, refit

DEFAULT_COMPARISONS = 10
_REPLY_TOKENS = 60  # "A"/"B" twice and a short rationale
REFIT_GROWTH = 0.1  # during a run, a global fit again once the comparisons grew by a tenth
REFIT_MIN = 20  # ... and by at least this many


class TournamentMethod(AnchoredMethod):
    name = "tournament"

    @property
    def comparisons(self) -> int:
        return self.ctx.prompt.meta.comparisons or DEFAULT_COMPARISONS

    def calls_per_paper(self) -> int:
        return math.ceil(self.comparisons / 2)

    async def prepare(self) -> None:
        await super().prepare()
        prompt = self.ctx.prompt
        assert self.ctx.engine is not None  # a run has its database

        def load() -> Board:
            pv = prompt_version_id(self.ctx.engine, prompt.name, prompt.version)  # type: ignore[arg-type]
            board = load_board(self.ctx.engine, self.anchor_set, pv, self.client.model)  # type: ignore[arg-type]
            board.fit(errors=False)
            return board

        self.board = await asyncio.to_thread(load)
        self._fitting = asyncio.Lock()
        self._judged = 0
        self._asking: dict[str, set[str]] = {}  # item -> opponents it is being compared with now

    async def finish(self) -> None:
        """After the run's judgments are stored: re-fit them all, old and new."""
        if self._judged and self.ctx.engine is not None:
            await asyncio.to_thread(refit, self.ctx.engine, self.ctx.prompt, self.client.model)

    # -- messages and estimates -----------------------------------------------
    def pair_messages(self, first: tuple[str, str], second: tuple[str, str]) -> list[dict]:
        limit = self.ctx.max_abstract_chars // 2
        return self.ctx.prompt.render(
            title_a=fence(first[0]),
            abstract_a=prepare_abstract(first[1], limit)[0],
            title_b=fence(second[0]),
            abstract_b=prepare_abstract(second[1], limit)[0],
        )

    def estimate(self, paper: PaperInput) -> CallEstimate:
        """``ceil(comparisons / 2)`` calls, the opponents' text taken as the anchors' (an
        average paper's length is not known before the opponents are chosen)."""
        me = (paper.title, paper.abstract)
        anchors = self.anchor_set.anchors
        calls = self.calls_per_paper()
        tokens = sum(
            estimate_messages_tokens(self.pair_messages(me, (a.title, a.abstract)))
            for a in (anchors[i % len(anchors)] for i in range(calls))
        )
        return CallEstimate(calls, tokens, calls * _REPLY_TOKENS)

    # -- judging ----------------------------------------------------------------
    async def compare(self, first: str, second: str) -> JudgeResult:
        params = {**self.ctx.params, PAIR_KEY: [first, second]}  # ours: hashed, stored, not sent
        messages = self.pair_messages(self.board.texts[first], self.board.texts[second])
        return await self.client.judge(messages, self.ctx.prompt.output_model, params)

    def _next(
        self, me: str, paper_id: int, step: int, stored: list[Bout], estimate: float, avoid: set[str]
    ) -> tuple[str, str] | None:
        """The next pair for ``me``: a stored one first (replay), else a new choice."""
        if step < len(stored):
            return stored[step].first, stored[step].second
        if step == 0:
            anchors = [a for a in self.board.anchor_items if a not in avoid]
            other = anchors[paper_id % len(anchors)] if anchors else None
        else:
            other = self.board.choose(me, estimate, avoid)
        if other is None:
            return None
        return (me, other) if step % 2 == 0 else (other, me)

    async def judge(self, paper: PaperInput) -> Verdict:
        assert paper.paper_id is not None  # a claimed task
        board = self.board
        me = paper_item(paper.paper_id)
        board.texts[me] = (paper.title, paper.abstract)
        cut = len(paper.abstract) > self.ctx.max_abstract_chars // 2
        avoid = board.anchor_copies(paper.abstract)
        stored = board.owned(paper.paper_id)
        attempts, errors = [], []
        estimate = board.place(me, "ai_score")[0] if stored else 0.0
        for step in range(self.calls_per_paper()):
            # never a pair that another paper is asking about right now (it chose me)
            pair = self._next(me, paper.paper_id, step, stored, estimate, avoid | self._asking.get(me, set()))
            if pair is None:
                break
            other = pair[1] if pair[0] == me else pair[0]
            self._asking.setdefault(me, set()).add(other)
            self._asking.setdefault(other, set()).add(me)
            try:
                result = await self.compare(*pair)
            finally:
                self._asking[me].discard(other)
                self._asking[other].discard(me)
            attempts.extend(result.attempts)
            reply = result.judgment
            if reply is None:
                errors.append(result.error or "no reply")
                continue
            answer = reply.model_dump()
            board.add(Bout(pair[0], pair[1], answer["better"] == "A", answer["more_novel"] == "A", paper.paper_id))
            estimate = board.place(me, "ai_score")[0]
        if errors:
            return Verdict(
                attempts,
                None,
                f"{len(errors)} of {len(errors) + len(board.owned(paper.paper_id))} comparisons failed: {errors[0]}",
                cut,
            )
        if not board.of(me):
            return Verdict(attempts, None, "no opponent to compare with", cut)
        strengths = {t: board.place(me, t) for t in TARGETS}
        details = board.summary(me, strengths)
        details["fit"] = {
            "kind": "placement",
            "comparisons": len(board.matches),
            "global_fit_comparisons": board.fits["ai_score"].comparisons if board.fits else 0,
        }
        details["own"] = [m.as_json() for m in board.owned(paper.paper_id)]
        fields: dict[str, Any] = {t: round_half_up(board.percent(strengths[t][0], t)) for t in TARGETS}
        fields["rationale"] = rationale(details)
        self._judged += 1
        await self._maybe_fit()
        return Verdict(attempts, fields, None, cut, {"tournament": details})

    async def _maybe_fit(self) -> None:
        """A global fit in a thread once enough comparisons were added (one at a time)."""
        board = self.board
        done = board.fits["ai_score"].comparisons if board.fits else 0
        if self._fitting.locked() or len(board.matches) - done < max(REFIT_MIN, REFIT_GROWTH * done):
            return
        async with self._fitting:
            await asyncio.to_thread(board.fit, False, list(board.matches.values()))


METHOD = TournamentMethod
