"""Judging one paper: the model client, messages, endpoint, rate limits,
call cache, prices and the embedded local model."""
