"""The structured output every model reply must validate against."""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from annotator.errors import PromptError


class JudgmentReply(BaseModel):
    """One model judgment of one abstract, as the model replies it (stored as ``db.models.Judgment``)."""

    # the schema keeps its first title: it is part of every request (and so of the cache key)
    model_config = ConfigDict(extra="forbid", title="Judgment")

    ai_score: int = Field(ge=0, le=100, strict=True, description="Overall quality and likely impact, 0-100.")
    novelty: int = Field(ge=0, le=100, strict=True, description="How new the contribution is, 0-100 percent.")
    rationale: str = Field(min_length=1, max_length=1200, description="Two or three sentences explaining the scores.")


OUTPUT_SCHEMAS: dict[str, type[BaseModel]] = {"judgment": JudgmentReply}

RUBRIC_CRITERIA = {
    "significance": "Does the problem matter; would a good solution change what others do?",
    "originality": "Is the idea, method or finding new rather than an incremental variant?",
    "soundness": "Do the claims look supported by the evidence the abstract describes?",
    "clarity": "Is the contribution stated precisely?",
}
_RATIONALE = "Two or three sentences explaining the scores."
# output schemas built from the front matter's choices (rationale first or last, the scale)
BUILT_OUTPUTS = ("judgment", "rubric", "pairwise")


def _score(scale: tuple[int, int] | None, what: str) -> Any:
    low, high = scale or (0, 100)
    unit = "percent" if what == "novelty" and scale is None else "points"
    text = {"ai_score": "Overall quality and likely impact.", "novelty": "How new the contribution is."}.get(
        what, RUBRIC_CRITERIA.get(what, what)
    )
    return (int, Field(ge=low, le=high, strict=True, description=f"{text} {low}-{high} {unit}."))


@functools.lru_cache(maxsize=64)
def _built_model(name: str, rationale: str, scale: tuple[int, int] | None) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    if name == "pairwise":
        fields["better"] = (Literal["A", "B"], Field(description="The paper of higher overall quality."))
        fields["more_novel"] = (Literal["A", "B"], Field(description="The paper that is more novel."))
    else:
        if name == "rubric":
            fields.update({c: _score(scale, c) for c in RUBRIC_CRITERIA})
        fields["ai_score"] = _score(scale, "ai_score")
        fields["novelty"] = _score(scale, "novelty")
    reason = (str, Field(min_length=1, max_length=1200, description=_RATIONALE))
    if rationale == "first":
        fields = {"rationale": reason, **fields}
    else:
        fields["rationale"] = reason
    title = {"judgment": "Judgment", "rubric": "Rubric", "pairwise": "Comparison"}[name]
    model: type[BaseModel] = create_model(f"{title}Reply", __config__=ConfigDict(extra="forbid", title=title), **fields)
    return model


def output_model(name: str, rationale: str = "last", scale: tuple[int, int] | None = None) -> type[BaseModel]:
    """The reply model of output schema ``name``, the rationale first or last, scores on ``scale``.

    Today's ``judgment`` (rationale last, 0-100) is ``JudgmentReply`` itself, so its
    requests, and the cache keys made from them, stay what they were.
    """
    if rationale == "last" and scale is None and name in OUTPUT_SCHEMAS:
        return OUTPUT_SCHEMAS[name]
    if name not in BUILT_OUTPUTS:
        known = sorted(set(OUTPUT_SCHEMAS) | set(BUILT_OUTPUTS))
        raise PromptError(f"unknown output schema '{name}'; known: {', '.join(known)}")
    return _built_model(name, rationale, scale)


def strict_json_schema(model: type[BaseModel]) -> dict:
    """The model's JSON schema in the shape OpenAI's strict mode accepts (a fresh copy)."""
    return json.loads(_strict_schema_text(model))


@functools.lru_cache(maxsize=64)
def _strict_schema_text(model: type[BaseModel]) -> str:
    # built once per output model: pydantic's schema generation costs about 0.4 ms,
    # which was a third of the time of a request answered from stored calls
    schema = model.model_json_schema()
    schema["additionalProperties"] = False
    schema["required"] = list(schema["properties"])
    for prop in schema["properties"].values():
        prop.pop("title", None)
    schema.pop("title", None)
    return json.dumps(schema)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def extract_json(text: str) -> str:
    """The JSON object in a reply, tolerating code fences and prose around it."""
    text = text.strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    if text.startswith("{"):
        return text
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        return text[start : end + 1]
    return text


def parse_reply(text: str | None, model: type[BaseModel] = JudgmentReply) -> BaseModel:
    """Validate a reply; raises ``ValueError`` with a short reason on failure."""
    if text is None or not text.strip():
        raise ValueError("empty reply")
    payload = extract_json(text)
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise ValueError(problems) from None


def validation_feedback(reason: str, model: type[BaseModel] = JudgmentReply) -> str:
    if model is JudgmentReply:
        keys = "the keys ai_score (integer 0-100), novelty (integer 0-100) and rationale (a short string)"
    else:
        keys = "the keys " + ", ".join(
            f"{k} ({v.get('description', v.get('type', 'value'))})"
            for k, v in strict_json_schema(model)["properties"].items()
        )
    return (
        f"Your previous reply was rejected: {reason}. Reply again with only one JSON "
        f"object with {keys}, and nothing else."
    )


def dumps(model: BaseModel) -> str:
    return json.dumps(model.model_dump(), ensure_ascii=False)
