"""Prompt injection in abstracts: the detector and the suite that measures its effect on scores."""
