"""annotator: LLM-assisted paper annotation and scoring."""

__version__ = "0.1.0"
