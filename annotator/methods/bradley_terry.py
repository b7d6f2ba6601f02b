"""Bradley-Terry strengths from paired comparisons, with a position (order) effect.

P(first shown wins) = sigmoid(s_first - s_second + gamma). Strengths are fitted
by maximum likelihood (``scipy.optimize``) with a small Gaussian prior on every
free strength and on ``gamma``, so a paper that wins (or loses) every
comparison still gets a finite strength. Some strengths may be pinned to known
values (anchor papers placed by their human scores); then the free ones land
on the same scale. With ``scaled=True`` the pinned values are positions on the
human scale up to a unit that is fitted too (one slope for all of them): anchors keep
their order and spacing, and the data say how many logits one unit is.

``choix`` was considered and not used: it has no order effect and cannot pin strengths,
and both are what the anchored methods need; the fit below is a few dozen lines of
``scipy``. ``standard_errors`` gives intervals from the curvature of the same objective
(a Laplace approximation), and ``place_item`` places one new item against items whose
strengths are held where the last fit put them (a cheap, incremental placement).
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
    scale: float = 1.0  # logits per unit of the pinned values (fitted when ``scaled``)
    se: np.ndarray | None = None  # standard errors of the strengths (``standard_errors``)


def fit_bradley_terry(
    n_items: int,
    comparisons: list[Comparison],
    *,
    fixed: dict[int, float] | None = None,
    prior_sd: float = 3.0,
    position: bool = True,
    scaled: bool = False,
    start: np.ndarray | None = None,
    errors: bool = False,
) -> BTFit:
    """Strengths of ``n_items`` (free ones centred by the prior) and the order effect.

    ``scaled``: a pinned item's strength is ``scale * fixed[i]`` with ``scale`` fitted
    (prior N(1, prior_sd), kept positive). ``start``: strengths to begin from (a warm
    start from the last fit). ``errors``: also the strengths' standard errors.
    """
    fixed = fixed or {}
    free = [i for i in range(n_items) if i not in fixed]
    pinned = np.array(sorted(fixed), dtype=int)
    pinned_values = np.array([fixed[i] for i in pinned], dtype=float)
    first = np.array([c.first for c in comparisons], dtype=int)
    second = np.array([c.second for c in comparisons], dtype=int)
    won = np.array([c.first_won for c in comparisons], dtype=float)
    nf = len(free)
    slope_at = nf if scaled else None

    def unpack(x: np.ndarray) -> tuple[np.ndarray, float, float]:
        scale = float(x[nf]) if scaled else 1.0
        s = np.zeros(n_items)
        s[pinned] = scale * pinned_values
        s[free] = x[:nf]
        return s, (float(x[-1]) if position else 0.0), scale

    def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
        s, gamma, scale = unpack(x)
        z = s[first] - s[second] + gamma
        ll = won * log_expit(z) + (1 - won) * log_expit(-z)
        resid = won - expit(z)  # d ll / d z
        grad_s = np.zeros(n_items)
        np.add.at(grad_s, first, resid)
        np.add.at(grad_s, second, -resid)
        prior = x.copy()
        if slope_at is not None:
            prior[slope_at] -= 1.0  # the unit's prior is centred on 1
        g = (
            np.concatenate(
                [-grad_s[free]]
                + ([[-float(grad_s[pinned] @ pinned_values)]] if scaled else [])
                + ([[-resid.sum()]] if position else [])
            )
            + prior / prior_sd**2
        )
        value = -ll.sum() + (prior**2).sum() / (2 * prior_sd**2)
        return float(value), g

    x0 = np.zeros(nf + (1 if scaled else 0) + (1 if position else 0))
    if start is not None:
        x0[:nf] = np.asarray(start, dtype=float)[free]
    if scaled:
        x0[nf] = 1.0
    if len(x0) == 0:
        s, _, _ = unpack(x0)
        return BTFit(s, 0.0)
    bounds: list[tuple[float | None, float | None]] = [(None, None)] * len(x0)
    if scaled:
        bounds[nf] = (0.05, None)
    result = minimize(loss, x0, jac=True, method="L-BFGS-B", bounds=bounds)
    strengths, gamma, scale = unpack(result.x)
    fit = BTFit(strengths, gamma, scale)
    if errors:
        fit = BTFit(
            strengths,
            gamma,
            scale,
            standard_errors(fit, comparisons, fixed, prior_sd=prior_sd, position=position, scaled=scaled),
        )
    return fit


MAX_DENSE = 3000  # above this many parameters, the diagonal of the curvature only


def standard_errors(
    fit: BTFit,
    comparisons: list[Comparison],
    fixed: dict[int, float],
    *,
    prior_sd: float = 3.0,
    position: bool = True,
    scaled: bool = False,
) -> np.ndarray:
    """Standard errors of ``fit.strengths`` from the inverse curvature of the objective.

    Each comparison adds ``p (1 - p)`` times the outer product of its gradient in the
    parameters (free strengths, the unit when ``scaled``, gamma). Up to ``MAX_DENSE``
    parameters the full inverse is taken; beyond, each item's own curvature (errors
    then come out somewhat small). A pinned item's error is its share of the unit's.
    """
    n = len(fit.strengths)
    free = [i for i in range(n) if i not in fixed]
    column = {item: k for k, item in enumerate(free)}
    nf = len(free)
    n_params = nf + (1 if scaled else 0) + (1 if position else 0)
    if not comparisons or n_params == 0:
        return np.full(n, prior_sd)
    first = np.array([c.first for c in comparisons], dtype=int)
    second = np.array([c.second for c in comparisons], dtype=int)
    p = expit(fit.strengths[first] - fit.strengths[second] + fit.position_bias)
    w = p * (1 - p)
    idx = np.zeros((len(comparisons), 3), dtype=int)
    coef = np.zeros((len(comparisons), 3))
    for slot, (items, sign) in enumerate(((first, 1.0), (second, -1.0))):
        for row, item in enumerate(items):
            item = int(item)
            if item in column:
                idx[row, slot], coef[row, slot] = column[item], sign
            elif scaled:
                idx[row, slot], coef[row, slot] = nf, sign * fixed[item]
    if position:
        idx[:, 2], coef[:, 2] = n_params - 1, 1.0
    h = np.eye(n_params) / prior_sd**2
    for a in range(3):
        for b in range(3):
            np.add.at(h, (idx[:, a], idx[:, b]), w * coef[:, a] * coef[:, b])
    if n_params <= MAX_DENSE:
        var = np.diag(np.linalg.inv(h))
    else:
        var = 1.0 / np.diag(h)
    se = np.zeros(n)
    se[free] = np.sqrt(var[:nf])
    if scaled:
        for item, value in fixed.items():
            se[item] = abs(value) * float(np.sqrt(var[nf]))
    return se


def place_item(
    opponents: np.ndarray,
    me_first: np.ndarray,
    me_won: np.ndarray,
    gamma: float,
    *,
    prior_sd: float = 3.0,
    steps: int = 50,
) -> tuple[float, float]:
    """(strength, standard error) of one item from its comparisons with items held fixed.

    ``opponents``: the other items' strengths; ``me_first``: whether the item was shown
    first; ``me_won``: whether it was preferred. Newton's method on the same objective
    as the full fit (one free strength, prior N(0, prior_sd)).
    """
    sign = np.where(me_first, 1.0, -1.0)
    s = 0.0
    info = 1.0 / prior_sd**2
    for _ in range(steps):
        p_me = expit(s - opponents + sign * gamma)
        grad = float(np.sum(me_won - p_me)) - s / prior_sd**2
        info = float(np.sum(p_me * (1 - p_me))) + 1.0 / prior_sd**2
        step = grad / info
        s += step
        if abs(step) < 1e-8:
            break
    return s, float(1.0 / np.sqrt(info))


def place_on_scale(strength: float, anchor_strengths: np.ndarray, anchor_gold: np.ndarray) -> float:
    """The gold value at ``strength``: the least-squares line from anchor strengths to their
    gold scores (a monotone map, so the ranking is the strengths' ranking)."""
    if np.ptp(anchor_strengths) == 0:
        return float(np.mean(anchor_gold))
    slope, intercept = np.polyfit(anchor_strengths, anchor_gold, 1)
    return float(slope * strength + intercept)
