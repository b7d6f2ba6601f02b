"""What changed between two prompt versions: text, model parameters, output schema.

``diff_prompts("score@1", "score@2")`` compares the files (or, for a version
whose file is gone, the text stored in the database when it was used). The
result says whether the second version sends the very same requests as the
first: then re-scoring with it is answered from stored calls and costs nothing.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from annotator.errors import PromptError
from annotator.prompts.files import Prompt, load_prompt, parse_prompt, parse_ref
from annotator.prompts.registry import stored_text
from annotator.prompts.schema import strict_json_schema


@dataclass
class PromptDiff:
    a: str  # NAME@VERSION
    b: str
    hash_a: str
    hash_b: str
    text_diff: str  # unified diff of the two files ("" when equal)
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # changed only
    meta: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # description, variables
    output: tuple[str, str] | None = None  # output schema names, when they differ
    schema_diff: str = ""  # unified diff of the two JSON schemas ("" when equal)
    same_requests: bool = False  # system + user templates, params and schema all equal

    @property
    def identical(self) -> bool:
        return self.hash_a == self.hash_b

    def to_dict(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "hash_a": self.hash_a,
            "hash_b": self.hash_b,
            "identical": self.identical,
            "same_requests": self.same_requests,
            "params": {k: list(v) for k, v in self.params.items()},
            "meta": {k: list(v) for k, v in self.meta.items()},
            "output": list(self.output) if self.output else None,
            "text_diff": self.text_diff,
            "schema_diff": self.schema_diff,
        }


def expand_ref(ref: str, like: str) -> str:
    """``"2"``, ``"v2"`` or ``"@2"`` next to ``score@1`` means ``score@2``."""
    bare = ref.lstrip("@")
    if "@" not in ref or ref.startswith("@"):
        if bare.lstrip("v").isdigit():
            return f"{parse_ref(like)[0]}@{bare.lstrip('v')}"
    return ref


def file_or_stored(ref: str, engine: Engine | None = None) -> Prompt:
    """The prompt file for ``ref``; else the text stored when that version was used."""
    try:
        return load_prompt(ref)
    except PromptError:
        if engine is None:
            raise
        name, version = parse_ref(ref)
        with engine.connect() as conn:
            stored = stored_text(conn, name, str(version))
        if stored is None:
            raise
        return parse_prompt(stored, f"{ref} (stored text)")


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").splitlines(keepends=True)


def _unified(a: str, b: str, name_a: str, name_b: str, context: int = 3) -> str:
    diff = difflib.unified_diff(_lines(a), _lines(b), fromfile=name_a, tofile=name_b, n=context)
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff)


def diff_prompts(ref_a: str, ref_b: str, *, engine: Engine | None = None, context: int = 3) -> PromptDiff:
    a = file_or_stored(ref_a, engine)
    b = file_or_stored(expand_ref(ref_b, a.ref), engine)
    params_a, params_b = a.meta.params.model_dump(), b.meta.params.model_dump()
    params = {
        k: (params_a.get(k), params_b.get(k))
        for k in sorted(set(params_a) | set(params_b))
        if params_a.get(k) != params_b.get(k)
    }
    meta = {
        k: (getattr(a.meta, k), getattr(b.meta, k))
        for k in ("description", "variables")
        if getattr(a.meta, k) != getattr(b.meta, k)
    }
    schema_a = json.dumps(strict_json_schema(a.output_model), indent=2, sort_keys=True) + "\n"
    schema_b = json.dumps(strict_json_schema(b.output_model), indent=2, sort_keys=True) + "\n"
    return PromptDiff(
        a=a.ref,
        b=b.ref,
        hash_a=a.content_hash,
        hash_b=b.content_hash,
        text_diff=_unified(a.text, b.text, f"{a.ref} ({a.path})", f"{b.ref} ({b.path})", context),
        params=params,
        meta=meta,
        output=(a.meta.output, b.meta.output) if a.meta.output != b.meta.output else None,
        schema_diff=_unified(schema_a, schema_b, f"{a.ref} output schema", f"{b.ref} output schema", context),
        same_requests=(a.system == b.system and a.user == b.user and params_a == params_b and schema_a == schema_b),
    )


def render_text(d: PromptDiff) -> str:
    """The diff as plain text (what ``annotator prompts diff`` prints)."""
    out = [f"# {d.a} ({d.hash_a[:12]}) -> {d.b} ({d.hash_b[:12]})"]
    if d.identical:
        out.append("the two files are identical")
    if d.params:
        out.append("## params")
        out += [f"  {k}: {va!r} -> {vb!r}" for k, (va, vb) in d.params.items()]
    else:
        out.append("## params: unchanged")
    for k, (va, vb) in d.meta.items():
        out.append(f"## {k}: {va!r} -> {vb!r}")
    if d.output:
        out.append(f"## output: {d.output[0]} -> {d.output[1]}")
    if d.schema_diff:
        out.append("## output schema")
        out.append(d.schema_diff.rstrip("\n"))
    else:
        out.append("## output schema: unchanged")
    if d.text_diff:
        out.append("## text")
        out.append(d.text_diff.rstrip("\n"))
    out.append(
        "requests: "
        + (
            f"identical: re-scoring with {d.b} is answered from stored calls of {d.a}"
            if d.same_requests
            else f"{d.b} sends different requests; re-scoring calls the model"
        )
    )
    return "\n".join(out) + "\n"
