"""The chat messages for one paper: the one place a prompt meets a title and an abstract.

Titles and abstracts are untrusted: both are fenced (our ``<paper>`` delimiters
inside them are neutralised) and the abstract is cut to its budget. The
runner, the Batch API path, the injection suite and the cost estimate all
build their messages here, so what is estimated is what is sent.
"""

from __future__ import annotations

from annotator.injection.detect import fence
from annotator.prompts.files import Prompt

CUT_NOTE = " [... abstract cut to length ...]"


def prepare_abstract(abstract: str, max_chars: int) -> tuple[str, bool]:
    """The abstract as the model will see it: fenced, and cut to the budget."""
    cut = len(abstract) > max_chars
    if cut:
        abstract = abstract[:max_chars].rsplit(" ", 1)[0] + CUT_NOTE
    return fence(abstract), cut


def task_messages(prompt: Prompt, title: str, abstract: str, max_chars: int, **extra: str) -> tuple[list[dict], bool]:
    """The chat messages for one paper, and whether its abstract was cut.

    ``extra`` fills further template variables (``related``: earlier papers,
    already fenced by whoever built them).
    """
    fenced, cut = prepare_abstract(abstract, max_chars)
    return prompt.render(title=fence(title), abstract=fenced, **extra), cut
