"""Start-up cost: loading the CLI must not load the statistics stack.

scikit-learn and scipy take seconds to import on a loaded machine; only the commands that
fit or evaluate need them, so they are imported inside those commands.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("sklearn", "scipy", "matplotlib", "jinja2")


def test_loading_the_cli_leaves_the_statistics_stack_unloaded():
    code = f"import json, sys; import cli; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
