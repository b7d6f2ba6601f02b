"""A plain detector for instructions hidden in abstracts.

Abstracts are untrusted: the prompt fences them and tells the model to ignore
instructions inside. This detector adds a second, model-independent signal:
it marks abstracts that talk to the reviewer or the model, mimic the output
format, or hide text in LaTeX comments, so users can audit those judgments.
"""

from __future__ import annotations

import re

_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("addresses the model", re.compile(
        r"\b(ignore|disregard|forget)\b.{0,40}\b(previous|prior|above|earlier|all)\b.{0,40}"
        r"\b(instruction|prompt|rule|message)s?", re.I | re.S)),
    ("dictates a score", re.compile(
        r"\b(give|assign|rate|score|award)\b.{0,40}\b(100|maximum|highest|perfect|full marks|10/10)\b",
        re.I | re.S)),
    ("dictates a score", re.compile(r"\b(reviewer|model|assistant|ai|llm)s?\b.{0,30}\b(must|should|shall)\b.{0,40}"
                                    r"\b(score|rate|accept|give)", re.I | re.S)),
    ("mimics the output", re.compile(r"[\"']?(ai_score|novelty)[\"']?\s*[:=]\s*\d", re.I)),
    ("role marker", re.compile(r"(^|\n)\s*(system|assistant)\s*:|<\|im_start\|>|\[/?INST\]|</?paper>",
                               re.I)),
    # a "%" after a digit is a percentage ("gains 3% in F1 score"), not a comment
    ("hidden LaTeX comment", re.compile(r"(?<![\\\d])%[^\n]*\b(score|reviewer|instruction|ignore|rate)\b",
                                        re.I)),
    ("hidden LaTeX text", re.compile(r"\\(textcolor\{white\}|phantom|color\{white\})", re.I)),
]


def detect(text: str) -> list[str]:
    """Reasons this text looks like a prompt injection (empty when it does not)."""
    reasons: list[str] = []
    for reason, pattern in _PATTERNS:
        if reason not in reasons and pattern.search(text):
            reasons.append(reason)
    return reasons


def fence(text: str) -> str:
    """Neutralise our own delimiters inside untrusted text."""
    return re.sub(r"<(/?)paper>", r"<\1paper_>", text, flags=re.I)
