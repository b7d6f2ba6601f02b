"""A fast first test for the detector's regular expressions: words every match contains.

Most abstracts match none of the patterns, yet each of the forty-odd expressions
walks the whole text, about 3 ms a paper in all. ``required_literals`` reads a
pattern's syntax tree (Python's own parser) and returns sets of strings such
that every possible match contains a member of each set: the literal runs of the
pattern's mandatory parts, and the alternatives of its mandatory groups. A text
that misses any one set cannot match, which substring tests show in
microseconds. The sets are conservative by construction: where the analysis is
unsure (character classes, optional parts, inline flags, non-ASCII letters) it
gives up on that part, and with nothing certain left it returns no set (always
run the expression).

The test is used only on lower-case ASCII text with patterns compiled with
``re.IGNORECASE``: there, case-insensitive matching of an ASCII letter is
plain equality with its lower-case form, so the substring test is exact.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any

# the parser behind ``re.compile`` (a private module of the standard library, stable
# since Python 3.11; the project requires 3.11)
_c: Any = importlib.import_module("re._constants")
_p: Any = importlib.import_module("re._parser")

Literals = frozenset[str]
# What a match must contain: every item of a list holds. An item is a set of strings
# (one of them occurs) or a tuple of such lists (one of the alternatives holds).
Item = Literals | tuple[tuple["Item", ...], ...]
Requirement = list[Item]


def _usable(found: Literals) -> bool:
    return bool(found) and all(s and s.isascii() for s in found)


def _of_sequence(items: Any) -> Requirement:
    """What every match of the sequence contains: each mandatory part in turn."""
    found: Requirement = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            found.append(frozenset(["".join(run)]))
            run.clear()

    for op, arg in items:
        if op is _c.LITERAL:
            run.append(chr(arg).lower())
            continue
        close_run()
        found += _of_item(op, arg)
    close_run()
    return [f for f in found if not isinstance(f, frozenset) or _usable(f)]


def _of_item(op: Any, arg: Any) -> Requirement:
    if op is _c.BRANCH:
        parts = [_of_sequence(branch) for branch in arg[1]]
        if any(not p for p in parts):
            return []  # a branch with nothing certain: the group promises nothing
        if all(len(p) == 1 and isinstance(p[0], frozenset) for p in parts):
            return [frozenset().union(*(p[0] for p in parts))]  # type: ignore[arg-type]  # checked above
        return [tuple(tuple(p) for p in parts)]
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, sub = arg
        return [] if (add_flags or del_flags) else _of_sequence(sub)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) or getattr(_c, "POSSESSIVE_REPEAT", None) is op:
        low, _high, sub = arg
        return _of_sequence(sub) if low >= 1 else []
    if getattr(_c, "ATOMIC_GROUP", None) is op:
        return _of_sequence(arg)
    return []  # classes, any character, anchors, look-arounds, back-references


def _order(item: Item) -> tuple:
    """Cheap and selective tests first: long strings in small sets, alternatives last."""
    if isinstance(item, frozenset):
        return (0, -min(map(len, item)), len(item), sorted(item))
    return (1, len(item), ())


def required_literals(pattern: re.Pattern[str]) -> Requirement:
    """What every match of ``pattern`` contains (lower-case strings; see ``Requirement``).
    Empty when nothing is certain."""
    if not pattern.flags & re.IGNORECASE:
        return []
    found = _of_sequence(_p.parse(pattern.pattern, pattern.flags))
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=_order)


def holds(requirement: Sequence[Item], text: str) -> bool:
    """Whether ``text`` contains what ``requirement`` asks (an empty one always holds)."""
    for item in requirement:  # plain loops: this runs ~40 times a paper
        if isinstance(item, frozenset):
            for s in item:
                if s in text:
                    break
            else:
                return False
        else:
            for alternative in item:
                if holds(alternative, text):
                    break
            else:
                return False
    return True


class Prefiltered:
    """A compiled pattern whose ``search`` and ``finditer`` skip texts that cannot match.

    Callers pass lower-case text (the detector folds or lowers it first)."""

    def __init__(self, pattern: re.Pattern[str]):
        self.pattern = pattern
        self.literals = required_literals(pattern)

    def possible(self, text: str) -> bool:
        if not self.literals or not text.isascii():
            return True
        return holds(self.literals, text)

    def search(self, text: str, *args: int) -> re.Match[str] | None:
        return self.pattern.search(text, *args) if self.possible(text) else None

    def finditer(self, text: str) -> Any:
        return self.pattern.finditer(text) if self.possible(text) else iter(())
