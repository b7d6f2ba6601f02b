"""The structured output every model reply must validate against."""

from __future__ import annotations

import functools
import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from annotator.errors import PromptError


class JudgmentReply(BaseModel):
    """One model judgment of one abstract, as the model replies it (stored as ``db.models.Judgment``)."""

    # the schema keeps its first title: it is part of every request (and so of the cache key)
    model_config = ConfigDict(extra="forbid", title="Judgment")

    ai_score: int = Field(ge=0, le=100, strict=True,
                          description="Overall quality and likely impact, 0-100.")
    novelty: int = Field(ge=0, le=100, strict=True,
                         description="How new the contribution is, 0-100 percent.")
    rationale: str = Field(min_length=1, max_length=1200,
                           description="Two or three sentences explaining the scores.")


OUTPUT_SCHEMAS: dict[str, type[BaseModel]] = {"judgment": JudgmentReply}


def output_model(name: str) -> type[BaseModel]:
    try:
        return OUTPUT_SCHEMAS[name]
    except KeyError:
        raise PromptError(
            f"unknown output schema '{name}'; known: {', '.join(sorted(OUTPUT_SCHEMAS))}"
        ) from None


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
        return text[start:end + 1]
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
            f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise ValueError(problems) from None


def validation_feedback(reason: str) -> str:
    return (
        f"Your previous reply was rejected: {reason}. Reply again with only one JSON "
        f"object with the keys ai_score (integer 0-100), novelty (integer 0-100) and "
        f"rationale (a short string), and nothing else."
    )


def dumps(model: BaseModel) -> str:
    return json.dumps(model.model_dump(), ensure_ascii=False)
