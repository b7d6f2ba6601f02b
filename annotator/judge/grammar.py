"""Structured output on llama.cpp's server.

llama-cpp-python 0.3.x: the server accepts
``response_format={"type": "json_object", "schema": {...}}`` and compiles the
schema into a grammar. ``{"type": "json_schema", ...}`` is rejected with HTTP
500 (a request-validation error the server reports as 500, not 400/422).
The grammar does not enforce integer ``minimum``/``maximum``, lets strings
contain raw control characters, and crashes the server (SIGSEGV) when a
string ``maxLength`` is above about 1000; :func:`grammar_schema` rewrites a
JSON schema so the grammar guarantees what the schema says.
"""

from __future__ import annotations

import copy

# Strings longer than this make llama.cpp's grammar parser fail, and the server
# then dies with SIGSEGV (seen at maxLength 1200; 1000 works).
MAX_STRING_LENGTH = 500
_MAX_ENUM_RANGE = 1000


def grammar_schema(schema: dict, max_string_length: int = MAX_STRING_LENGTH) -> dict:
    """A copy of a JSON schema that llama.cpp's grammar can enforce in full.

    - integers with a small ``minimum``..``maximum`` range become an ``enum`` of
      every allowed value (the grammar ignores minimum/maximum);
    - strings get a ``pattern`` that excludes quotes, backslashes and control
      characters (the grammar would allow raw newlines, which strict JSON parsers
      such as pydantic's reject) with the length bound capped at
      ``max_string_length``.
    """
    out = copy.deepcopy(schema)

    def visit(node):
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        lo, hi = node.get("minimum"), node.get("maximum")
        if (
            kind == "integer"
            and "enum" not in node
            and isinstance(lo, int)
            and isinstance(hi, int)
            and 0 <= hi - lo <= _MAX_ENUM_RANGE
        ):
            node["enum"] = list(range(lo, hi + 1))
        if kind == "string" and not {"enum", "const", "pattern", "format"} & node.keys():
            low = int(node.pop("minLength", 0))
            high = min(int(node.pop("maxLength", max_string_length)), max_string_length)
            node["pattern"] = '^[^"\\\\\\x00-\\x1f]{' + f"{low},{max(low, high)}" + "}$"
        for value in node.values():
            visit(value)

    visit(out)
    return out


def response_format(schema: dict) -> dict:
    """The ``response_format`` that works with this server: json_object plus a grammar-safe schema."""
    return {"type": "json_object", "schema": grammar_schema(schema)}
