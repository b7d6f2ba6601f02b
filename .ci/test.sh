#!/usr/bin/env bash
# Lint (ruff), type-check (mypy), check the floors (lint-imports), then the whole test suite:
# starts a throwaway PostgreSQL server on loopback so the storage and queue tests run against
# both databases, then runs pytest
# (slow tests included: one starts the real local model server).
set -euo pipefail
cd "$(dirname "$0")/.."
# the linter, the type checker and the floors (imports go only downward, pyproject.toml's
# [tool.importlinter]) first: they take seconds and say exactly what is wrong
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
source .ci/pg.sh
pg_start
trap pg_stop EXIT
export ANNOTATOR_REQUIRE_PG=1
bash .ci/chromium.sh  # Debian's chromium for the browser tests of the site (tests/test_site_browser.py)
echo "test.sh: checks and servers ready after ${SECONDS}s"
# the slowest tests by name, so a CI log shows where the time went
.venv/bin/python -m pytest -q --durations=15 "$@"
