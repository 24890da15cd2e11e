"""Portfolio constraints: one frozen dataclass, resolved against the assets of a problem.

Every problem function accepts the fields of :class:`Constraints` as keyword
options (``min_variance(cov, upper=0.1, groups=sectors, group_upper=0.3)``) or a
ready ``constraints=Constraints(...)``. Linear constraints (budget, bounds,
groups, ESG floor, exclusions) go to the exact active-set QP solver; turnover,
transaction costs, tracking error and gross leverage need the conic solver
(cvxpy).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..errors import ValidationError
from ._inputs import per_asset

__all__ = ["Constraints", "Spec", "resolve"]


@dataclass(frozen=True)
class Constraints:
    """Constraints on the weights ``w`` of one portfolio (all fractions of capital).

    Parameters
    ----------
    lower, upper : float, array-like or mapping of asset id to float
        Per-asset bounds (default long-only, ``0 <= w <= 1``). A mapping may
        name a subset of the assets; the rest keep the default.
    budget : float, default 1.0
        ``sum(w) == budget`` (exact in the result).
    groups : sequence or mapping of asset id to label, optional
        A group label (sector, country, ...) per asset.
    group_lower, group_upper : float or mapping of label to float, optional
        Floors and caps on the total weight of each group; a float applies to
        every group.
    esg_scores : array-like or mapping, optional
        ESG score per asset; with ``min_esg`` the portfolio score
        ``esg_scores @ w / budget`` must be at least ``min_esg``.
    min_esg : float, optional
    exclude : sequence of asset ids, optional
        Assets forced to zero weight (ESG exclusions, restricted lists).
    current : array-like or mapping, optional
        Current weights, the reference for ``max_turnover``, ``costs`` and the
        reported turnover.
    max_turnover : float, optional
        ``sum |w - current| <= max_turnover``.
    costs : float, array-like or mapping, optional
        Linear transaction cost per unit traded, ``costs @ |w - current|``,
        added to the objective (subtracted from return).
    benchmark : array-like or mapping, optional
        Benchmark weights, with ``max_tracking_error``:
        ``sqrt((w - b)' Sigma (w - b)) <= max_tracking_error``.
    max_tracking_error : float, optional
    l2 : float, default 0.0
        L2 regularization ``l2 * ||w||^2`` added to the objective.
    max_leverage : float, optional
        Gross exposure ``sum |w| <= max_leverage`` (long/short portfolios).
    max_holdings : int, optional
        At most this many nonzero weights.
    min_position : float, optional
        A held asset has ``|w| >= min_position``.
    min_risk_contribution, max_risk_contribution : float, array-like or mapping, optional
        Bounds on each asset's share of portfolio variance,
        :math:`RC_i = w_i (\\Sigma w)_i / w^\\top \\Sigma w` (fractions; the shares
        sum to one). A mapping may name a subset of the assets.

    Notes
    -----
    ``max_holdings`` and ``min_position`` are combinatorial. With no
    mixed-integer solver in the default install they are met by a documented
    greedy heuristic: solve, drop the smallest positions (those beyond the
    ``max_holdings`` largest, or below ``min_position``) by fixing them at zero,
    and re-solve until the rule holds. The answer is feasible but not
    guaranteed optimal. When a mixed-integer solver is installed for cvxpy
    (SCIP, GUROBI, MOSEK, CPLEX, XPRESS or COPT), ``solver="mixed_integer"``
    solves the exact mixed-integer problem instead.

    Risk-contribution bounds are not convex. They are met by sequential
    convex programming: at the current point :math:`w_k` each bound
    :math:`g_i(w) = w_i(\\Sigma w)_i - u_i w^\\top\\Sigma w \\le 0` is replaced by its
    linearization :math:`\\nabla g_i(w_k)^\\top w \\le g_i(w_k)` (exact at
    :math:`w_k`, since :math:`g_i` is homogeneous of degree two), a proximal
    term :math:`\\tfrac{\\rho}{2}\\lVert w - w_k\\rVert^2` is added to the
    objective, and the convex problem is re-solved until the point stops
    moving. The fixed point satisfies the KKT conditions of the original
    problem with the bounds met exactly; it is a local optimum, the global
    one when the problem is convex on the feasible set (e.g. bounds that pin
    down the risk-budgeting portfolio).

    Examples
    --------
    >>> from pmcore.optimize import Constraints
    >>> Constraints(upper=0.4, groups=["a", "a", "b"], group_upper={"a": 0.6}).upper
    0.4
    """

    lower: Any = 0.0
    upper: Any = 1.0
    budget: float = 1.0
    groups: Any = None
    group_lower: Any = None
    group_upper: Any = None
    esg_scores: Any = None
    min_esg: float | None = None
    exclude: Sequence = ()
    current: Any = None
    max_turnover: float | None = None
    costs: Any = None
    benchmark: Any = None
    max_tracking_error: float | None = None
    l2: float = 0.0
    max_leverage: float | None = None
    max_holdings: int | None = None
    min_position: float | None = None
    min_risk_contribution: Any = None
    max_risk_contribution: Any = None

    @classmethod
    def from_options(cls, constraints: "Constraints | None", options: dict) -> "Constraints":
        names = {f.name for f in fields(cls)}
        unknown = [k for k in options if k not in names]
        if unknown:
            raise ValidationError("is not a known option", argument=unknown[0],
                                  expected=f"one of {sorted(names)}")
        if constraints is None:
            return cls(**options)
        if not isinstance(constraints, cls):
            raise ValidationError("has the wrong type", argument="constraints",
                                  value=type(constraints).__name__, expected="a Constraints")
        if options:
            from dataclasses import replace

            return replace(constraints, **options)
        return constraints


@dataclass
class Spec:
    """Constraints resolved to arrays for one set of assets (internal)."""

    assets: tuple
    lo: np.ndarray
    hi: np.ndarray
    budget: float
    G: np.ndarray
    h: np.ndarray
    row_names: list
    row_families: list
    excluded: np.ndarray
    current: np.ndarray | None
    max_turnover: float | None
    costs: np.ndarray | None
    benchmark: np.ndarray | None
    max_tracking_error: float | None
    l2: float
    max_leverage: float | None
    max_holdings: int | None
    min_position: float | None
    lower_given: np.ndarray
    rc_lo: np.ndarray | None = None
    rc_hi: np.ndarray | None = None
    prox: float = 0.0  # proximal weight rho of the sequential convex steps (internal)
    prox_center: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.assets)

    @property
    def linear_only(self) -> bool:
        """True when the exact active-set QP solver handles every constraint."""
        lev = self.max_leverage is not None and (self.lo < 0).any()
        return (self.max_turnover is None and self.costs is None and self.max_tracking_error is None
                and not lev)


def _nonneg(v: Any, arg: str, *, positive: bool = False) -> float | None:
    if v is None:
        return None
    f = float(v)
    if not np.isfinite(f) or f < 0 or (positive and f == 0):
        raise ValidationError("is out of range", argument=arg, value=v,
                              expected="a finite number > 0" if positive else "a finite number >= 0")
    return f


def _labels(groups: Any, assets: tuple) -> np.ndarray:
    pd = sys.modules.get("pandas")
    if isinstance(groups, Mapping) or (pd is not None and isinstance(groups, pd.Series)):
        items = dict(groups.items())
        missing = [a for a in assets if a not in items]
        if missing:
            raise ValidationError("misses an asset", argument="groups", value=missing[0],
                                  expected="a group label for every asset")
        return np.array([items[a] for a in assets], dtype=object)
    labels = np.asarray(list(groups), dtype=object)
    if labels.shape != (len(assets),):
        raise ValidationError("has the wrong length", argument="groups", value=len(labels),
                              expected=f"{len(assets)} labels, one per asset")
    return labels


def _group_limits(value: Any, arg: str, names: list) -> dict:
    if value is None:
        return {}
    if np.isscalar(value):
        return {g: float(value) for g in names}
    out = {}
    for k, v in dict(value).items():
        if k not in names:
            raise ValidationError("names an unknown group", argument=arg, value=k,
                                  expected=f"one of {names[:10]}")
        out[k] = float(v)
    return out


def resolve(c: Constraints, assets: tuple) -> Spec:
    """Check ``c`` against ``assets`` and return the array form."""
    n = len(assets)
    budget = float(c.budget)
    if not np.isfinite(budget):
        raise ValidationError("must be finite", argument="budget", value=c.budget)
    lo = per_asset(c.lower, "lower", assets, fill=0.0)
    hi = per_asset(c.upper, "upper", assets, fill=1.0)
    lower_given = lo.copy()
    for arr, arg in ((lo, "lower"), (hi, "upper")):
        if np.isnan(arr).any():
            raise ValidationError("holds NaN", argument=arg, expected="numbers")
    bad = np.flatnonzero(lo > hi)
    if len(bad):
        i = int(bad[0])
        raise ValidationError("is above the upper bound", argument="lower", column=str(assets[i]),
                              value=float(lo[i]), expected=f"<= upper = {hi[i]!r}",
                              hint="swap or widen the bounds")
    pos = {a: i for i, a in enumerate(assets)}
    excluded = np.zeros(n, bool)
    for a in c.exclude or ():
        if a not in pos:
            raise ValidationError("names an unknown asset", argument="exclude", value=a,
                                  expected=f"one of {list(assets)[:8]}")
        excluded[pos[a]] = True
    lo = np.where(excluded, 0.0, lo)
    hi = np.where(excluded, 0.0, hi)
    rows, h, names, fams = [], [], [], []
    if c.groups is not None:
        labels = _labels(c.groups, assets)
        gnames = list(dict.fromkeys(labels.tolist()))
        glo = _group_limits(c.group_lower, "group_lower", gnames)
        ghi = _group_limits(c.group_upper, "group_upper", gnames)
        for g in gnames:
            member = (labels == g).astype(np.float64)
            if g in ghi:
                rows.append(member)
                h.append(ghi[g])
                names.append(f"group_upper[{g}]")
                fams.append("group_upper")
            if g in glo:
                rows.append(-member)
                h.append(-glo[g])
                names.append(f"group_lower[{g}]")
                fams.append("group_lower")
            if g in glo and g in ghi and glo[g] > ghi[g]:
                raise ValidationError("is above the group cap", argument="group_lower", column=str(g),
                                      value=glo[g], expected=f"<= group_upper = {ghi[g]!r}")
    elif c.group_lower is not None or c.group_upper is not None:
        raise ValidationError("needs groups", argument="group_lower" if c.group_lower is not None
                              else "group_upper", hint="pass groups=<a label per asset>")
    if c.min_esg is not None:
        if c.esg_scores is None:
            raise ValidationError("needs esg_scores", argument="min_esg", hint="pass esg_scores=")
        esg = per_asset(c.esg_scores, "esg_scores", assets)
        rows.append(-esg)
        h.append(-float(c.min_esg) * budget)
        names.append("min_esg")
        fams.append("min_esg")
    G = np.array(rows, dtype=np.float64).reshape(len(rows), n)
    current = None if c.current is None else per_asset(c.current, "current", assets, fill=0.0)
    mt = _nonneg(c.max_turnover, "max_turnover")
    costs = None if c.costs is None else per_asset(c.costs, "costs", assets)
    if costs is not None and (costs < 0).any():
        raise ValidationError("must be >= 0", argument="costs", value=float(costs.min()))
    if (mt is not None or costs is not None) and current is None:
        current = np.zeros(n)
    bench = None if c.benchmark is None else per_asset(c.benchmark, "benchmark", assets, fill=0.0)
    te = _nonneg(c.max_tracking_error, "max_tracking_error")
    if te is not None and bench is None:
        raise ValidationError("needs a benchmark", argument="max_tracking_error", hint="pass benchmark=")
    l2 = _nonneg(c.l2, "l2") or 0.0
    lev = _nonneg(c.max_leverage, "max_leverage", positive=True)
    mh = None
    if c.max_holdings is not None:
        mh = int(c.max_holdings)
        if mh < 1:
            raise ValidationError("must be >= 1", argument="max_holdings", value=c.max_holdings)
    mp = _nonneg(c.min_position, "min_position")
    rc_lo = rc_hi = None
    if c.min_risk_contribution is not None:
        rc_lo = per_asset(c.min_risk_contribution, "min_risk_contribution", assets, fill=-np.inf)
        if (rc_lo > 1).any():
            i = int(np.argmax(rc_lo))
            raise ValidationError("is above 1", argument="min_risk_contribution", column=str(assets[i]),
                                  value=float(rc_lo[i]), expected="a share of variance <= 1")
    if c.max_risk_contribution is not None:
        rc_hi = per_asset(c.max_risk_contribution, "max_risk_contribution", assets, fill=np.inf)
        if (rc_hi <= 0).any():
            i = int(np.argmin(rc_hi))
            raise ValidationError("must be positive", argument="max_risk_contribution", column=str(assets[i]),
                                  value=float(rc_hi[i]), expected="a share of variance > 0")
    if rc_lo is not None and rc_hi is not None and (rc_lo > rc_hi).any():
        i = int(np.flatnonzero(rc_lo > rc_hi)[0])
        raise ValidationError("is above max_risk_contribution", argument="min_risk_contribution",
                              column=str(assets[i]), value=float(rc_lo[i]), expected=f"<= {rc_hi[i]!r}")
    return Spec(assets, lo, hi, budget, G, np.array(h, dtype=np.float64), names, fams, excluded,
                current, mt, costs, bench, te, l2, lev, mh, mp, lower_given, rc_lo, rc_hi)
