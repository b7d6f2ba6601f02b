"""The detector's literal prefilter skips only texts its patterns cannot match.

Every pattern of the detector is run with and without the prefilter over the
injection corpus, the labelled abstracts and the same texts lower-cased but not
folded; the answers must agree text by text, and enough of them must be matches
for the comparison to mean something.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from annotator.injection import detect as D
from annotator.injection.literals import Prefiltered, holds, required_literals

ROOT = Path(__file__).resolve().parent.parent


def _texts() -> list[str]:
    out = []
    for name in ("injected.jsonl", "clean.jsonl"):
        for line in (ROOT / "evals" / "injection" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append(f"{row.get('title', '')}\n{row['abstract']}")
    with open(ROOT / "evals" / "data" / "iclr2022_ratings_novelty.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= 400:
                break
            row = json.loads(line)
            out.append(f"{row['title']}\n{row['abstract']}")
    return out


def _patterns() -> list[tuple[str, object]]:
    found = []
    for reason, scripts, latin in D._RULES:
        for p in (*scripts, *latin):
            found.append((reason, p))
    return found


@pytest.fixture(scope="module")
def variants() -> list[str]:
    texts = _texts()
    return [D.fold(t) for t in texts] + [t.lower() for t in texts]


def test_every_pattern_answers_as_without_the_prefilter(variants):
    matches = 0
    for reason, p in _patterns():
        if isinstance(p, D._Led):
            raw = p.pattern.pattern

            def unfiltered(text: str, raw: re.Pattern = raw) -> bool:
                return any(
                    D._LEAD_END.search(text, max(0, m.start() - 160), m.start())
                    and not D._quoted(text, m.start(), m.end())
                    for m in raw.finditer(text)
                )

            for text in variants:
                expected = unfiltered(text)
                assert p.search(text) == expected, (reason, raw.pattern[:80], text[:80])
                matches += expected
        else:
            assert isinstance(p, Prefiltered)
            for text in variants:
                expected = p.pattern.search(text) is not None
                assert (p.search(text) is not None) == expected, (reason, p.pattern.pattern[:80])
                matches += expected
    assert matches > 100  # the corpus's injected abstracts do match


def test_the_prefilter_skips_most_clean_abstracts():
    """It is there to save work: on labelled (clean) abstracts most patterns do not run."""
    clean = [D.fold(t) for t in _texts()[-400:]]
    checked = skipped = 0
    for _reason, _scripts, latin in D._RULES:
        for p in latin:
            filt = p.pattern if isinstance(p, D._Led) else p
            for text in clean:
                checked += 1
                skipped += not filt.possible(text)
    print(f"skipped {skipped} of {checked}")
    assert skipped > 0.8 * checked


@pytest.mark.parametrize(
    "pattern, inside, outside",
    [
        (r"ab(?:cd|ef)?gh", ["xx abgh yy", "abcdgh", "ABEFGH".lower()], ["abx", "zzz"]),
        (r"(?:foo)?bar", ["bar", "foobar"], ["foo", "ba r"]),
        (
            r"(?:give|grant)\s+(?:\w+\s+){0,2}?(?:a\s+)?(?:top|perfect)\s+score",
            ["please give it a perfect score", "grant top score"],
            ["give a score", "top score"],
        ),
        (r"(?:alpha|beta\d+)x", ["alphax", "beta7x"], ["gammax"]),
        (r"(?:one|two(?:three)+)", ["one", "twothree"], ["two", "three"]),
    ],
)
def test_required_literals_accept_every_match_and_reject_what_cannot(pattern, inside, outside):
    compiled = re.compile(pattern, re.I)
    need = required_literals(compiled)
    assert need  # something certain was found
    for text in inside:
        assert compiled.search(text) and holds(need, text), text
    for text in outside:
        assert not holds(need, text), text


@pytest.mark.parametrize("pattern", [r"x*", r"[abc]+", r"(?:foo|\w+)(?:bar)?", r"(?-i:Foo)"])
def test_nothing_certain_means_no_test(pattern):
    need = required_literals(re.compile(pattern, re.I))
    assert need == [] or all(holds(need, s) for s in ("foo", "ba", "aaa", "x"))


def test_a_case_sensitive_pattern_is_never_prefiltered():
    assert required_literals(re.compile("Ignore")) == []
    assert Prefiltered(re.compile("Ignore")).possible("nothing here")


def test_non_ascii_text_always_runs_the_pattern():
    p = Prefiltered(re.compile(r"ignore\s+previous", re.I))
    assert not p.possible("plain text")
    assert p.possible("texte accentu\u00e9 sans le mot")


def test_ascii_text_loses_no_invisible_character_step():
    """``_strip_invisible`` on ASCII skips the per-character pass: the same text results."""
    for text in _texts()[:200]:
        if text.isascii():
            full = "".join(c for c in D._INVISIBLE.sub("", text) if unicodedata.category(c) != "Cf")
            assert D._strip_invisible(text) == D._SPACE.sub(" ", full)
