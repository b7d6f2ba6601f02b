"""What the commands say about the judge that is about to score, keyed on the prompt's
method: one wording per kind of judge for ``annotate``, ``eval run`` and the demo."""

from __future__ import annotations

from annotator.judge.local_model import DEMO_NOTICE
from annotator.prompts.files import Prompt

from .shipped import about_lines as embedding_about
from .shipped import load_shipped, load_text
from .text_words import about_lines as text_about


def about(prompt: Prompt) -> list[str]:
    """What a head judge's scores are and its held-out figures, in plain words; nothing for
    a chat prompt (its figures come from ``annotator eval run``)."""
    if prompt.meta.method == "text-head":
        head = load_text()
        return text_about(head) if head is not None else []
    if prompt.meta.method == "embedding-head":
        head = load_shipped()
        return embedding_about(head) if head is not None else []
    return []


def judge_notice(prompt: Prompt, *, figures: bool = True) -> str:
    """One paragraph naming the judge; with ``figures``, the text judge's held-out figures
    too (the embedding judge's are long: the demo and eval reports give them)."""
    method = prompt.meta.method
    if method == "text-head":
        said = (
            f"Judged by the text judge ({prompt.ref}): the words of title and abstract (TF-IDF), "
            "scored by a ridge head fitted on public ICLR and NeurIPS reviews; no language model "
            "is used, and papers it was fitted on get their out-of-fold scores."
        )
        # the figures, then how to get a stronger judge (``text_words.about_lines``)
        return " ".join([said, *about(prompt)[1:]]) if figures else said
    if method == "embedding-head":
        return (
            f"Judged by the embedding head ({prompt.ref}): SmolLM2-135M embeddings of title and "
            "abstract, scored by a ridge head fitted on public ICLR and NeurIPS reviews. It predicts "
            "review scores; it is not a reviewer. Papers it was fitted on get their out-of-fold "
            "scores; 'annotator demo' and eval reports give its held-out figures. Set "
            "OPENAI_BASE_URL for a chat model, or name --prompt score@1 for the chat path on the "
            "embedded model."
        )
    return DEMO_NOTICE
