"""``python -m annotator.evaluation SUITE``: human ceiling and TF-IDF baseline of a suite's data."""

import sys

from ..errors import AnnotatorError
from .reference import main

try:
    sys.exit(main())
except AnnotatorError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(exc.exit_code)
