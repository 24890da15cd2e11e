"""Value at risk and conditional value at risk (expected shortfall) of returns.

Both are returned as **returns** (a loss is negative), as empyrical does:
a 95 % VaR of -0.02 means a 5 % chance of losing 2 % or more in one period.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ..kernels import metrics as k
from ._data import as_panel, check_choice, check_fraction, check_int, per_column, recheck_finite_count

__all__ = ["value_at_risk", "conditional_value_at_risk"]

_METHODS = ("historical", "gaussian", "cornish_fisher")


def _cf_terms(panel, ddof):
    """mean, std (with ddof), biased skewness and excess kurtosis per column."""
    m = np.empty((panel.values.shape[1], 5))
    k.higher_moments(panel.values, m)
    n = m[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(m[:, 2] * n / (n - ddof))
        std[n - ddof <= 0] = np.nan
        skew = np.where(m[:, 2] > 0, m[:, 3] / m[:, 2] ** 1.5, 0.0)
        kurt = np.where(m[:, 2] > 0, m[:, 4] / m[:, 2] ** 2 - 3.0, 0.0)
    return m[:, 1], std, skew, kurt


def _cf(z, s, kx):
    return z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * kx / 24 - (2 * z**3 - 5 * z) * s**2 / 36


def _var_cvar(returns, cutoff, method, ddof, want_cvar):
    historical = method == "historical"
    # historical: the kernel counts finite values, so the scan for infinities
    # runs only when a column falls short (NaN or an infinity in it)
    panel = as_panel(returns, check_inf=not historical)
    c = check_fraction(cutoff, "cutoff")
    check_choice(method, "method", _METHODS)
    ddof = check_int(ddof, "ddof", 0)
    n = panel.values.shape[1]
    if historical:
        q = np.empty(n)
        tail = np.empty(n)
        finite = np.empty(n, np.int64)
        k.tail_quantiles(panel.values, c, True, q, tail, finite)
        recheck_finite_count(panel, finite)
        return panel, (tail if want_cvar else q)
    from scipy.special import ndtri  # lazy: scipy is slow to import

    mean, std, skew, kurt = _cf_terms(panel, ddof)
    z = float(ndtri(c))
    phi = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    if method == "gaussian":
        factor = -phi / c if want_cvar else np.full(n, z)
    elif not want_cvar:
        factor = _cf(z, skew, kurt)
    else:
        # E[cf(Z) | Z < z] from the truncated-normal moments of Z, Z^2, Z^3
        m1 = -phi / c
        m2 = 1.0 - z * phi / c
        m3 = -(z * z + 2.0) * phi / c
        factor = m1 + (m2 - 1.0) * skew / 6 + (m3 - 3 * m1) * kurt / 24 - (2 * m3 - 5 * m1) * skew**2 / 36
    return panel, mean + factor * std


def value_at_risk(returns: Any, /, *, cutoff: float = 0.05, method: str = "historical", ddof: int = 1) -> Any:
    """Value at risk (VaR) as a return: the ``cutoff`` quantile of returns.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    cutoff : float, default 0.05
        Tail probability (0.05 gives the 95 % VaR).
    method : {"historical", "gaussian", "cornish_fisher"}, default "historical"
        ``"historical"``: the empirical quantile, linear interpolation
        (empyrical, vectorbt). ``"gaussian"``: :math:`\\mu + z_c\\sigma`
        (quantstats' ``value_at_risk`` with ``sigma=1``).
        ``"cornish_fisher"``: :math:`\\mu + z_{cf}\\sigma` with the
        Cornish-Fisher expansion of :math:`z_c`.
    ddof : int, default 1
        Delta degrees of freedom of :math:`\\sigma` (parametric methods).

    Notes
    -----
    .. math::

        z_{cf} = z + \\frac{(z^2 - 1) S}{6} + \\frac{(z^3 - 3z) K}{24}
                 - \\frac{(2z^3 - 5z) S^2}{36}

    with :math:`z = \\Phi^{-1}(c)`, :math:`S` the skewness and :math:`K` the
    excess kurtosis (moment estimators, ``bias=True``). The result is a
    return: negative for a loss. NaN skipped (empyrical's ``value_at_risk``
    returns NaN if any value is NaN); no data gives NaN. Mean - 2 sigma
    conventions: ``mean + z * std`` with ``cutoff=0.02275`` (:math:`\\Phi(-2)`).

    Examples
    --------
    >>> from pmcore.metrics import value_at_risk
    >>> r = [0.01, -0.03, 0.02, -0.01, 0.0, 0.015, -0.02, 0.005, 0.01, -0.005]
    >>> round(value_at_risk(r, cutoff=0.1), 6)
    -0.021
    >>> round(value_at_risk(r, cutoff=0.1, method="gaussian"), 6)
    -0.020864
    """
    panel, out = _var_cvar(returns, cutoff, method, ddof, False)
    return per_column(panel, out, "value_at_risk")


def conditional_value_at_risk(
    returns: Any, /, *, cutoff: float = 0.05, method: str = "historical", ddof: int = 1
) -> Any:
    """Conditional value at risk (CVaR, expected shortfall) as a return.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    cutoff : float, default 0.05
        Tail probability.
    method : {"historical", "gaussian", "cornish_fisher"}, default "historical"
        ``"historical"``: the mean of the ``int((n - 1) * cutoff) + 1``
        smallest returns (empyrical, vectorbt). ``"gaussian"``:
        :math:`\\mu - \\sigma\\,\\varphi(z_c)/c`. ``"cornish_fisher"``: the mean
        of the Cornish-Fisher quantile function below ``cutoff``, in closed
        form from the truncated-normal moments.
    ddof : int, default 1

    Notes
    -----
    .. math:: \\text{CVaR}_c = \\frac{1}{c}\\int_0^c q(u)\\,du

    estimated as described for each method. NaN skipped; no data gives NaN.

    Examples
    --------
    >>> from pmcore.metrics import conditional_value_at_risk
    >>> r = [0.01, -0.03, 0.02, -0.01, 0.0, 0.015, -0.02, 0.005, 0.01, -0.005]
    >>> round(conditional_value_at_risk(r, cutoff=0.2), 6)
    -0.025
    """
    panel, out = _var_cvar(returns, cutoff, method, ddof, True)
    return per_column(panel, out, "conditional_value_at_risk")
