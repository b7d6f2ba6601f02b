"""The text an embedding prompt version sends: its ``[user]`` template, filled.

Titles and abstracts are embedded as written (no fences: nothing reads them as
instructions); the abstract is cut to the same budget as in chat prompts.
"""

from __future__ import annotations

from string import Template

from annotator.prompts.files import Prompt


def cut(abstract: str, max_chars: int) -> str:
    if len(abstract) <= max_chars:
        return abstract
    return abstract[:max_chars].rsplit(" ", 1)[0]


def embed_text(template: str, title: str, abstract: str, max_chars: int = 12_000) -> str:
    """``template`` (a ``[user]`` section) with ``$title`` and ``$abstract`` filled in."""
    return Template(template).safe_substitute(title=title.strip(), abstract=cut(abstract.strip(), max_chars)).strip()


def prompt_text(prompt: Prompt, title: str, abstract: str, max_chars: int = 12_000) -> str:
    return embed_text(prompt.user, title, abstract, max_chars)
