"""The suite types: a suite file's settings (:class:`Suite`) and one labelled paper
(:class:`EvalItem`). Leaf module: reading, sampling and scoring live elsewhere."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldNames(_Strict):
    id: str = "id"
    title: str = "title"
    abstract: str = "abstract"
    venue: str | None = "venue"
    year: str | None = "year"
    decision: str | None = None


class LabelFields(_Strict):
    gold: str
    scale: tuple[float, float]
    reviewers: str | None = None

    @field_validator("scale")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError("scale must be [low, high] with low < high")
        return v


class CitationFields(_Strict):
    field: str = "citations"
    zero_is_missing: bool = True  # a count of 0 is mostly a failed lookup


class Suite(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    data: str = Field(min_length=1)
    sample_size: int | None = Field(default=100, ge=1)
    seed: int = 0
    fields: FieldNames = FieldNames()
    ai: LabelFields
    novelty: LabelFields | None = None
    citations: CitationFields | None = None
    thresholds: dict[str, float] = {}
    _path: Path | None = PrivateAttr(default=None)  # the TOML file, set by load_suite

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def base_dir(self) -> Path:
        """The folder relative data paths start from: the suite file's, else the CWD."""
        return self.path.resolve().parent if self.path else Path.cwd()

    @property
    def data_path(self) -> Path:
        return resolve_data_path(self.data, self.base_dir)


def resolve_data_path(data: str, base_dir: Path) -> Path:
    p = Path(data).expanduser()
    return p if p.is_absolute() else (base_dir / p).resolve()


class EvalItem(BaseModel):
    """One labelled paper. Gold labels are on their own scale (e.g. rating 1-10)."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    abstract: str
    gold_ai: float | None = None
    gold_novelty: float | None = None
    ai_reviewers: tuple[float, ...] = ()
    novelty_reviewers: tuple[float, ...] = ()
    accepted: bool | None = None
    venue: str | None = None
    year: int | None = None
    citations: float | None = None

    @property
    def text(self) -> str:
        """Title and abstract, the text the TF-IDF baseline reads."""
        return f"{self.title}. {self.abstract}" if self.title else self.abstract
