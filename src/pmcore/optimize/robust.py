"""Robust mean-variance: worst-case expected return over a box or an ellipsoid of returns."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..errors import ValidationError
from . import _solve as S
from ._inputs import per_asset
from .constraints import Constraints
from .estimators import check_covariance
from .problems import _factor, _spec, cvx_model, prepare
from .results import OptimizeResult

__all__ = ["robust_mean_variance"]


def robust_mean_variance(mu: Any, cov: Any, /, *, uncertainty: str = "ellipsoidal", size: Any = 1.0,
                         mu_cov: Any = None, risk_aversion: float = 1.0, risk_free: float = 0.0,
                         solver: str = "CLARABEL", fallback_solver: str | None = "SCS",
                         repair_psd: bool = False, constraints: Constraints | None = None,
                         **options: Any) -> OptimizeResult:
    """Maximize worst-case utility when expected returns are only known to lie in a set.

    Parameters
    ----------
    mu : array-like, Series or mapping, shape (n_assets,)
        Point estimate :math:`\\hat\\mu`.
    cov : array-like or dataframe, shape (n_assets, n_assets)
    uncertainty : {"box", "ellipsoidal"}
        ``"box"``: :math:`|\\mu_i - \\hat\\mu_i| \\le \\delta_i` with ``size`` the
        half-widths :math:`\\delta` (a float or per asset). ``"ellipsoidal"``:
        :math:`(\\mu - \\hat\\mu)^\\top \\Theta^{-1} (\\mu - \\hat\\mu) \\le \\kappa^2` with
        ``size`` the radius :math:`\\kappa`.
    mu_cov : array-like, shape (n_assets, n_assets), optional
        :math:`\\Theta`, the covariance of the estimation error of ``mu``;
        by default ``cov / n_obs`` is the usual choice, and ``cov`` itself is
        used when omitted (then ``size`` absorbs :math:`1/\\sqrt{n_{obs}}`).
    risk_aversion : float, default 1.0
    risk_free : float, default 0.0
        For the reported Sharpe ratio.
    solver, fallback_solver, repair_psd, constraints, **options
        As in :func:`~pmcore.optimize.min_variance`.

    Returns
    -------
    OptimizeResult
        ``fun`` is the negative worst-case utility; ``expected_return`` uses
        the point estimate.

    Notes
    -----
    The inner minimization over the uncertainty set has a closed form
    (Tütüncü & Koenig 2004; Goldfarb & Iyengar 2003):

    .. math::
       \\max_w\\; \\hat\\mu^\\top w - \\delta^\\top |w| - \\frac{\\lambda}{2} w^\\top\\Sigma w
       \\quad\\text{(box)},\\qquad
       \\max_w\\; \\hat\\mu^\\top w - \\kappa \\lVert \\Theta^{1/2} w \\rVert_2 - \\frac{\\lambda}{2} w^\\top\\Sigma w
       \\quad\\text{(ellipsoidal)}

    A second-order cone program, solved with cvxpy (Clarabel).

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import robust_mean_variance, max_utility
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> nominal = max_utility([0.08, 0.12], cov, risk_aversion=2).x
    >>> robust = robust_mean_variance([0.08, 0.12], cov, uncertainty="box", size=[0.0, 0.03],
    ...                               risk_aversion=2).x
    >>> bool(robust[1] < nominal[1])
    True
    """
    t0 = time.perf_counter()
    Sigma, mu_arr, assets = prepare(mu, cov, repair_psd=repair_psd)
    spec = _spec(assets, constraints, options)
    lam = float(risk_aversion)
    if not np.isfinite(lam) or lam <= 0:
        raise ValidationError("must be positive", argument="risk_aversion", value=risk_aversion)
    cp = S.cvxpy_module()
    prob0, w, _ = cvx_model("min_variance", Sigma, mu_arr, spec, None, risk_free)
    F = _factor(Sigma)
    if uncertainty == "box":
        delta = per_asset(size, "size", assets)
        if (delta < 0).any():
            raise ValidationError("must be >= 0", argument="size", value=float(delta.min()))
        penalty = delta @ cp.abs(w)
    elif uncertainty == "ellipsoidal":
        kappa = float(size)
        if not np.isfinite(kappa) or kappa < 0:
            raise ValidationError("must be >= 0", argument="size", value=size)
        Theta = Sigma if mu_cov is None else check_covariance(mu_cov, arg="mu_cov")[0]
        penalty = kappa * cp.norm2(_factor(Theta).T @ w)
    else:
        raise ValidationError("is unknown", argument="uncertainty", value=uncertainty,
                              expected="'box' or 'ellipsoidal'")
    extra_obj = 0
    if spec.costs is not None:
        extra_obj = extra_obj + spec.costs @ cp.abs(w - spec.current)
    if spec.l2:
        extra_obj = extra_obj + spec.l2 * cp.sum_squares(w)
    obj = -(mu_arr @ w) + penalty + lam / 2 * cp.sum_squares(F.T @ w) + extra_obj
    prob = cp.Problem(cp.Minimize(obj), prob0.constraints)
    used = S.solve_cvxpy(prob, S.validate_solver(solver), fallback_solver)
    if prob.status == "infeasible":
        S.raise_infeasible(spec, [], status=prob.status)
    x = np.asarray(w.value, dtype=np.float64)
    val = float(prob.value)
    return S.make_result(x, spec, Sigma, mu_arr, objective="neg_worst_case_utility", fun_of=lambda _: val,
                         risk_free=risk_free, solver=used, iterations=int(prob.solver_stats.num_iters or 0),
                         t0=t0)
