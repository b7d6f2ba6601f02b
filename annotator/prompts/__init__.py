"""Prompt files: loading and validating versions, their reply schemas, the registry in the database
and the order of versions, diffs."""
