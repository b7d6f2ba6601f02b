"""Versioned prompt files: ``prompts/<name>/v<version>.md``.

A file is YAML front matter between ``---`` lines, then a template with a
``[system]`` section and a ``[user]`` section. Variables are written
``$title`` / ``${abstract}`` (``string.Template``), so JSON braces in the text
need no escaping. Loading validates the front matter (unknown keys are
errors) and the template (every variable must be declared, every declared
variable used). The content hash is the sha256 of the file's text with line
endings normalised; it is what makes a stored judgment traceable to the exact
words the model saw.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from string import Template
from typing import Any, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from annotator.errors import PromptError
from annotator.judgment import output_model

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.M)


def prompts_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get("ANNOTATOR_PROMPTS") or PROMPTS_DIR)


class ModelParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(default=0.0, ge=0, le=2)
    top_p: Optional[float] = Field(default=None, gt=0, le=1)
    max_tokens: int = Field(default=400, gt=0, le=32_000)
    seed: Optional[int] = None


class PromptMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: int = Field(ge=1)
    description: str
    output: str = "judgment"
    variables: list[str]
    params: ModelParams = Field(default_factory=ModelParams)

    @field_validator("output")
    @classmethod
    def _known_output(cls, value: str) -> str:
        output_model(value)
        return value


class Prompt(BaseModel):
    """A loaded, validated prompt version."""

    meta: PromptMeta
    system: str
    user: str
    text: str
    content_hash: str
    path: Optional[str] = None

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def version(self) -> int:
        return self.meta.version

    @property
    def ref(self) -> str:
        return f"{self.meta.name}@{self.meta.version}"

    @property
    def output_model(self):
        return output_model(self.meta.output)

    def render(self, **values: Any) -> list[dict]:
        missing = [v for v in self.meta.variables if v not in values]
        if missing:
            raise PromptError(f"{self.ref}: no value for variable(s) {', '.join(missing)}")
        clean = {k: str(v) for k, v in values.items()}
        return [
            {"role": "system", "content": Template(self.system).substitute(clean)},
            {"role": "user", "content": Template(self.user).substitute(clean)},
        ]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def parse_prompt(text: str, path: str = "<string>") -> Prompt:
    if not text.startswith("---"):
        raise PromptError(f"{path}: must start with '---' front matter")
    try:
        _, front, body = text.split("---", 2)
    except ValueError:
        raise PromptError(f"{path}: front matter is not closed with '---'") from None
    try:
        raw = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: front matter is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise PromptError(f"{path}: front matter must be a mapping")
    try:
        meta = PromptMeta.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise PromptError(f"{path}: front matter field '{field}': {err['msg']}") from None

    parts = _SECTION.split(body)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if set(sections) != {"system", "user"}:
        raise PromptError(f"{path}: needs exactly one [system] and one [user] section")

    used: set[str] = set()
    for name, section in sections.items():
        template = Template(section)
        if not template.is_valid():
            raise PromptError(f"{path}: [{name}] has a malformed $ placeholder (write $$ for a dollar)")
        used.update(template.get_identifiers())
    declared = set(meta.variables)
    if used - declared:
        raise PromptError(f"{path}: template uses undeclared variable(s): {', '.join(sorted(used - declared))}")
    if declared - used:
        raise PromptError(f"{path}: declared variable(s) never used: {', '.join(sorted(declared - used))}")
    return Prompt(meta=meta, system=sections["system"], user=sections["user"], text=text,
                  content_hash=content_hash(text), path=path)


def load_prompt_file(path: Path) -> Prompt:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: cannot read: {exc}") from None
    prompt = parse_prompt(text, str(path))
    expected = f"v{prompt.version}.md"
    if path.name != expected or path.parent.name != prompt.name:
        raise PromptError(
            f"{path}: front matter says {prompt.ref}; the file should be {prompt.name}/{expected}"
        )
    return prompt


def list_prompts(directory: Path | None = None) -> list[Prompt]:
    directory = prompts_dir(directory)
    found = [load_prompt_file(p) for p in sorted(directory.glob("*/v*.md"))]
    return sorted(found, key=lambda p: (p.name, p.version))


def parse_ref(ref: str) -> tuple[str, Optional[int]]:
    """``"score@2"`` -> ("score", 2); ``"score"`` -> ("score", None)."""
    name, _, version = ref.partition("@")
    if not version:
        return name, None
    try:
        return name, int(version.lstrip("v"))
    except ValueError:
        raise PromptError(f"bad prompt reference '{ref}': expected NAME@VERSION, e.g. score@2") from None


def load_prompt(ref: str, directory: Path | None = None) -> Prompt:
    """Load ``NAME@VERSION``; without a version, the latest file of that name."""
    name, version = parse_ref(ref)
    folder = prompts_dir(directory) / name
    if version is not None:
        path = folder / f"v{version}.md"
        if not path.exists():
            raise PromptError(f"no prompt file {path}")
        return load_prompt_file(path)
    versions = [p for p in list_prompts(directory) if p.name == name]
    if not versions:
        raise PromptError(f"no prompt named '{name}' in {prompts_dir(directory)}")
    return versions[-1]
