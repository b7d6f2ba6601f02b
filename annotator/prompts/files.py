"""Versioned prompt files: ``prompts/<name>/v<version>.md``.

A file is YAML front matter between two lines that read ``---``, then a template with a
``[system]`` section and a ``[user]`` section. Variables are written
``$title`` / ``${abstract}`` (``string.Template``), so JSON braces in the text
need no escaping. Loading validates the front matter (unknown keys are
errors) and the template (every variable must be declared, every declared
variable used). The content hash is the sha256 of the file's text with line
endings normalised; it is what makes a stored judgment traceable to the exact
words the model saw.

Where prompt files are found (``prompt_dirs``, the one place that decides):

1. ``--prompts DIR`` or ``ANNOTATOR_PROMPTS``: that folder and nothing else. A named
   folder is a complete set, so a test, a CI job or a team's shared folder sees
   exactly the files it holds.
2. Otherwise ``./prompts`` when the current folder has one, then the defaults shipped
   in the package (``annotator/data/prompts``, which in a checkout is the
   repository's ``prompts/``). Both are read: a ``NAME/vN.md`` in ``./prompts``
   hides the packaged file of the same name and version, and the rest of the
   defaults stay available, so a project folder holds only the prompts it adds or
   changes.

``annotator prompts new NAME`` never writes into the installed package: it writes
to the named folder, else to ``./prompts/NAME/`` (created on demand), copying the
text of the latest version found (often the packaged one) with its version raised.
A changed text under a version the database has already used is refused by the
registry, so a local file cannot silently replace a packaged one that judged papers.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from string import Template
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from annotator.errors import PromptError
from annotator.packaged import data_path
from annotator.prompts.schema import output_model
from annotator.settings import current

PROMPTS_DIR = data_path("prompts")  # the defaults shipped in the package
LOCAL_DIR = "prompts"  # a project's own prompts, in the current folder
_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.M)


def _named_dir(override: str | os.PathLike | None) -> Path | None:
    named = override or current().prompts
    return Path(named) if named else None


def prompt_dirs(override: str | os.PathLike | None = None) -> list[Path]:
    """The folders prompt files are read from, first match first (see the module docstring)."""
    named = _named_dir(override)
    if named is not None:
        return [named]
    local = Path.cwd() / LOCAL_DIR
    if local.is_dir() and local.resolve() != PROMPTS_DIR:
        return [local, PROMPTS_DIR]
    return [PROMPTS_DIR]


def prompts_dir(override: str | os.PathLike | None = None) -> Path:
    """The folder ``prompts new`` writes to: the named one, else ``./prompts``, never the package."""
    named = _named_dir(override)
    if named is not None:
        return named
    local = Path.cwd() / LOCAL_DIR
    return PROMPTS_DIR if local.resolve() == PROMPTS_DIR else local


def _searched(override: str | os.PathLike | None) -> str:
    return ", ".join(str(d) for d in prompt_dirs(override))


class ModelParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(default=0.0, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int = Field(default=400, gt=0, le=32_000)
    seed: int | None = None


METHODS = ("direct", "expected", "pairwise", "tournament", "embedding-head", "text-head")
COMPARED = ("pairwise", "tournament")  # methods that compare two papers per call


class ScaleSpec(BaseModel):
    """The small score scale of ``expected``: every value one token (0-10 at most)."""

    model_config = ConfigDict(extra="forbid")

    min: int = Field(default=1, ge=0, le=9)
    max: int = Field(default=9, ge=1, le=10)


class AnchorSpec(BaseModel):
    """The anchor papers of ``pairwise`` and ``tournament``: K papers of a labelled suite, spread over its scores."""

    model_config = ConfigDict(extra="forbid")

    suite: str = Field(min_length=1)
    k: int = Field(default=8, ge=2, le=64)
    seed: int = 0


class RelatedSpec(BaseModel):
    """``$related``: the K most similar earlier papers in the database (TF-IDF)."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=5, ge=1, le=20)
    excerpt_chars: int = Field(default=300, ge=50, le=2000)


class PromptMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: int = Field(ge=1)
    description: str
    output: str = "judgment"
    variables: list[str]
    params: ModelParams = Field(default_factory=ModelParams)
    method: Literal["direct", "expected", "pairwise", "tournament", "embedding-head", "text-head"] = "direct"
    samples: int = Field(default=1, ge=1, le=50)
    rationale: Literal["first", "last"] = "last"
    scale: ScaleSpec | None = None
    anchors: AnchorSpec | None = None
    related: RelatedSpec | None = None
    # ``tournament``: comparisons each paper takes part in (it pays for about half of them)
    comparisons: int | None = Field(default=None, ge=2, le=64)

    @property
    def score_scale(self) -> tuple[int, int] | None:
        """The scale replies score on: the ``scale`` key, 1-9 for ``expected``, else 0-100."""
        if self.scale is not None:
            return (self.scale.min, self.scale.max)
        return (1, 9) if self.method == "expected" else None

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
    path: str | None = None

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
        return output_model(self.meta.output, self.meta.rationale, self.meta.score_scale)

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


def _where(path: str, line: int | None, field: str | None) -> str:
    """``path:line, field 'x'``, the way input errors name a place elsewhere."""
    where = f"{path}:{line}" if line is not None else path
    return f"{where}, field '{field}'" if field else where


def split_front_matter(text: str, path: str = "<string>") -> tuple[str, str]:
    """(front matter, body): the lines between the first two delimiter lines, and the rest.

    Delimiters are whole lines that read ``---`` (trailing blanks allowed); a ``---``
    inside a value such as the description is just text.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise PromptError(f"{_where(path, 1, None)}: must start with a '---' line opening the front matter")
    for i, line in enumerate(lines[1:], start=1):
        if line.rstrip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    raise PromptError(f"{_where(path, 1, None)}: front matter opened here is never closed by a line reading '---'")


def _key_path_at(front: str, index: int) -> str | None:
    """The dotted key (``params.temperature``) in force at 0-based front-matter line ``index``."""
    stack: list[tuple[int, str]] = []
    for line in front.splitlines()[: index + 1]:
        m = re.match(r"^(\s*)([A-Za-z_][\w-]*)\s*:", line)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
    return ".".join(key for _, key in stack) or None


def _key_line(front: str, loc: tuple[Any, ...]) -> int | None:
    """0-based front-matter line of the key at ``loc`` (or of its nearest present parent)."""
    node, line = yaml.compose(front), None
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
        if match is None:
            break
        line, node = match[0].start_mark.line, match[1]
    return line


def _load_front(front: str, path: str) -> PromptMeta:
    try:
        raw = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        # the construct the error is in (an unclosed "[", a quoted string) starts at the
        # context mark; the problem mark may be far below it, at the end of the front matter
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        index = mark.line if mark is not None else None
        field = _key_path_at(front, index) if index is not None else None
        reason = "; ".join(filter(None, (getattr(exc, "context", None), getattr(exc, "problem", None)))) or str(exc)
        raise PromptError(
            f"{_where(path, None if index is None else index + 2, field)}: front matter is not valid YAML: {reason}"
        ) from None
    if not isinstance(raw, dict):
        raise PromptError(f"{_where(path, 2, None)}: front matter must be a mapping of keys to values")
    try:
        return PromptMeta.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        index = _key_line(front, err["loc"])
        msg = "required key is missing" if err["type"] == "missing" else err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        line = 1 if index is None else index + 2
        raise PromptError(f"{_where(path, line, field)}: {msg}") from None


def _check_method(meta: PromptMeta, front: str, path: str) -> None:
    """What one key of the front matter asks of another (method, scale, anchors, related)."""

    def fail(key: str, msg: str) -> None:
        index = _key_line(front, (key,))
        raise PromptError(f"{_where(path, 1 if index is None else index + 2, key)}: {msg}")

    if meta.scale is not None and meta.scale.min >= meta.scale.max:
        fail("scale", f"min ({meta.scale.min}) must be below max ({meta.scale.max})")
    if meta.method in COMPARED:
        m = meta.method
        if meta.anchors is None:
            fail("method", f"method '{m}' needs an 'anchors' key: {{suite: NAME, k: 8, seed: 0}}")
        if meta.output != "pairwise":
            fail("output", f"method '{m}' needs 'output: pairwise' (A or B per comparison)")
        need = {"title_a", "abstract_a", "title_b", "abstract_b"}
        if not need <= set(meta.variables):
            fail("variables", f"method '{m}' needs the variables {', '.join(sorted(need))}")
    else:
        if meta.anchors is not None:
            fail("anchors", f"'anchors' is for method 'pairwise' or 'tournament', not '{meta.method}'")
        if meta.output == "pairwise":
            fail("output", f"'output: pairwise' is for method 'pairwise' or 'tournament', not '{meta.method}'")
    if meta.comparisons is not None and meta.method != "tournament":
        fail("comparisons", f"'comparisons' is for method 'tournament', not '{meta.method}'")
    if meta.scale is not None and meta.method not in ("expected", "direct"):
        fail("scale", f"'scale' is for methods 'expected' and 'direct', not '{meta.method}'")
    if "related" in meta.variables and meta.related is None:
        meta.related = RelatedSpec()  # $related with the default K
    if meta.related is not None and "related" not in meta.variables:
        fail("related", "'related' is set but the template has no $related variable")


def parse_prompt(text: str, path: str = "<string>") -> Prompt:
    front, body = split_front_matter(text, path)
    meta = _load_front(front, path)
    _check_method(meta, front, path)

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
    return Prompt(
        meta=meta,
        system=sections["system"],
        user=sections["user"],
        text=text,
        content_hash=content_hash(text),
        path=path,
    )


def load_prompt_file(path: Path) -> Prompt:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: cannot read: {exc}") from None
    prompt = parse_prompt(text, str(path))
    expected = f"v{prompt.version}.md"
    if path.name != expected or path.parent.name != prompt.name:
        raise PromptError(f"{path}: front matter says {prompt.ref}; the file should be {prompt.name}/{expected}")
    return prompt


def list_prompts(directory: Path | None = None) -> list[Prompt]:
    """Every prompt version in the prompt folders; a file in an earlier folder hides a later one."""
    found: dict[tuple[str, int], Prompt] = {}
    for folder in prompt_dirs(directory):
        for path in sorted(folder.glob("*/v*.md")):
            prompt = load_prompt_file(path)
            found.setdefault((prompt.name, prompt.version), prompt)
    return sorted(found.values(), key=lambda p: (p.name, p.version))


def parse_ref(ref: str) -> tuple[str, int | None]:
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
    if version is not None:
        for folder in prompt_dirs(directory):
            path = folder / name / f"v{version}.md"
            if path.exists():
                return load_prompt_file(path)
        raise PromptError(f"no prompt file {name}/v{version}.md in {_searched(directory)}")
    versions = [p for p in list_prompts(directory) if p.name == name]
    if not versions:
        raise PromptError(f"no prompt named '{name}' in {_searched(directory)}")
    return versions[-1]
