"""The fitting code's hash in a shipped head's provenance names what the code does, not how
it is laid out: reformatting the modules (``ruff format``) leaves it, a change of behaviour
does not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from annotator.heads.shipped import FIT_CODE, fit_code_hash

HEADS = Path(__file__).resolve().parents[1] / "annotator" / "heads"
RUFF = Path(sys.executable).parent / "ruff"


def _copy(tmp_path: Path) -> Path:
    for name in FIT_CODE:
        shutil.copy(HEADS / name, tmp_path / name)
    return tmp_path


@pytest.mark.skipif(not RUFF.is_file(), reason="ruff is not installed")
def test_ruff_format_leaves_the_fit_code_hash_alone(tmp_path):
    folder = _copy(tmp_path)
    subprocess.run(
        [str(RUFF), "format", "--quiet", "--no-cache", "--line-length", "88", *[str(folder / n) for n in FIT_CODE]],
        check=True,
    )
    changed = [n for n in FIT_CODE if (folder / n).read_bytes() != (HEADS / n).read_bytes()]
    assert changed  # the formatter did rewrite the files
    assert fit_code_hash(folder=folder) == fit_code_hash()


def test_comments_docstrings_and_quotes_do_not_count_but_code_does(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "fit.py"
    source = path.read_text(encoding="utf-8")
    old = '"""Fit a ridge head'
    assert source.startswith(old)
    reworded = "# a comment\n'''Fit a linear head" + source[len(old) :].replace('"""', "'''", 1)
    path.write_text(reworded.replace("MIN_TRAIN = 10", "MIN_TRAIN = (\n    10  # as before\n)"), encoding="utf-8")
    assert fit_code_hash(folder=folder) == fit_code_hash()
    path.write_text(source.replace("MIN_TRAIN = 10", "MIN_TRAIN = 11"), encoding="utf-8")
    assert fit_code_hash(folder=folder) != fit_code_hash()
