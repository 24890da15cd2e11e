"""Optimal rebalancing: trade off tracking error to the target against transaction costs.

One convex problem per portfolio, solved by :func:`pmcore.optimize.max_utility`
(cvxpy, the ``optimize`` extra, when costs are present): small drifts, whose
tracking error costs less than trading it away, are left alone — the no-trade
region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..optimize._inputs import as_vector, per_asset
from ..optimize.estimators import check_covariance
from ._tables import TablesMixin, as_kind

__all__ = ["OptimalRebalance", "optimal_rebalance"]

NO_TRADE_TOL = 1e-6  # a solver trade this small is read as "no trade" before polishing


def _objective(w, w0, t, Sigma, c, lam) -> float:
    d = w - t
    return lam * float(d @ Sigma @ d) + float(c @ np.abs(w - w0))


def _polish(x, w0, t, Sigma, c, lam, lo, hi, budget):
    """Exact solution by an active-set refinement started from the solver's answer.

    Each asset is held (no trade), pinned at a bound, or trades in a sign.
    The equality-constrained QP that remains is solved exactly (its KKT
    equations); held assets whose subgradient condition
    :math:`|2\\lambda(\\Sigma(w - t))_i + \\nu| \\le c_i` fails start trading,
    traders that cross zero are held, and this repeats until nothing changes.
    The result is kept only if it is feasible and no worse than the solver's.
    """
    n = len(x)
    scale = max(1.0, float(np.abs(w0).max(initial=0.0)))
    held = np.abs(x - w0) <= NO_TRADE_TOL * scale
    pin = np.where(~held & np.isfinite(lo) & (np.abs(x - lo) <= 1e-7 * scale), lo,
                   np.where(~held & np.isfinite(hi) & (np.abs(x - hi) <= 1e-7 * scale), hi, np.nan))
    sign = np.where(held | ~np.isnan(pin), 0.0, np.sign(x - w0))
    tol = 1e-12 * scale
    w = x
    for _ in range(2 * n + 2):
        w = np.where(held, w0, np.where(np.isnan(pin), 0.0, pin))
        free = np.flatnonzero(sign != 0)
        fix = np.flatnonzero(sign == 0)
        if len(free):
            k = len(free)
            kkt = np.zeros((k + 1, k + 1))
            kkt[:k, :k] = 2.0 * lam * Sigma[np.ix_(free, free)]
            kkt[:k, k] = 1.0
            kkt[k, :k] = 1.0
            rhs = np.empty(k + 1)
            rhs[:k] = 2.0 * lam * (Sigma[free] @ t - Sigma[np.ix_(free, fix)] @ w[fix]) - c[free] * sign[free]
            rhs[k] = budget - math.fsum(w[fix].tolist())
            sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
            w = w.copy()
            w[free] = sol[:k]
            nu = float(sol[k])
        g = 2.0 * lam * (Sigma @ (w - t))
        if not len(free):
            lo_nu = float(np.max(-c[held] - g[held])) if held.any() else -np.inf
            hi_nu = float(np.min(c[held] - g[held])) if held.any() else np.inf
            nu = 0.5 * (lo_nu + hi_nu) if np.isfinite(lo_nu + hi_nu) else (lo_nu if np.isfinite(lo_nu) else 0.0)
        changed = False
        crossed = (sign != 0) & (np.sign(w - w0) != sign)
        if crossed.any():
            i = int(np.flatnonzero(crossed)[0])
            sign[i], held[i], changed = 0.0, True, True
        else:
            over = (w > hi + tol) & (sign != 0)
            under = (w < lo - tol) & (sign != 0)
            if over.any() or under.any():
                i = int(np.flatnonzero(over | under)[0])
                pin[i] = hi[i] if over[i] else lo[i]
                sign[i], changed = 0.0, True
            else:
                r = g + nu
                viol = held & (np.abs(r) > c + 1e-10)
                if viol.any():
                    i = int(np.flatnonzero(viol)[np.argmax((np.abs(r) - c)[viol])])
                    sign[i], held[i], changed = -np.sign(r[i]), False, True
        if not changed:
            break
    else:
        return None
    if abs(math.fsum(w.tolist()) - budget) > 1e-9 * scale or (w < lo - 1e-9).any() or (w > hi + 1e-9).any():
        return None
    if _objective(w, w0, t, Sigma, c, lam) > _objective(x, w0, t, Sigma, c, lam) + 1e-12 * scale:
        return None
    return w


@dataclass(frozen=True, repr=False)
class OptimalRebalance(TablesMixin):
    """Result of :func:`optimal_rebalance`.

    Attributes
    ----------
    trades : frame
        Per asset: ``asset``, ``current``, ``target``, ``weight`` (after),
        ``trade`` (weight - current), ``cost`` (cost of that trade, fraction
        of portfolio value), ``traded`` (False inside the no-trade region)
        and, with ``value``, ``trade_value``. The kind of ``cov`` (arrow for
        numpy input).
    assets : tuple
    weights : numpy.ndarray, shape (n_assets,)
        Optimal weights.
    tracking_error_before, tracking_error_after : float
        :math:`\\sqrt{(w - t)^\\top \\Sigma (w - t)}` at the current and the
        optimal weights, in the units of ``cov`` (annualized if it is).
    cost : float
        Transaction cost of the trades, fraction of portfolio value.
    turnover : float
        :math:`\\sum |w - w_0|`.
    objective_before, objective_after : float
        :math:`\\lambda\\,TE^2 + \\text{cost}` without trading and at the optimum.
    solver : str
    """

    trades: Any
    assets: tuple
    weights: np.ndarray
    tracking_error_before: float
    tracking_error_after: float
    cost: float
    turnover: float
    objective_before: float
    objective_after: float
    solver: str
    _parts = ("trades",)


def optimal_rebalance(current: Any, target: Any, cov: Any, /, *, costs: Any = 0.001,
                      risk_aversion: float = 1.0, lower: Any = None, upper: Any = None,
                      value: float | None = None, solver: str = "auto",
                      fallback_solver: str | None = "SCS") -> OptimalRebalance:
    """Weights that minimize tracking error to the target plus proportional trading costs.

    Parameters
    ----------
    current, target : array-like, pandas Series or mapping, shape (n_assets,)
        Current and target weights (fractions of portfolio value, cash as an
        asset with zero variance); they must sum to the same total.
    cov : array-like or dataframe, shape (n_assets, n_assets)
        Covariance of asset returns; asset ids from its columns.
    costs : float, array-like or mapping, keyword-only
        Proportional cost per unit of weight traded (default 0.001, 10 bp:
        commission plus half spread); 0 for cash.
    risk_aversion : float, keyword-only
        :math:`\\lambda > 0`, the weight of squared tracking error against
        costs (default 1).
    lower, upper : float, array-like or mapping, optional, keyword-only
        Bounds on the weights after trading. Default: long-only (``lower=0``)
        when current and target weights are all >= 0, else unbounded;
        ``upper`` unbounded.
    value : float, optional, keyword-only
        Portfolio value, to add ``trade_value`` to the trades.
    solver, fallback_solver : str, keyword-only
        As for :func:`pmcore.optimize.max_utility`.

    Returns
    -------
    OptimalRebalance

    Raises
    ------
    ValidationError
        Weights that are not finite, do not match the covariance's assets or
        do not sum to the same total; negative costs; a covariance that is
        not PSD.
    ImportError
        Costs are present and cvxpy is missing (install ``pmcore[optimize]``).
    pmcore.optimize.InfeasibleError, pmcore.optimize.SolverError
        Bounds that no portfolio meets; no solver converged.

    Notes
    -----
    .. math::

        \\min_w\\; \\lambda (w - t)^\\top \\Sigma (w - t) + \\sum_i c_i |w_i - w_{0,i}|
        \\quad\\text{s.t.}\\quad 1^\\top w = 1^\\top w_0,\\; l \\le w \\le u

    solved as :func:`~pmcore.optimize.max_utility` with expected returns
    :math:`2\\lambda\\Sigma t` and risk aversion :math:`2\\lambda` (the two
    objectives differ by the constant :math:`\\lambda t^\\top\\Sigma t`).
    With zero costs the answer is the target (when the bounds allow it).
    For uncorrelated assets funded from cash (zero variance, zero cost) the
    problem separates, and asset :math:`i` trades only when its drift
    leaves the band :math:`|w_{0,i} - t_i| \\le c_i / (2\\lambda\\sigma_i^2)`,
    and then only to the band's edge, :math:`t_i \\pm c_i/(2\\lambda\\sigma_i^2)`.

    Examples
    --------
    Two risky assets (vol 20 % and 30 %, uncorrelated) and cash; costs 10 bp
    and 20 bp. The first drifted 2 % over target: its band is
    0.001 / (2 x 0.04) = 1.25 %, so it trades back to 51.25 %; the second
    drifted 5 % under: band 0.002 / (2 x 0.09) = 1.11 %, so it goes to 28.89 %.

    >>> import numpy as np
    >>> cov = np.diag([0.04, 0.09, 0.0])
    >>> r = optimal_rebalance([0.52, 0.25, 0.23], [0.5, 0.3, 0.2], cov, costs=[0.001, 0.002, 0.0])
    >>> r.weights.round(4).tolist()
    [0.5125, 0.2889, 0.1986]
    >>> round(r.tracking_error_before, 4), round(r.tracking_error_after, 4), round(r.cost * 1e4, 2)
    (0.0155, 0.0042, 0.85)
    >>> optimal_rebalance([0.505, 0.3, 0.195], [0.5, 0.3, 0.2], cov).turnover   # inside the band
    0.0
    """
    from ..optimize import max_utility

    Sigma, assets, kind = check_covariance(cov)
    w0, _ = as_vector(current, "current", assets)
    t, _ = as_vector(target, "target", assets)
    c = per_asset(costs, "costs", assets)
    if (c < 0).any() or not np.isfinite(c).all():
        i = int(np.flatnonzero((c < 0) | ~np.isfinite(c))[0])
        raise ValidationError("is negative or not finite", argument="costs", column=str(assets[i]),
                              value=float(c[i]), expected="a cost per unit traded >= 0")
    lam = float(risk_aversion)
    if not math.isfinite(lam) or lam <= 0:
        raise ValidationError("must be positive", argument="risk_aversion", value=risk_aversion,
                              expected="a finite number > 0")
    budget = math.fsum(w0.tolist())
    if abs(math.fsum(t.tolist()) - budget) > 1e-8 * max(1.0, abs(budget)):
        raise ValidationError("does not sum to the current weights' total", argument="target",
                              value=math.fsum(t.tolist()), expected=f"{budget!r}",
                              hint="include cash as an asset with zero variance in both")
    long_only = bool((w0 >= 0).all() and (t >= 0).all())
    lo = per_asset(lower, "lower", assets, fill=0.0 if long_only else -np.inf) if lower is not None \
        else np.full(len(assets), 0.0 if long_only else -np.inf)
    hi = per_asset(upper, "upper", assets, fill=np.inf) if upper is not None else np.full(len(assets), np.inf)
    any_cost = bool((c > 0).any())
    res = max_utility(2.0 * lam * (Sigma @ t), Sigma, risk_aversion=2.0 * lam,
                      lower=dict(enumerate(lo.tolist())), upper=dict(enumerate(hi.tolist())),
                      budget=budget, current=w0, costs=c if any_cost else None, solver=solver,
                      fallback_solver=fallback_solver)
    w = np.asarray(res.x, dtype=np.float64)
    used = res.solver
    if any_cost:
        polished = _polish(w, w0, t, Sigma, c, lam, lo, hi, budget)
        if polished is not None:
            w, used = polished, f"{used}+polish"
    w = np.where(np.abs(w - w0) <= 1e-12 * max(1.0, float(np.abs(w0).max(initial=0.0))), w0, w)
    trade = w - w0
    cost_i = c * np.abs(trade)
    d0, d1 = w0 - t, w - t
    te0 = math.sqrt(max(float(d0 @ Sigma @ d0), 0.0))
    te1 = math.sqrt(max(float(d1 @ Sigma @ d1), 0.0))
    cost = float(cost_i.sum())
    cols: dict[str, Any] = {"asset": pa.array([str(a) for a in assets]), "current": w0, "target": t,
                            "weight": w, "trade": trade, "cost": cost_i, "traded": trade != 0}
    if value is not None:
        v = float(value)
        if not math.isfinite(v) or v <= 0:
            raise ValidationError("must be positive", argument="value", value=value, expected="a finite number > 0")
        cols["trade_value"] = trade * v
    return OptimalRebalance(trades=as_kind(pa.table(cols), kind), assets=tuple(assets), weights=w,
                            tracking_error_before=te0, tracking_error_after=te1, cost=cost,
                            turnover=float(np.abs(trade).sum()), objective_before=lam * te0 ** 2,
                            objective_after=lam * te1 ** 2 + cost, solver=used)
