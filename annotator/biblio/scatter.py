"""Scatter plots for the bibliometrics report (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMES = {"papers": "score_vs_citations.png", "authors": "author_score_vs_hindex.png"}


@dataclass
class Points:
    """The pairs behind one correlation, kept for the plots."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    group: list[Any] = field(default_factory=list)
    x_label: str = ""
    y_label: str = ""


def _title(section: dict[str, Any]) -> str:
    if "pooled_within_year" in section:
        s = section["pooled_within_year"]
        what = "pooled within-year rank correlation"
    else:
        s, what = section, "Spearman"
    if s.get("rho") is None:
        return f"n = {section.get('n', 0)}: too few points for a correlation"
    ci = s.get("ci")
    return (
        f"{what} {s['rho']:+.3f}"
        + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "")
        + f", n = {section.get('n', s.get('n'))}"
    )


def scatter_plots(points_by_key: dict[str, Points], sections: dict[str, Any], folder: Path) -> list[str]:
    """One PNG per correlation that has a section in the report; returns the paths."""
    import matplotlib  # slow to import: only when plots are asked for

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for key, points in points_by_key.items():
        section = sections.get(key)
        if not section:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
        if points.group:
            years = sorted(set(points.group))
            cmap = plt.get_cmap("viridis", max(2, len(years)))
            for i, year in enumerate(years):
                xs = [x for x, g in zip(points.x, points.group) if g == year]
                ys = [y for y, g in zip(points.y, points.group) if g == year]
                ax.scatter(xs, ys, s=10, alpha=0.6, color=cmap(i), label=str(year))
            if len(years) <= 12:
                ax.legend(title="year", fontsize="small")
        else:
            ax.scatter(points.x, points.y, s=12, alpha=0.6)
        ax.set_xlabel(points.x_label)
        ax.set_ylabel(points.y_label)
        ax.set_title(_title(section), fontsize="medium")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        path = folder / NAMES.get(key, f"{key}.png")
        fig.savefig(path)
        plt.close(fig)
        written.append(str(path))
    return written
