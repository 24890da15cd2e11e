"""Multi-objective portfolios: a weighted sum of return, variance, CVaR, turnover and ESG score,
and the Pareto frontier between two of them."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..errors import ValidationError
from . import _solve as S
from ._inputs import as_matrix, per_asset
from .constraints import Constraints
from .problems import _factor, _spec, cvx_model, prepare
from .results import Frontier, OptimizeResult
from .scenarios import cvar as cvar_of

__all__ = ["multi_objective", "pareto_frontier"]

OBJECTIVES = ("return", "variance", "cvar", "turnover", "esg")


def _terms(cp, w, Sigma, mu, F, spec, returns, beta, esg):
    """cvxpy expressions, each to be minimized (return and ESG enter negated)."""
    out = {"return": -(mu @ w), "variance": cp.sum_squares(F.T @ w)}
    if returns is not None:
        T = returns.shape[0]
        a = cp.Variable(name="var")
        out["cvar"] = a + cp.sum(cp.pos(-returns @ w - a)) / ((1.0 - beta) * T)
    if spec.current is not None:
        out["turnover"] = cp.norm1(w - spec.current)
    if esg is not None:
        out["esg"] = -(esg @ w)
    return out


def _values(w, Sigma, mu, spec, returns, beta, esg) -> dict:
    v = {"return": float(mu @ w), "variance": float(w @ Sigma @ w)}
    if returns is not None:
        v["cvar"] = cvar_of(returns, w, beta=beta)
    if spec.current is not None:
        v["turnover"] = float(np.abs(w - spec.current).sum())
    if esg is not None:
        v["esg"] = float(esg @ w)
    return v


def _setup(mu, cov, returns, esg_scores, repair_psd, constraints, options):
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd)
    spec = _spec(assets, constraints, options)
    R = None
    if returns is not None:
        R, ids, _ = as_matrix(returns, "returns")
        if R.shape[1] != len(assets):
            raise ValidationError("has the wrong number of columns", argument="returns", value=R.shape[1],
                                  expected=f"{len(assets)}, one per asset of cov")
    esg = None if esg_scores is None else per_asset(esg_scores, "esg_scores", assets)
    return Sigma, mu_arr, assets, spec, R, esg


def multi_objective(mu: Any, cov: Any, /, *, weights: dict, returns: Any = None, beta: float = 0.95,
                    esg_scores: Any = None, risk_free: float = 0.0, solver: str = "CLARABEL",
                    fallback_solver: str | None = "SCS", repair_psd: bool = False,
                    constraints: Constraints | None = None, **options: Any) -> OptimizeResult:
    """Minimize a weighted sum of objectives.

    Parameters
    ----------
    mu : array-like, Series or mapping, shape (n_assets,)
    cov : array-like or dataframe, shape (n_assets, n_assets)
    weights : dict of str to float
        Non-negative weight per objective among ``"return"`` (maximized),
        ``"variance"``, ``"cvar"`` (needs ``returns``), ``"turnover"`` (needs
        ``current``) and ``"esg"`` (maximized; needs ``esg_scores``).
    returns : array-like or dataframe, shape (n_obs, n_assets), optional
        Scenarios for CVaR (per-period returns).
    beta : float, default 0.95
    esg_scores : array-like or mapping, optional
    risk_free, solver, fallback_solver, repair_psd, constraints, **options
        As in :func:`~pmcore.optimize.min_variance`.

    Returns
    -------
    OptimizeResult
        ``extra["objectives"]`` holds each objective's value at the solution.

    Notes
    -----
    .. math:: \\min_w\\; -a_r \\mu^\\top w + a_v w^\\top\\Sigma w + a_c \\operatorname{CVaR}_\\beta(w)
       + a_t \\lVert w - w_0\\rVert_1 - a_e s^\\top w

    with the CVaR in Rockafellar-Uryasev form; solved with cvxpy.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import multi_objective, max_utility
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> a = multi_objective([0.08, 0.12], cov, weights={"return": 1.0, "variance": 1.0}).x
    >>> b = max_utility([0.08, 0.12], cov, risk_aversion=2).x
    >>> bool(np.allclose(a, b, atol=1e-6))
    True
    """
    t0 = time.perf_counter()
    Sigma, mu_arr, assets, spec, R, esg = _setup(mu, cov, returns, esg_scores, repair_psd, constraints, options)
    unknown = [k for k in weights if k not in OBJECTIVES]
    if unknown:
        raise ValidationError("names an unknown objective", argument="weights", value=unknown[0],
                              expected=f"one of {OBJECTIVES}")
    if any(float(v) < 0 for v in weights.values()):
        raise ValidationError("must be non-negative", argument="weights")
    cp = S.cvxpy_module()
    prob0, w, _ = cvx_model("min_variance", Sigma, mu_arr, spec, None, risk_free)
    terms = _terms(cp, w, Sigma, mu_arr, _factor(Sigma), spec, R, float(beta), esg)
    missing = [k for k in weights if k not in terms and float(weights[k]) != 0]
    if missing:
        need = {"cvar": "returns=", "turnover": "current=", "esg": "esg_scores="}[missing[0]]
        raise ValidationError(f"objective {missing[0]!r} needs {need}", argument="weights")
    obj = sum(float(v) * terms[k] for k, v in weights.items() if float(v) != 0)
    prob = cp.Problem(cp.Minimize(obj), prob0.constraints)
    used = S.solve_cvxpy(prob, S.validate_solver(solver), fallback_solver)
    if prob.status == "infeasible":
        S.raise_infeasible(spec, [], status=prob.status)
    x = np.asarray(w.value, dtype=np.float64)
    val = float(prob.value)
    res = S.make_result(x, spec, Sigma, mu_arr, objective="weighted_sum", fun_of=lambda _: val,
                        risk_free=risk_free, solver=used, iterations=int(prob.solver_stats.num_iters or 0),
                        t0=t0)
    res.extra["objectives"] = _values(res.x, Sigma, mu_arr, spec, R, float(beta), esg)
    return res


def pareto_frontier(mu: Any, cov: Any, /, *, objectives: tuple = ("variance", "cvar"), n_points: int = 11,
                    returns: Any = None, beta: float = 0.95, esg_scores: Any = None, risk_free: float = 0.0,
                    solver: str = "CLARABEL", fallback_solver: str | None = "SCS", repair_psd: bool = False,
                    constraints: Constraints | None = None, **options: Any) -> Frontier:
    """Pareto frontier between two objectives by weighted-sum scalarization.

    Parameters
    ----------
    objectives : pair of str
        Two of ``"return"``, ``"variance"``, ``"cvar"``, ``"turnover"``, ``"esg"``.
    n_points : int, default 11
        Points for the trade-off weight :math:`t` in [0, 1].
    Other parameters
        As in :func:`multi_objective`.

    Returns
    -------
    Frontier
        ``objectives`` holds both objectives' values per point.

    Notes
    -----
    Each point minimizes :math:`(1 - t)\\, f_1(w)/s_1 + t\\, f_2(w)/s_2` (with
    :math:`s_k` the spread of :math:`f_k` between the two single-objective
    optima, so that :math:`t` trades comparable units); the problem is built
    once with :math:`t` as a ``cp.Parameter`` and re-solved. Weighted sums
    reach every Pareto-optimal point of a convex problem's frontier hull.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import pareto_frontier
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> f = pareto_frontier([0.08, 0.12], cov, objectives=("return", "variance"), n_points=5)
    >>> len(f), bool(np.all(np.diff(f.objectives["variance"]) <= 1e-12))
    (5, True)
    """
    t0 = time.perf_counter()
    if len(objectives) != 2 or any(o not in OBJECTIVES for o in objectives):
        raise ValidationError("must name two objectives", argument="objectives", value=objectives,
                              expected=f"two of {OBJECTIVES}")
    k = int(n_points)
    if k < 2:
        raise ValidationError("must be at least 2", argument="n_points", value=n_points)
    Sigma, mu_arr, assets, spec, R, esg = _setup(mu, cov, returns, esg_scores, repair_psd, constraints, options)
    cp = S.cvxpy_module()
    prob0, w, _ = cvx_model("min_variance", Sigma, mu_arr, spec, None, risk_free)
    terms = _terms(cp, w, Sigma, mu_arr, _factor(Sigma), spec, R, float(beta), esg)
    for o in objectives:
        if o not in terms:
            raise ValidationError(f"objective {o!r} needs its data", argument="objectives",
                                  hint="pass returns= for cvar, current= for turnover, esg_scores= for esg")
    f1, f2 = terms[objectives[0]], terms[objectives[1]]
    slv = S.validate_solver(solver)
    ends = []
    for f in (f1, f2):  # single-objective optima set the scales
        p = cp.Problem(cp.Minimize(f), prob0.constraints)
        S.solve_cvxpy(p, slv, fallback_solver)
        if p.status == "infeasible":
            S.raise_infeasible(spec, [], status=p.status)
        ends.append(np.asarray(w.value, dtype=np.float64))
    vals = [_values(e, Sigma, mu_arr, spec, R, float(beta), esg) for e in ends]
    s1 = abs(vals[1][objectives[0]] - vals[0][objectives[0]]) or 1.0
    s2 = abs(vals[0][objectives[1]] - vals[1][objectives[1]]) or 1.0
    t = cp.Parameter(nonneg=True, name="t")
    u = cp.Parameter(nonneg=True, name="one_minus_t")  # two parameters keep the product DCP
    prob = cp.Problem(cp.Minimize(u * f1 / s1 + t * f2 / s2), prob0.constraints)
    W = np.empty((k, spec.n))
    used = slv
    for i, tv in enumerate(np.linspace(0.0, 1.0, k)):
        t.value, u.value = float(tv), 1.0 - float(tv)
        used = S.solve_cvxpy(prob, slv, fallback_solver)
        W[i] = S.clean(np.asarray(w.value, dtype=np.float64), spec)
    per = [_values(x, Sigma, mu_arr, spec, R, float(beta), esg) for x in W]
    ret = W @ mu_arr
    vol = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", W, Sigma, W), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(vol > 0, (ret - risk_free) / vol, np.nan)
    objs = {o: np.array([p[o] for p in per]) for o in objectives}
    return Frontier(assets=assets, weights=W, expected_return=ret, volatility=vol, sharpe=sharpe, solver=used,
                    time_s=time.perf_counter() - t0, objectives=objs)
