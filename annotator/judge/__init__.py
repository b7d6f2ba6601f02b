"""Judging one paper: the model client, output schema, messages, endpoint, rate limits,
call cache, prices and the embedded local model."""
