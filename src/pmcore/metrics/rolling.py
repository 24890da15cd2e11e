"""Rolling metrics over a trailing window, in O(n_obs) per series for any window.

The value at row ``t`` uses rows ``t - window + 1 .. t``; the first
``window - 1`` rows are NaN, so the output has the input's shape and index
(empyrical's ``roll_*`` functions return only the ``n_obs - window + 1``
complete windows: take ``[window - 1:]`` to compare). No look-ahead:
appending later rows never changes earlier values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import metrics_rolling as kr
from . import _kernels as kd
from ._data import as_panel, as_rate, as_vector, check_int, check_positive, per_row, scan_infinite

__all__ = ["rolling_volatility", "rolling_sharpe", "rolling_beta", "rolling_max_drawdown"]


def _moments(returns, window, risk_free, ddof, what, scale):
    panel = as_panel(returns, check_inf=False)  # the kernel reports an infinity on its way
    window = check_int(window, "window", 1)
    ddof = check_int(ddof, "ddof", 0)
    rate, step = as_rate(risk_free, "risk_free", panel)
    out, infinite = kd.rolling_mean_std(panel.values, rate, step, window, ddof, what, scale)
    if infinite:
        scan_infinite(panel)
    return panel, out


def rolling_volatility(
    returns: Any, /, window: int, *, periods_per_year: float = 252, ddof: int = 1
) -> Any:
    """Annualized volatility over a trailing window.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    window : int
        Window length in periods (>= 1).
    periods_per_year : float, default 252
    ddof : int, default 1

    Returns
    -------
    same kind and shape as ``returns``

    Notes
    -----
    .. math:: \\sigma_t = \\sqrt{P}\\,\\operatorname{std}(r_{t-w+1..t})

    NaN skipped inside a window; a window with fewer than ``ddof + 1``
    present values gives NaN; identical values give exactly 0. Matches
    empyrical's ``roll_annual_volatility`` on complete windows.

    Examples
    --------
    >>> from pmcore.metrics import rolling_volatility
    >>> v = rolling_volatility([0.01, -0.01, 0.02, 0.0], 2, periods_per_year=1)
    >>> v[1:].round(6).tolist()
    [0.014142, 0.021213, 0.014142]
    """
    ppy = check_positive(periods_per_year, "periods_per_year")
    panel, out = _moments(returns, window, 0.0, ddof, kd.ROLLING_STD, float(np.sqrt(ppy)))
    return per_row(panel, out, "rolling_volatility")


def rolling_sharpe(
    returns: Any,
    /,
    window: int,
    *,
    risk_free: Any = 0.0,
    periods_per_year: float = 252,
    ddof: int = 1,
) -> Any:
    """Annualized Sharpe ratio over a trailing window.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    window : int
        Window length in periods (>= 1).
    risk_free : float or array-like of shape (n_obs,), default 0.0
        Per-period risk-free return.
    periods_per_year : float, default 252
    ddof : int, default 1

    Returns
    -------
    same kind and shape as ``returns``

    Notes
    -----
    .. math:: S_t = \\sqrt{P}\\,\\frac{\\overline{x}_{t-w+1..t}}{\\operatorname{std}(x_{t-w+1..t})},
              \\quad x = r - r_f

    O(n_obs) running sums (recomputed every ``window`` rows to bound
    rounding drift). Zero volatility in a window gives +-inf, or NaN for a
    zero mean, as :func:`~pmcore.metrics.sharpe_ratio`. Matches empyrical's
    ``roll_sharpe_ratio`` on complete windows.

    Examples
    --------
    >>> from pmcore.metrics import rolling_sharpe
    >>> s = rolling_sharpe([0.01, -0.01, 0.02, 0.0, 0.01], 3, periods_per_year=1)
    >>> s[2:].round(6).tolist()
    [0.436436, 0.218218, 1.0]
    """
    ppy = check_positive(periods_per_year, "periods_per_year")
    panel, out = _moments(returns, window, risk_free, ddof, kd.ROLLING_SHARPE, float(np.sqrt(ppy)))
    return per_row(panel, out, "rolling_sharpe")


def rolling_beta(returns: Any, benchmark: Any, /, window: int) -> Any:
    """Beta against a benchmark over a trailing window.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    benchmark : array-like, shape (n_obs,)
    window : int
        Window length in periods (>= 2).

    Returns
    -------
    same kind and shape as ``returns``

    Notes
    -----
    .. math:: \\beta_t = \\frac{\\operatorname{cov}(r, b)}{\\operatorname{var}(b)}
              \\text{ over rows } t-w+1..t \\text{ where both are present}

    A benchmark variance below 1e-30 gives NaN, as in empyrical's ``beta``.

    Examples
    --------
    >>> from pmcore.metrics import rolling_beta
    >>> b = rolling_beta([0.02, -0.02, 0.04, 0.0], [0.01, -0.01, 0.02, 0.0], 3)
    >>> b[2:].round(6).tolist()
    [2.0, 2.0]
    """
    panel = as_panel(returns)
    window = check_int(window, "window", 2)
    bench = as_vector(benchmark, "benchmark", panel)
    out = kd.output_like(panel.values)
    kr.rolling_beta(panel.values, bench, window, out)
    return per_row(panel, out, "rolling_beta")


def rolling_max_drawdown(returns: Any, /, window: int, *, include_start: bool = True) -> Any:
    """Maximum drawdown over a trailing window, in O(n_obs) per series.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    window : int
        Window length in periods (>= 1).
    include_start : bool, default True
        Count the wealth before the window's first return as a peak
        (empyrical's ``roll_max_drawdown``).

    Returns
    -------
    same kind and shape as ``returns``

    Notes
    -----
    Each window's drawdown is :func:`~pmcore.metrics.max_drawdown` of its
    returns. Computed without rescanning windows: the wealth curve is cut
    into blocks of the window's span, and a window joins the suffix summary
    of one block to the prefix summary of the next (van Herk / Gil-Werman).
    NaN returns count as 0.

    Examples
    --------
    >>> from pmcore.metrics import rolling_max_drawdown
    >>> d = rolling_max_drawdown([0.1, -0.2, 0.1, 0.1, -0.05], 2)
    >>> d[1:].round(4).tolist()
    [-0.2, -0.2, 0.0, -0.05]
    """
    panel = as_panel(returns)
    window = check_int(window, "window", 1)
    out = kd.output_like(panel.values)
    kr.rolling_max_drawdown(panel.values, window, bool(include_start), out)
    return per_row(panel, out, "rolling_max_drawdown")
