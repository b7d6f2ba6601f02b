"""The ``annotator`` command, runnable from a checkout as ``python cli.py``.

The command lives in ``annotator/cli.py`` (installed as the ``annotator`` script);
this file only forwards to it, so the repository keeps its top-level entry point
without a second top-level module in users' site-packages.
"""

from annotator.cli import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
