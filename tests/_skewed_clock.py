"""Run the command line as on a machine whose clock is off: ``python _skewed_clock.py SKEW ARGS...``.

``SKEW`` seconds (``600``, ``-600``) are added to ``time.time`` and ``time.time_ns``
before anything of the project is imported, so every reading of the wall clock in
the process is off by that much, as on a machine whose clock was set wrong. The
database's clock (the PostgreSQL server's, or SQLite's own reading of the system
clock) is left alone.
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    skew = float(sys.argv[1])
    real, real_ns = time.time, time.time_ns
    time.time = lambda: real() + skew
    time.time_ns = lambda: real_ns() + int(skew * 1e9)
    sys.argv = ["annotator", *sys.argv[2:]]
    from annotator.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
