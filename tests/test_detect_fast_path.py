"""The detector's shortcuts change no answer: plain ASCII folds as the full normalisation
does, and a remembered text gives the same reasons as a fresh check (a copy each time)."""

from __future__ import annotations

import html
import json
import unicodedata
from pathlib import Path

from annotator.injection import detect as D

CORPUS = Path(__file__).resolve().parent.parent / "evals" / "injection"


def _full_fold(text: str) -> str:
    """``fold`` without the ASCII shortcut: every normalisation step."""
    text = unicodedata.normalize("NFKC", html.unescape(text))
    text = D._strip_invisible(text).translate(D._HOMOGLYPHS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", text).casefold()


def _texts() -> list[str]:
    rows = [
        json.loads(line)
        for name in ("injected.jsonl", "clean.jsonl")
        for line in (CORPUS / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [f"{r.get('title', '')}\n{r['abstract']}" for r in rows]


def test_ascii_text_folds_as_the_full_normalisation():
    texts = _texts() + [
        "Tabs\tand  runs   of spaces\n\nKEEP lines",
        "IGNORE previous\u00a0rules",
        "x &amp; y",
        "Caf\u00e9 au lait",
    ]
    ascii_ones = [t for t in texts if t.isascii() and "&" not in t]
    assert len(ascii_ones) > 20
    for text in texts:
        assert D.fold(text) == _full_fold(text), text[:60]


def test_a_remembered_text_gives_the_same_reasons():
    D._detect_once.cache_clear()
    for text in _texts():
        first = D.detect(text)
        assert first == D._detect(text)
        first.append("changed by the caller")
        assert D.detect(text) == D._detect(text)  # the cache holds its own copy
    assert D._detect_once.cache_info().hits >= len(_texts())
