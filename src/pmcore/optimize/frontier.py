"""The efficient frontier: N points, each solve warm-started from the previous one."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from . import _solve as S
from .constraints import Constraints
from .problems import _spec, cvx_model, prepare, run
from .results import Frontier

__all__ = ["efficient_frontier"]


def efficient_frontier(mu: Any, cov: Any, /, *, n_points: int = 50, risk_free: float = 0.0,
                       solver: str = "auto", fallback_solver: str | None = "SCS", repair_psd: bool = False,
                       constraints: Constraints | None = None, **options: Any) -> Frontier:
    """Efficient frontier: minimum variance at ``n_points`` target returns.

    Parameters
    ----------
    mu : array-like, Series or mapping, shape (n_assets,)
    cov : array-like or dataframe, shape (n_assets, n_assets)
    n_points : int, default 50
        Points from the minimum-variance portfolio to the maximum-return one,
        equally spaced in expected return.
    risk_free : float, default 0.0
        For the reported Sharpe ratios.
    solver, fallback_solver, repair_psd, constraints, **options
        As in :func:`~pmcore.optimize.min_variance`.

    Returns
    -------
    Frontier

    Notes
    -----
    For :math:`r_k` from the minimum-variance return to
    :math:`\\max_w \\mu^\\top w` (an LP over the constraints),

    .. math:: w_k = \\arg\\min_w\\; w^\\top\\Sigma w \\quad\\text{s.t.}\\quad \\mu^\\top w \\ge r_k,\\;
       \\text{constraints}

    With linear constraints each point is solved exactly by the active-set
    method started from the previous point's active set (neighbouring points
    differ by a few constraints, so most solves take one or two iterations).
    Otherwise the cvxpy problem is built once with the target as a
    ``cp.Parameter`` and re-solved with warm starts.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import efficient_frontier
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> f = efficient_frontier([0.08, 0.12], cov, n_points=3)
    >>> f.expected_return.round(4).tolist(), f.volatility.round(4).tolist()
    ([0.0915, 0.1058, 0.12], [0.1738, 0.2125, 0.3])
    """
    t0 = time.perf_counter()
    k = int(n_points)
    if k < 2:
        from ..errors import ValidationError

        raise ValidationError("must be at least 2", argument="n_points", value=n_points)
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd)
    spec = _spec(assets, constraints, options)
    if spec.rc_lo is not None or spec.rc_hi is not None:
        from ..errors import ValidationError

        raise ValidationError("is not supported by efficient_frontier", argument="max_risk_contribution",
                              hint="solve efficient_return at chosen target returns instead")
    var_of = lambda w: float(w @ Sigma @ w)  # noqa: E731
    lo_res, warm = run("min_variance", Sigma, mu_arr, spec, None, risk_free, solver, fallback_solver,
                       "variance", var_of)
    r_top, x_top = S.max_return(spec, mu_arr)
    r_lo = lo_res.expected_return
    targets = np.linspace(r_lo, r_top, k)
    W = np.empty((k, spec.n))
    W[0] = lo_res.x
    used = lo_res.solver
    cardinal = spec.max_holdings is not None or spec.min_position is not None
    if spec.linear_only and S.validate_solver(solver) in ("auto", "active_set") or cardinal:
        for i in range(1, k - 1):
            res, warm = run("target_return", Sigma, mu_arr, spec, float(targets[i]), risk_free, solver,
                            fallback_solver, "variance", var_of, warm)
            W[i] = res.x
    else:
        cvx_solver = "CLARABEL" if S.validate_solver(solver) in ("auto", "active_set") else solver
        prob, w_var, par = cvx_model("target_return", Sigma, mu_arr, spec, float(targets[1]), risk_free)
        for i in range(1, k - 1):
            par.value = float(targets[i])
            used = S.solve_cvxpy(prob, cvx_solver, fallback_solver)
            if prob.status != "optimal":
                S.raise_infeasible(spec, [("target_return", -mu_arr, -float(targets[i]))], status=prob.status)
            W[i] = S.clean(np.asarray(w_var.value, dtype=np.float64), spec)
    W[k - 1] = S.clean(x_top, spec) if not cardinal else W[k - 2]
    ret = W @ mu_arr
    vol = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", W, Sigma, W), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(vol > 0, (ret - risk_free) / vol, np.nan)
    solver_name = "active_set (warm-started)" if used.startswith("active_set") else used
    return Frontier(assets=assets, weights=W, expected_return=ret, volatility=vol, sharpe=sharpe,
                    solver=solver_name, time_s=time.perf_counter() - t0)
