"""Prompt files: loading and validating versions, the registry in the database, diffs and version comparisons."""
