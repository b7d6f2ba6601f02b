# Setup and the two everyday commands. Everything installs into .venv, pinned by
# the lock files (see "Installing" in the README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package, extras local, postgres and test included: what .venv gets.
LOCK := requirements-all.lock
# The same versions for a plain `pip install .` (no extras).
CORE_LOCK := requirements.lock
# The core packages as files, so tests/test_install.py can build a fresh
# virtualenv offline.
WHEELHOUSE := $(VENV)/wheelhouse
LOCK_FLAGS := --generate-hashes --python-version 3.11 --python-platform linux \
	--custom-compile-command 'make lock' --quiet

.PHONY: setup demo test bench lock clean head head-embeddings

$(STAMP): pyproject.toml $(LOCK) $(CORE_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip download --quiet --no-deps --require-hashes -r $(CORE_LOCK) -d $(WHEELHOUSE)
	$(BIN)/pip download --quiet --no-deps 'setuptools>=68' -d $(WHEELHOUSE)
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/annotator demo

test: $(STAMP)
	bash .ci/test.sh

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# The shipped heads (text and embedding), refitted from the labelled data in evals/data and
# the training vectors in evals/data/embeddings: the same bytes every time (check with:
# make head && git diff --exit-code annotator/data/heads). Then the figures in docs/heads.md.
head: $(STAMP)
	$(BIN)/python evals/fit_head.py
	$(BIN)/python evals/head_figures.py

# The training vectors: SmolLM2 embeddings of every labelled paper. Resumes from the work
# file build/smollm2-embeddings.jsonl (slow on two cores: stop it any time, run it again),
# writes evals/data/embeddings/smollm2/ from whatever is there, then refits the heads.
head-embeddings: $(STAMP)
	$(BIN)/python evals/embed_labelled.py
	$(MAKE) head

# Re-resolve both lock files to the newest versions pyproject.toml allows.
# uv is used when on PATH; otherwise it is installed into a throwaway folder.
lock:
	@set -e; tmp=""; uv=$$(command -v uv || true); \
	if [ -z "$$uv" ]; then \
		tmp=$$(mktemp -d); $(PYTHON) -m venv "$$tmp"; \
		"$$tmp/bin/pip" install --quiet 'uv>=0.5,<1'; uv="$$tmp/bin/uv"; \
	fi; \
	"$$uv" pip compile pyproject.toml --all-extras --upgrade $(LOCK_FLAGS) -o $(LOCK); \
	"$$uv" pip compile pyproject.toml -c $(LOCK) $(LOCK_FLAGS) -o $(CORE_LOCK); \
	if [ -n "$$tmp" ]; then rm -rf "$$tmp"; fi; \
	echo "wrote $(LOCK) and $(CORE_LOCK)"

clean:
	rm -rf $(VENV) .pytest_cache
