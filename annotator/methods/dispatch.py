"""Which class judges for a method name: the registry, loaded by module name.

Each method lives in its own module under ``annotator.methods`` and
defines ``METHOD``, a ``JudgingMethod`` subclass. Adding a method is one
module and one line in ``METHOD_MODULES`` (and its name in the prompt front
matter's ``method`` choices, ``annotator.prompts.files.METHODS``).
"""

from __future__ import annotations

import importlib

from annotator.errors import ConfigError
from annotator.methods.interface import JudgingMethod, MethodContext

METHOD_MODULES: dict[str, str] = {
    "direct": "direct",
    "expected": "expected",
    "pairwise": "pairwise",
    "tournament": "tournament",
    "embedding-head": "embedding_head",
    "text-head": "text_head",
}


def method_class(name: str) -> type[JudgingMethod]:
    module_name = METHOD_MODULES.get(name)
    if module_name is None:
        raise ConfigError(f"unknown judging method '{name}'; known: {', '.join(sorted(METHOD_MODULES))}")
    try:
        module = importlib.import_module(f"annotator.methods.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"annotator.methods.{module_name}":
            raise
        raise ConfigError(f"judging method '{name}' is not available in this version") from None
    cls: type[JudgingMethod] = module.METHOD
    return cls


def method_for(ctx: MethodContext) -> JudgingMethod:
    """The method the prompt version names, bound to this run's context."""
    return method_class(ctx.prompt.meta.method)(ctx)
