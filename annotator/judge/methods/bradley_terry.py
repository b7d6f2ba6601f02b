"""Bradley-Terry strengths from paired comparisons, with a position (order) effect.

P(first shown wins) = sigmoid(s_first - s_second + gamma). Strengths are fitted
by maximum likelihood (``scipy.optimize``) with a small Gaussian prior on every
free strength and on ``gamma``, so a paper that wins (or loses) every
comparison still gets a finite strength. Some strengths may be pinned to known
values (anchor papers placed by their human scores); then the free ones land
on the same scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit


@dataclass(frozen=True)
class Comparison:
    first: int  # index of the item shown first (as "A")
    second: int
    first_won: bool


@dataclass(frozen=True)
class BTFit:
    strengths: np.ndarray
    position_bias: float  # gamma, in logits: > 0 means the first shown is favoured


def fit_bradley_terry(n_items: int, comparisons: list[Comparison], *,
                      fixed: dict[int, float] | None = None, prior_sd: float = 3.0,
                      position: bool = True) -> BTFit:
    """Strengths of ``n_items`` (free ones centred by the prior) and the order effect."""
    fixed = fixed or {}
    free = [i for i in range(n_items) if i not in fixed]
    first = np.array([c.first for c in comparisons], dtype=int)
    second = np.array([c.second for c in comparisons], dtype=int)
    won = np.array([c.first_won for c in comparisons], dtype=float)
    base = np.zeros(n_items)
    for i, v in fixed.items():
        base[i] = v

    def unpack(x: np.ndarray) -> tuple[np.ndarray, float]:
        s = base.copy()
        s[free] = x[: len(free)]
        return s, (float(x[-1]) if position else 0.0)

    def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
        s, gamma = unpack(x)
        z = s[first] - s[second] + gamma
        ll = won * log_expit(z) + (1 - won) * log_expit(-z)
        resid = won - expit(z)  # d ll / d z
        grad_s = np.zeros(n_items)
        np.add.at(grad_s, first, resid)
        np.add.at(grad_s, second, -resid)
        g = -grad_s[free] + x[: len(free)] / prior_sd ** 2
        value = -ll.sum() + (x ** 2).sum() / (2 * prior_sd ** 2)
        if position:
            g = np.append(g, -resid.sum() + x[-1] / prior_sd ** 2)
        return float(value), g

    x0 = np.zeros(len(free) + (1 if position else 0))
    if len(x0) == 0:
        return BTFit(base, 0.0)
    result = minimize(loss, x0, jac=True, method="L-BFGS-B")
    strengths, gamma = unpack(result.x)
    return BTFit(strengths, gamma)


def place_on_scale(strength: float, anchor_strengths: np.ndarray, anchor_gold: np.ndarray) -> float:
    """The gold value at ``strength``: the least-squares line from anchor strengths to their
    gold scores (a monotone map, so the ranking is the strengths' ranking)."""
    if np.ptp(anchor_strengths) == 0:
        return float(np.mean(anchor_gold))
    slope, intercept = np.polyfit(anchor_strengths, anchor_gold, 1)
    return float(slope * strength + intercept)
