"""Risk parity and risk budgeting (long-only), by compiled cyclical coordinate descent."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..errors import ValidationError
from ._inputs import as_vector, per_asset
from .errors import SolverError
from .estimators import _covariance_values, check_covariance, nearest_psd
from .results import OptimizeResult

__all__ = ["risk_parity"]


def risk_parity(cov: Any, mu: Any = None, /, *, budgets: Any = None, risk_free: float = 0.0,
                tol: float = 1e-8, max_sweeps: int = 10_000, repair_psd: bool = False,
                check_psd: bool = False) -> OptimizeResult:
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
    tol : float, default 1e-8
        Largest relative error of a risk contribution against its budget,
        ``max_i |RC_i - b_i| / b_i``, certified on the returned weights. The
        default is the accuracy pmcore promises for risk parity; a looser value
        (e.g. ``1e-2``) saves sweeps, a tighter one (down to about ``1e-13``,
        the rounding floor) costs a few more.
    max_sweeps : int, default 10000
    repair_psd : bool, default False
        Replace ``cov`` by its nearest PSD matrix first (:func:`nearest_psd`).
    check_psd : bool, default False
        Test positive semi-definiteness up front with a Cholesky factorization
        (:func:`check_covariance`, O(n^3)) instead of certifying the answer (see Notes).

    Returns
    -------
    OptimizeResult
        ``risk_contributions`` equal ``budgets`` to ``tol``; ``fun`` is the
        largest relative deviation; ``iterations`` the number of sweeps.

    Raises
    ------
    ValidationError
        ``cov`` is not square, finite and symmetric, has a negative variance or
        a zero variance for an asset with a budget, or is not positive
        semi-definite (always when the solve fails; see Notes).
    SolverError
        No certified answer within ``max_sweeps`` on a PSD ``cov``.

    Notes
    -----
    The risk contribution of asset *i* is :math:`RC_i = w_i (\\Sigma w)_i / w^\\top\\Sigma w`.
    The budgeting portfolio solves :math:`RC_i = b_i`; it is :math:`w = y / 1^\\top y`
    for the unique minimizer of the strictly convex problem (Spinu 2013)

    .. math:: \\min_{y > 0}\\; \\tfrac12 y^\\top \\Sigma y - \\sum_i b_i \\log y_i

    solved by cyclical coordinate descent with closed-form coordinate steps,
    compiled with Numba (:func:`pmcore.kernels.optimize.risk_budget_ccd`),
    from the budgeting portfolio of the diagonal, :math:`y_i = \\sqrt{b_i / \\Sigma_{ii}}`.

    Validation costs O(n^2), not a factorization: one compiled pass checks that
    ``cov`` is finite, symmetric (to 1e-10 relative), has positive variances and
    no 2x2 principal minor below zero (:func:`pmcore.kernels.optimize.covariance_screen`);
    anything else goes to the full :func:`check_covariance` diagnosis. The answer
    is then certified: the risk contributions recomputed from the returned
    weights equal the budgets to ``tol`` and :math:`w^\\top\\Sigma w > 0`. When
    the solver diverges or the certificate fails, the full PSD test runs and an
    indefinite ``cov`` raises :class:`~pmcore.errors.ValidationError` (as it
    does for the indefinite correlations of pairwise-deleted data, where the
    sweeps diverge). The certificate is about the answer, not the input: an
    indefinite matrix on which the sweeps reach a stationary point of the then
    non-convex problem (a point with :math:`RC = b`) gives that point; pass
    ``check_psd=True`` to reject every indefinite ``cov`` at the price of the
    factorization.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import risk_parity
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.09]])
    >>> res = risk_parity(cov)
    >>> res.x.round(4).tolist(), res.risk_contributions.round(6).tolist()
    ([0.6, 0.4], [0.5, 0.5])
    >>> risk_parity(np.array([[1.0, 2.0], [2.0, 1.0]]))  # correlation 2: not a covariance
    Traceback (most recent call last):
    ...
    pmcore.errors.ValidationError: cov: is not positive semi-definite; got -1.0, expected a smallest eigenvalue >= 0. Hint: repair it with pmcore.optimize.nearest_psd(cov) or pass repair_psd=True
    """
    from ..kernels.optimize import risk_budget_ccd

    t0 = time.perf_counter()
    Sigma, assets, verified = _covariance(cov, repair_psd=repair_psd, check_psd=check_psd)
    mu_arr = None if mu is None else as_vector(mu, "mu", assets)[0]
    n = len(assets)
    if budgets is None:
        bb = np.full(n, 1.0 / n)
        idx, S = slice(None), Sigma
    else:
        b = per_asset(budgets, "budgets", assets, fill=0.0)
        if (b < 0).any() or b.sum() <= 0:
            raise ValidationError("must be non-negative with a positive sum", argument="budgets",
                                  value=float(b.min()))
        held = b > 0
        idx = np.flatnonzero(held)
        bb = b[idx] / b.sum()
        S = Sigma if held.all() else np.ascontiguousarray(Sigma[np.ix_(idx, idx)])
    d = S.diagonal()
    if not (d > 0).all():
        i = np.arange(n)[idx][int(np.flatnonzero(d <= 0)[0])]
        raise ValidationError("has a zero variance", argument="cov", column=str(assets[i]),
                              expected="a positive variance for every asset with a risk budget")
    y = np.sqrt(bb / d)  # risk budgeting portfolio of the diagonal of S (the kernel scales it)
    sweeps, target = 0, float(tol)
    for _ in range(4):  # the kernel's incremental S y drifts by rounding: certify on a fresh product
        k = risk_budget_ccd(S, bb, y, target, int(max_sweeps))
        if k < 0:
            if not verified:
                check_covariance(cov)  # raises the clear error for an indefinite cov
            raise SolverError(f"risk budgeting did not reach tol={tol:g} in {max_sweeps} sweeps",
                              remedy="raise max_sweeps or tol")
        sweeps += k
        if budgets is None:
            x = y / y.sum()
        else:
            x = np.zeros(n)
            x[idx] = y / y.sum()
        w = x.copy()
        j = int(np.argmax(w))
        w[j] += 1.0 - math.fsum(w.tolist())
        sw = Sigma @ w
        var = float(w @ sw)
        rc = w * sw / var
        dev = float(np.max(np.abs(rc[idx] - bb) / bb))
        if var > 0 and dev <= tol:
            break
        target /= 10
    else:
        if not verified:
            check_covariance(cov)
        raise SolverError(f"risk budgeting could not certify tol={tol:g} (risk contributions off by {dev:.2g})",
                          remedy="tol is below the rounding floor of this cov: raise it to 1e-12 or more")
    ret = float(mu_arr @ w) if mu_arr is not None else float("nan")
    vol = math.sqrt(var)
    return OptimizeResult(
        assets=assets, x=w, x_raw=x, fun=dev, objective="risk_budget_deviation", expected_return=ret,
        volatility=vol, sharpe=(ret - risk_free) / vol if vol > 0 else float("nan"), risk_contributions=rc,
        turnover=float("nan"), binding=(), solver="ccd", iterations=sweeps,
        time_s=time.perf_counter() - t0,
    )


def _covariance(cov: Any, *, repair_psd: bool, check_psd: bool) -> tuple[np.ndarray, tuple, bool]:
    """(Sigma, assets, PSD verified): the O(n^2) screen, or the full check when asked or when it flags."""
    from ..kernels.optimize import covariance_screen

    if repair_psd or check_psd:
        Sigma, assets, _ = check_covariance(nearest_psd(cov) if repair_psd else cov)
        return Sigma, assets, True
    if isinstance(cov, np.ndarray) and cov.ndim == 2 and cov.shape[0] == cov.shape[1] and cov.dtype.kind in "fiu":
        values = np.ascontiguousarray(cov, dtype=np.float64)  # the screen checks finiteness
        assets = tuple(range(len(values)))
    else:
        values, assets, _ = _covariance_values(cov)
        values = np.ascontiguousarray(values)
    status, asym = covariance_screen(values, 1e-10)
    if status != 0:  # NaN, asymmetry, non-positive variance or a negative 2x2 minor: diagnose in full
        Sigma, assets, _ = check_covariance(cov)
        return Sigma, assets, True
    return (values if asym == 0.0 else (values + values.T) / 2), assets, False
