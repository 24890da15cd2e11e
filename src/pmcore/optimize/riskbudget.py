"""Risk parity and risk budgeting (long-only), by compiled cyclical coordinate descent."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..errors import ValidationError
from ._inputs import per_asset
from .errors import SolverError
from .problems import prepare
from .results import OptimizeResult

__all__ = ["risk_parity"]


def risk_parity(cov: Any, mu: Any = None, /, *, budgets: Any = None, risk_free: float = 0.0,
                tol: float = 1e-12, max_sweeps: int = 10_000, repair_psd: bool = False) -> OptimizeResult:
    """Equal risk contribution (or custom risk budgets) portfolio, long-only, fully invested.

    Parameters
    ----------
    cov : array-like or dataframe, shape (n_assets, n_assets)
        Covariance (positive definite on the assets with a budget).
    mu : array-like, Series or mapping, optional
        Expected returns, only to report ``expected_return`` and ``sharpe``.
    budgets : array-like or mapping of asset id to float, optional
        Risk budgets (any positive scale; normalized to sum to one). Equal by
        default. An asset with budget 0 gets weight 0.
    risk_free : float, default 0.0
    tol : float, default 1e-12
        Largest relative error of a risk contribution against its budget.
    max_sweeps : int, default 10000
    repair_psd : bool, default False

    Returns
    -------
    OptimizeResult
        ``risk_contributions`` equal ``budgets`` to ``tol``; ``fun`` is the
        largest relative deviation.

    Notes
    -----
    The risk contribution of asset *i* is :math:`RC_i = w_i (\\Sigma w)_i / w^\\top\\Sigma w`.
    The budgeting portfolio solves :math:`RC_i = b_i`; it is :math:`w = y / 1^\\top y`
    for the unique minimizer of the strictly convex problem (Spinu 2013)

    .. math:: \\min_{y > 0}\\; \\tfrac12 y^\\top \\Sigma y - \\sum_i b_i \\log y_i

    solved by cyclical coordinate descent with closed-form coordinate steps,
    compiled with Numba (:func:`pmcore.kernels.optimize.risk_budget_ccd`).

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import risk_parity
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> res = risk_parity(cov)
    >>> res.x.round(4).tolist(), res.risk_contributions.round(6).tolist()
    ([0.6, 0.4], [0.5, 0.5])
    """
    from ..kernels.optimize import risk_budget_ccd

    t0 = time.perf_counter()
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd, need_mu=False)
    n = len(assets)
    b = np.full(n, 1.0 / n) if budgets is None else per_asset(budgets, "budgets", assets, fill=0.0)
    if (b < 0).any() or b.sum() <= 0:
        raise ValidationError("must be non-negative with a positive sum", argument="budgets",
                              value=float(b.min()))
    b = b / b.sum()
    held = b > 0
    idx = np.flatnonzero(held)
    S = Sigma if held.all() else np.ascontiguousarray(Sigma[np.ix_(idx, idx)])
    d = np.diag(S)
    if (d <= 0).any():
        i = idx[int(np.flatnonzero(d <= 0)[0])]
        raise ValidationError("has a zero variance", argument="cov", column=str(assets[i]),
                              expected="a positive variance for every asset with a risk budget")
    bb = b[idx]
    y = bb / np.sqrt(d)
    y *= math.sqrt(1.0 / float(y @ S @ y))
    sweeps = risk_budget_ccd(S, bb, y, float(tol), int(max_sweeps))
    if sweeps < 0:
        raise SolverError(f"risk budgeting did not reach tol={tol:g} in {max_sweeps} sweeps",
                          remedy="raise max_sweeps or tol; check that cov is positive definite")
    x = np.zeros(n)
    x[idx] = y / y.sum()
    w = x.copy()
    k = int(np.argmax(w))
    w[k] += 1.0 - math.fsum(w.tolist())
    sw = Sigma @ w
    var = float(w @ sw)
    rc = w * sw / var
    ret = float(mu_arr @ w) if mu_arr is not None else float("nan")
    vol = math.sqrt(var)
    dev = float(np.max(np.abs(rc[idx] - bb) / bb))
    return OptimizeResult(
        assets=assets, x=w, x_raw=x, fun=dev, objective="risk_budget_deviation", expected_return=ret,
        volatility=vol, sharpe=(ret - risk_free) / vol if vol > 0 else float("nan"), risk_contributions=rc,
        turnover=float("nan"), binding=(), solver="ccd", iterations=sweeps,
        time_s=time.perf_counter() - t0,
    )
