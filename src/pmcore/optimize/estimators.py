"""Estimators of expected returns and covariance, and a PSD check/repair.

All estimators take a returns matrix ``(n_obs, n_assets)`` (numpy, pandas,
polars or pyarrow; asset ids from the column names) of simple periodic returns
and annualize with ``periods_per_year``. The output mirrors the input: pandas
in gives a Series / DataFrame keyed by asset, polars or pyarrow in gives a
frame with one column per asset (one row for expected returns, ``n_assets`` rows
in column order for a covariance), numpy in gives numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ValidationError
from ._inputs import as_matrix, as_vector, mirror_matrix, mirror_vector

__all__ = [
    "mean_returns",
    "capm_returns",
    "sample_covariance",
    "ewm_covariance",
    "ledoit_wolf",
    "factor_covariance",
    "check_covariance",
    "nearest_psd",
]


def _returns(returns: Any, min_obs: int = 2) -> tuple[np.ndarray, tuple, str]:
    x, ids, kind = as_matrix(returns, "returns")
    if x.shape[0] < min_obs:
        raise ValidationError("has too few observations", argument="returns", value=x.shape[0],
                              expected=f"at least {min_obs} rows")
    return x, ids, kind


def _ppy(periods_per_year: float) -> float:
    p = float(periods_per_year)
    if not np.isfinite(p) or p <= 0:
        raise ValidationError("must be positive", argument="periods_per_year", value=periods_per_year,
                              expected="a finite number > 0")
    return p


def _span(span: float) -> float:
    s = float(span)
    if not np.isfinite(s) or s < 1:
        raise ValidationError("must be at least 1", argument="span", value=span, expected="a number >= 1")
    return s


def mean_returns(returns: Any, /, *, method: str = "mean", span: float = 180,
                 periods_per_year: float = 252) -> Any:
    """Annualized expected returns: historical or exponentially weighted mean.

    Parameters
    ----------
    returns : array-like or dataframe, shape (n_obs, n_assets)
        Simple periodic returns, one column per asset; NaN is rejected.
    method : {"mean", "ewm"}
        ``"mean"`` is the arithmetic mean; ``"ewm"`` the exponentially weighted
        mean with smoothing ``alpha = 2 / (span + 1)``, weights normalized over
        the available rows (pandas ``ewm(span).mean()`` at the last row, as
        PyPortfolioOpt's ``ema_historical_return``).
    span : float, default 180
        Span of the exponential weights, in periods.
    periods_per_year : float, default 252
        Annualization factor.

    Returns
    -------
    mu : same kind as ``returns``, shape (n_assets,)

    Notes
    -----
    .. math:: \\mu_i = p \\, \\frac{1}{T} \\sum_t r_{t,i}
       \\quad\\text{or}\\quad
       \\mu_i = p\\,\\frac{\\sum_t (1-\\alpha)^{T-1-t} r_{t,i}}{\\sum_t (1-\\alpha)^{T-1-t}}

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import mean_returns
    >>> r = np.array([[0.01, 0.02], [0.03, -0.02]])
    >>> mean_returns(r, periods_per_year=1).round(6).tolist()
    [0.02, 0.0]
    """
    x, ids, kind = _returns(returns, 1)
    p = _ppy(periods_per_year)
    if method == "mean":
        mu = x.mean(axis=0)
    elif method == "ewm":
        alpha = 2.0 / (_span(span) + 1.0)
        wts = (1.0 - alpha) ** np.arange(x.shape[0] - 1, -1, -1, dtype=np.float64)
        mu = wts @ x / wts.sum()
    else:
        raise ValidationError("is unknown", argument="method", value=method, expected="'mean' or 'ewm'")
    return mirror_vector(mu * p, ids, kind, "expected_return")


def capm_returns(returns: Any, /, *, market: Any = None, risk_free: float = 0.0,
                 periods_per_year: float = 252) -> Any:
    """CAPM-implied expected returns: ``risk_free + beta * (market return - risk_free)``.

    Parameters
    ----------
    returns : array-like or dataframe, shape (n_obs, n_assets)
        Simple periodic returns.
    market : array-like, shape (n_obs,), optional
        Market returns on the same rows; the equal-weighted average of the
        assets when omitted.
    risk_free : float, default 0.0
        Annual risk-free rate.
    periods_per_year : float, default 252

    Notes
    -----
    .. math:: \\beta_i = \\frac{\\operatorname{cov}(r_i, r_m)}{\\operatorname{var}(r_m)},\\quad
       \\mu_i = r_f + \\beta_i (p\\,\\bar r_m - r_f)

    Sample moments use ``ddof=1``.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import capm_returns
    >>> r = np.array([[0.01, 0.03], [0.02, 0.01], [0.0, 0.02]])
    >>> capm_returns(r, market=[0.01, 0.02, 0.0], periods_per_year=1).round(6).tolist()
    [0.01, -0.005]
    """
    x, ids, kind = _returns(returns)
    p = _ppy(periods_per_year)
    if market is None:
        m = x.mean(axis=1)
    else:
        m, _ = as_vector(market, "market")
        if len(m) != x.shape[0]:
            raise ValidationError("has the wrong length", argument="market", value=len(m),
                                  expected=f"{x.shape[0]} returns, one per row of returns")
    mc = m - m.mean()
    var_m = mc @ mc / (len(m) - 1)
    if var_m <= 0:
        raise ValidationError("has zero variance", argument="market", expected="returns that vary")
    beta = (x - x.mean(axis=0)).T @ mc / (len(m) - 1) / var_m
    mu = risk_free + beta * (m.mean() * p - risk_free)
    return mirror_vector(mu, ids, kind, "expected_return")


def sample_covariance(returns: Any, /, *, ddof: int = 1, periods_per_year: float = 252) -> Any:
    """Annualized sample covariance.

    Notes
    -----
    .. math:: \\Sigma = \\frac{p}{T - \\text{ddof}} \\sum_t (r_t - \\bar r)(r_t - \\bar r)^\\top

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import sample_covariance
    >>> sample_covariance(np.array([[0.01, 0.0], [0.03, 0.02]]), periods_per_year=1).round(6).tolist()
    [[0.0002, 0.0002], [0.0002, 0.0002]]
    """
    x, ids, kind = _returns(returns)
    p = _ppy(periods_per_year)
    xc = x - x.mean(axis=0)
    cov = xc.T @ xc / (x.shape[0] - ddof) * p
    return mirror_matrix((cov + cov.T) / 2, ids, kind)


def ewm_covariance(returns: Any, /, *, span: float = 180, periods_per_year: float = 252) -> Any:
    """Annualized exponentially weighted covariance, weighted toward recent rows.

    Notes
    -----
    Cross-products of deviations from the full-sample mean are averaged with
    weights :math:`w_t \\propto (1-\\alpha)^{T-1-t}`, :math:`\\alpha = 2/(\\text{span}+1)`
    (pandas ``ewm(span).mean()`` at the last row, as PyPortfolioOpt's ``exp_cov``):

    .. math:: \\Sigma = p \\sum_t w_t (r_t - \\bar r)(r_t - \\bar r)^\\top,\\quad \\sum_t w_t = 1

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import ewm_covariance
    >>> r = np.array([[0.01, 0.0], [0.03, 0.02], [0.02, 0.01]])
    >>> ewm_covariance(r, span=2, periods_per_year=1).round(6).tolist()
    [[3.1e-05, 3.1e-05], [3.1e-05, 3.1e-05]]
    """
    x, ids, kind = _returns(returns)
    p = _ppy(periods_per_year)
    alpha = 2.0 / (_span(span) + 1.0)
    t = x.shape[0]
    w = (1.0 - alpha) ** np.arange(t - 1, -1, -1, dtype=np.float64)
    w /= w.sum()
    xc = x - x.mean(axis=0)
    cov = (xc * w[:, None]).T @ xc * p
    return mirror_matrix((cov + cov.T) / 2, ids, kind)


def ledoit_wolf(returns: Any, /, *, periods_per_year: float = 252) -> Any:
    """Ledoit-Wolf shrinkage toward a scaled identity (constant variance).

    Notes
    -----
    With :math:`S` the maximum-likelihood covariance (divisor :math:`T`) and
    :math:`m = \\operatorname{tr}(S)/n`, the estimate is
    :math:`(1-\\delta) S + \\delta m I` with the optimal intensity of Ledoit &
    Wolf (2004), "A well-conditioned estimator for large-dimensional covariance
    matrices" (the estimator of scikit-learn's ``LedoitWolf``), then annualized.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import ledoit_wolf
    >>> r = np.random.default_rng(0).normal(0, 0.01, (100, 3))
    >>> bool(np.allclose(ledoit_wolf(r), ledoit_wolf(r).T))
    True
    """
    x, ids, kind = _returns(returns)
    p = _ppy(periods_per_year)
    t, n = x.shape
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / t
    m = np.trace(s) / n
    x2 = xc**2
    beta_ = (np.sum(x2.T @ x2) / t - np.sum(s**2)) / t
    delta_ = np.sum(s**2) - 2 * m * np.trace(s) + n * m**2
    beta_ = min(beta_, delta_)
    shrink = 0.0 if delta_ == 0 else beta_ / delta_
    cov = (1.0 - shrink) * s
    cov[np.diag_indices(n)] += shrink * m
    return mirror_matrix(cov * p, ids, kind)


def factor_covariance(returns: Any, /, *, factors: Any = None, n_factors: int = 3,
                      periods_per_year: float = 252) -> Any:
    """Factor-model covariance: ``B Sigma_F B' + D`` from given or statistical (PCA) factors.

    Parameters
    ----------
    returns : array-like or dataframe, shape (n_obs, n_assets)
    factors : array-like or dataframe, shape (n_obs, n_factors), optional
        Factor returns on the same rows. Loadings ``B`` come from an OLS
        regression of each asset on the factors (with intercept) and ``D`` is
        the diagonal of residual variances. When omitted, the ``n_factors``
        leading principal components of the sample covariance are used and
        ``D`` makes the diagonal exact.
    n_factors : int, default 3
        Number of principal components (only without ``factors``).
    periods_per_year : float, default 252

    Notes
    -----
    .. math:: \\Sigma = B \\Sigma_F B^\\top + D

    Sample moments use ``ddof=1``.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import factor_covariance, sample_covariance
    >>> r = np.random.default_rng(1).normal(0, 0.01, (200, 4))
    >>> full = factor_covariance(r, n_factors=4)
    >>> bool(np.allclose(full, sample_covariance(r)))
    True
    """
    x, ids, kind = _returns(returns)
    p = _ppy(periods_per_year)
    t, n = x.shape
    xc = x - x.mean(axis=0)
    if factors is None:
        k = int(n_factors)
        if not 1 <= k <= n:
            raise ValidationError("is out of range", argument="n_factors", value=n_factors,
                                  expected=f"an integer in [1, {n}]")
        s = xc.T @ xc / (t - 1)
        vals, vecs = np.linalg.eigh((s + s.T) / 2)
        vals, vecs = vals[::-1][:k], vecs[:, ::-1][:, :k]
        common = (vecs * vals) @ vecs.T
        cov = common + np.diag(np.maximum(np.diag(s) - np.diag(common), 0.0))
    else:
        f, _, _ = as_matrix(factors, "factors")
        if f.shape[0] != t:
            raise ValidationError("has the wrong number of rows", argument="factors", value=f.shape[0],
                                  expected=f"{t} rows, as returns")
        fc = f - f.mean(axis=0)
        sf = fc.T @ fc / (t - 1)
        b, *_ = np.linalg.lstsq(fc, xc, rcond=None)  # (k, n)
        resid = xc - fc @ b
        d = (resid**2).sum(axis=0) / (t - 1 - f.shape[1])
        cov = b.T @ sf @ b + np.diag(d)
    cov = (cov + cov.T) / 2 * p
    return mirror_matrix(cov, ids, kind)


def _psd_status(cov: np.ndarray) -> tuple[bool, float]:
    """(is PSD within tolerance, smallest eigenvalue or nan when not computed)."""
    n = cov.shape[0]
    if n == 0:
        return True, np.nan
    from scipy.linalg.lapack import dpotrf

    scale = float(np.max(np.abs(np.diag(cov)))) or 1.0
    shifted = np.array(cov, dtype=np.float64, order="F")
    shifted[np.diag_indices(n)] += 1e-12 * scale
    _, info = dpotrf(shifted, lower=1, clean=0, overwrite_a=1)  # LAPACK Cholesky, no copies
    if info == 0:
        return True, np.nan
    lam = float(np.linalg.eigvalsh(cov)[0])
    return lam >= -1e-10 * scale, lam


def _covariance_values(cov: Any, arg: str = "cov") -> tuple[np.ndarray, tuple, str]:
    """``(values, asset_ids, kind)`` of a square, finite covariance input, rows aligned to columns.

    The coercion step of :func:`check_covariance` (no symmetry or PSD test).
    """
    values, ids, kind = as_matrix(cov, arg, square=True)
    if kind == "pandas":
        index = tuple(cov.index)
        if index != ids and len(index) == len(ids) and set(index) == set(ids):
            values = cov.loc[list(ids), list(ids)].to_numpy(dtype=np.float64)
        elif index != ids and not all(isinstance(i, int) for i in index):
            raise ValidationError("has rows that differ from its columns", argument=arg,
                                  value=list(index)[:5], expected="the same assets in rows and columns")
    return values, ids, kind


def check_covariance(cov: Any, /, *, arg: str = "cov") -> tuple[np.ndarray, tuple, str]:
    """Validate a covariance matrix: square, finite, symmetric and positive semi-definite.

    Returns ``(values, asset_ids, kind)``; raises
    :class:`~pmcore.errors.ValidationError` otherwise, with a hint to
    :func:`nearest_psd`. Symmetry is checked to ``1e-10`` relative to the
    largest variance and PSD to an eigenvalue of ``-1e-10`` times it.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import check_covariance
    >>> check_covariance(np.array([[1.0, 2.0], [2.0, 1.0]]))
    Traceback (most recent call last):
    ...
    pmcore.errors.ValidationError: cov: is not positive semi-definite; got -1.0, expected a smallest eigenvalue >= 0. Hint: repair it with pmcore.optimize.nearest_psd(cov) or pass repair_psd=True
    """
    values, ids, kind = _covariance_values(cov, arg)
    scale = float(np.max(np.abs(np.diag(values)))) if values.size else 1.0
    asym = np.abs(values - values.T)
    if asym.size and asym.max() > 1e-10 * max(scale, 1e-300):
        i, j = (int(v) for v in np.unravel_index(np.argmax(asym), asym.shape))
        raise ValidationError("is not symmetric", argument=arg, column=str(ids[j]), row=i,
                              value=float(values[i, j]), expected=f"equal to cov[{j}, {i}] = {values[j, i]!r}",
                              hint="use (cov + cov.T) / 2")
    if (np.diag(values) < 0).any():
        i = int(np.flatnonzero(np.diag(values) < 0)[0])
        raise ValidationError("has a negative variance", argument=arg, column=str(ids[i]), row=i,
                              value=float(values[i, i]), expected="a variance >= 0")
    ok, lam = _psd_status(values)
    if not ok:
        raise ValidationError("is not positive semi-definite", argument=arg, value=round(lam, 12),
                              expected="a smallest eigenvalue >= 0",
                              hint="repair it with pmcore.optimize.nearest_psd(cov) or pass repair_psd=True")
    if asym.size and asym.max() == 0.0:  # exactly symmetric already: no copy
        return values, ids, kind
    return (values + values.T) / 2, ids, kind


def nearest_psd(cov: Any, /, *, min_eigenvalue: float = 0.0) -> Any:
    """The nearest symmetric positive semi-definite matrix in Frobenius norm.

    Notes
    -----
    Higham (1988), "Computing a nearest symmetric positive semidefinite matrix":
    with :math:`B = (A + A^\\top)/2 = V \\Lambda V^\\top`, the nearest PSD matrix
    is :math:`V \\max(\\Lambda, \\lambda_{min}) V^\\top`.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.optimize import nearest_psd
    >>> nearest_psd(np.array([[1.0, 2.0], [2.0, 1.0]])).round(6).tolist()
    [[1.5, 1.5], [1.5, 1.5]]
    """
    values, ids, kind = as_matrix(cov, "cov", square=True)
    b = (values + values.T) / 2
    lam, vecs = np.linalg.eigh(b)
    fixed = (vecs * np.maximum(lam, float(min_eigenvalue))) @ vecs.T
    return mirror_matrix((fixed + fixed.T) / 2, ids, kind)
