"""Judging one paper: the model client, the output schema, rate limits, the call cache, prices and the embedded local model."""
