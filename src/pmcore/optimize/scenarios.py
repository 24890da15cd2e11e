"""Minimum CVaR portfolio on return scenarios (Rockafellar-Uryasev linear program, HiGHS)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..errors import ValidationError
from . import _solve as S
from ._inputs import as_matrix, as_vector
from .constraints import Constraints, resolve
from .errors import SolverError, UnboundedError
from .results import OptimizeResult

__all__ = ["min_cvar", "cvar"]


def cvar(returns: Any, weights: Any, /, *, beta: float = 0.95) -> float:
    """Conditional value at risk of a portfolio over return scenarios (a loss, as a positive number).

    Notes
    -----
    .. math:: \\operatorname{CVaR}_\\beta(w) = \\min_\\alpha\\; \\alpha + \\frac{1}{(1-\\beta)T}
       \\sum_t \\max(-r_t^\\top w - \\alpha, 0)

    (Rockafellar & Uryasev 2000), the mean of the worst :math:`(1-\\beta)` share
    of losses, with fractional weight on the boundary scenario.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import cvar
    >>> r = np.array([[-0.02], [0.01], [0.03], [-0.05]])
    >>> round(cvar(r, [1.0], beta=0.5), 6)
    0.035
    """
    x, ids, _ = as_matrix(returns, "returns")
    w, _ = as_vector(weights, "weights", ids)
    b = _beta(beta)
    loss = np.sort(-(x @ w))[::-1]
    t = len(loss)
    k = (1.0 - b) * t
    full = int(math.floor(k))
    total = loss[:full].sum() + (k - full) * (loss[full] if full < t else 0.0)
    return float(total / k)


def _beta(beta: float) -> float:
    b = float(beta)
    if not 0.0 < b < 1.0:
        raise ValidationError("is out of range", argument="beta", value=beta, expected="a number in (0, 1)")
    return b


def min_cvar(returns: Any, /, *, beta: float = 0.95, target_return: float | None = None,
             periods_per_year: float = 252, constraints: Constraints | None = None,
             **options: Any) -> OptimizeResult:
    """Minimum conditional value at risk over historical (or simulated) return scenarios.

    Parameters
    ----------
    returns : array-like or dataframe, shape (n_obs, n_assets)
        Return scenarios (equally likely), one column per asset.
    beta : float, default 0.95
        Confidence level: CVaR is the mean loss in the worst ``1 - beta`` of scenarios.
    target_return : float, optional
        Floor on the annualized mean return ``periods_per_year * mean(returns) @ w``.
    periods_per_year : float, default 252
        Annualizes the reported expected return and volatility (the scenario
        covariance with ``ddof=1``).
    constraints : Constraints, optional
    **options
        Linear fields of :class:`~pmcore.optimize.Constraints`: ``lower``,
        ``upper``, ``budget``, ``groups``, ``group_lower``, ``group_upper``,
        ``esg_scores``, ``min_esg``, ``exclude``, ``current`` (for the reported
        turnover).

    Returns
    -------
    OptimizeResult
        ``fun`` is the CVaR (per period, a positive loss); ``extra["var"]`` the
        value at risk :math:`\\alpha`.

    Notes
    -----
    The linear program of Rockafellar & Uryasev (2000), solved by HiGHS:

    .. math:: \\min_{w, \\alpha, u}\\; \\alpha + \\frac{1}{(1-\\beta)T}\\sum_t u_t \\quad\\text{s.t.}\\quad
       u_t \\ge -r_t^\\top w - \\alpha,\\; u \\ge 0,\\; 1^\\top w = b,\\; l \\le w \\le u_w,\\; G w \\le h

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import min_cvar
    >>> r = np.random.default_rng(0).normal([0.0005, 0.0003], [0.02, 0.01], (500, 2))
    >>> res = min_cvar(r, beta=0.9)
    >>> res.x.round(2).tolist(), round(res.fun, 4)
    ([0.16, 0.84], 0.0153)
    """
    import scipy.sparse as sp
    from scipy.optimize import linprog

    t0 = time.perf_counter()
    x, assets, _ = as_matrix(returns, "returns")
    b = _beta(beta)
    T, n = x.shape
    if T < 2:
        raise ValidationError("has too few scenarios", argument="returns", value=T, expected="at least 2 rows")
    c_opts = Constraints.from_options(constraints, options)
    spec = resolve(c_opts, assets)
    if not spec.linear_only or spec.l2 or spec.max_holdings or spec.min_position:
        raise ValidationError("is not supported by min_cvar", argument="options",
                              hint="min_cvar takes linear constraints only (bounds, budget, groups, ESG, exclude)")
    p = float(periods_per_year)
    mean = x.mean(axis=0)
    extra = []
    if target_return is not None:
        extra.append(("target_return", -mean * p, -float(target_return)))
    nv = n + 1 + T
    cost = np.concatenate([np.zeros(n), [1.0], np.full(T, 1.0 / ((1.0 - b) * T))])
    A_sc = sp.hstack([sp.csr_matrix(-x), sp.csr_matrix(-np.ones((T, 1))), -sp.identity(T, format="csr")],
                     format="csr")
    rows = [A_sc]
    rhs = [np.zeros(T)]
    lin = [(r, hv) for r, hv in zip(spec.G, spec.h)] + [(r, hv) for _, r, hv in extra]
    if lin:
        Gm = np.array([r for r, _ in lin])
        rows.append(sp.hstack([sp.csr_matrix(Gm), sp.csr_matrix((len(lin), 1 + T))], format="csr"))
        rhs.append(np.array([hv for _, hv in lin]))
    A_ub = sp.vstack(rows, format="csr")
    b_ub = np.concatenate(rhs)
    A_eq = sp.csr_matrix(np.concatenate([np.ones(n), np.zeros(1 + T)])[None, :])
    bounds = np.empty((nv, 2))
    bounds[:n, 0], bounds[:n, 1] = spec.lo, spec.hi
    bounds[n] = (-np.inf, np.inf)
    bounds[n + 1:] = (0.0, np.inf)
    res = linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[spec.budget], bounds=bounds, method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if res.status == 2:
        S.raise_infeasible(spec, extra, status="infeasible")
    if res.status == 3:
        raise UnboundedError("CVaR is unbounded below", remedy="set finite bounds", status="unbounded")
    if res.status != 0:
        raise SolverError(f"HiGHS stopped: {res.message}", remedy="check the scale of returns",
                          status=str(res.status))
    w_raw = res.x[:n]
    Sigma = np.cov(x, rowvar=False, ddof=1).reshape(n, n) * p
    out = S.make_result(w_raw, spec, Sigma, mean * p, objective="cvar", fun_of=lambda w: cvar(x, w, beta=b),
                        risk_free=0.0, solver="highs", iterations=int(res.nit), t0=t0, extra=extra,
                        info={"var": float(res.x[n])})
    return out
