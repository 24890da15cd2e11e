"""Return metrics: from equity to returns, total and annual return, volatility, moments.

Every function takes ``returns`` as simple (not log) returns per period, as
fractions (0.01 = 1 %), time on axis 0 and one column per series. A 1-D input
gives a float; a matrix gives one value per column in the caller's kind
(numpy array, pandas Series indexed by column, one-row polars/arrow frame).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ValidationError
from ..kernels import metrics as k
from . import _kernels as kd
from ._data import (
    as_panel,
    check_choice,
    check_int,
    check_positive,
    per_column,
    per_row,
    recheck_infinite,
)

__all__ = [
    "returns_from_equity",
    "cumulative_returns",
    "total_return",
    "annual_return",
    "cagr",
    "annual_volatility",
    "best_period",
    "worst_period",
    "skewness",
    "kurtosis",
]

_ZERO = np.zeros(1)


def returns_from_equity(equity: Any, /, *, flows: Any = None, flow_timing: str = "end") -> Any:
    """Periodic returns of an equity curve, with deposits and withdrawals taken out.

    Parameters
    ----------
    equity : array-like or frame, shape (n_obs,) or (n_obs, n_series)
        Account value at the end of each period (> 0).
    flows : array-like, shape like ``equity``, optional
        External cash flows in each period: deposits > 0, withdrawals < 0.
        Flows are not performance, so they are removed from the return.
    flow_timing : {"end", "start"}, default "end"
        ``"end"``: a flow arrives at the end of its period (it is included in
        that period's equity but earned nothing). ``"start"``: it arrives at the
        start of its period and is invested for the whole period.

    Returns
    -------
    returns : same kind as ``equity``, shape like ``equity``
        Row 0 is NaN (no previous value).

    Notes
    -----
    .. math::

        r_t = \\frac{E_t - F_t}{E_{t-1}} - 1 \\quad\\text{(end)}, \\qquad
        r_t = \\frac{E_t}{E_{t-1} + F_t} - 1 \\quad\\text{(start)}

    NaN in ``equity`` gives NaN returns on both sides of it; a non-positive
    equity raises :class:`~pmcore.errors.ValidationError`.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.metrics import returns_from_equity
    >>> equity = np.array([100.0, 110.0, 160.0])   # 50 deposited in period 2
    >>> flows = np.array([0.0, 0.0, 50.0])
    >>> np.round(returns_from_equity(equity, flows=flows), 4).tolist()
    [nan, 0.1, 0.0]
    """
    check_choice(flow_timing, "flow_timing", ("end", "start"))
    panel = as_panel(equity, "equity")
    e = panel.values
    bad = e <= 0
    if bad.any():
        t, j = np.argwhere(bad)[0]
        raise ValidationError(
            "holds a non-positive value", argument="equity", column=panel.column_name(int(j)),
            row=int(t), value=float(e[t, j]), expected="an account value > 0",
        )
    if flows is None:
        f = np.zeros_like(e)
    else:
        fpanel = as_panel(flows, "flows")
        f = fpanel.values
        if f.shape != e.shape:
            raise ValidationError("has the wrong shape", argument="flows", value=f.shape,
                                  expected=f"{e.shape}, the shape of equity")
        f = np.nan_to_num(f, nan=0.0)
    out = np.full(e.shape, np.nan)
    if len(e) > 1:
        if flow_timing == "end":
            out[1:] = (e[1:] - f[1:]) / e[:-1] - 1.0
        else:
            out[1:] = e[1:] / (e[:-1] + f[1:]) - 1.0
    return per_row(panel, out, "returns")


def cumulative_returns(returns: Any, /, *, start_value: float = 0.0) -> Any:
    """Compounded returns to date: ``prod(1 + r) - 1``, or wealth if ``start_value`` > 0.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    start_value : float, default 0.0
        0 gives cumulative returns; a positive value gives the wealth curve
        ``start_value * prod(1 + r)`` (empyrical's ``starting_value``).

    Returns
    -------
    same kind and shape as ``returns``

    Notes
    -----
    .. math:: C_t = \\prod_{s \\le t} (1 + r_s) - 1

    NaN returns count as 0 (as in empyrical's ``cum_returns``).

    Examples
    --------
    >>> from pmcore.metrics import cumulative_returns
    >>> cumulative_returns([0.1, -0.1, 0.05]).round(4).tolist()
    [0.1, -0.01, 0.0395]
    """
    panel = as_panel(returns)
    if start_value != 0.0:
        start_value = check_positive(start_value, "start_value")
    wealth = np.cumprod(1.0 + np.nan_to_num(panel.values, nan=0.0), axis=0)
    out = wealth - 1.0 if start_value == 0.0 else wealth * start_value
    return per_row(panel, out, "cumulative_returns")


def total_return(returns: Any, /) -> Any:
    """Compounded return over the whole sample.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)

    Returns
    -------
    float, or one value per series

    Notes
    -----
    .. math:: R = \\prod_t (1 + r_t) - 1

    NaN returns count as 0 (empyrical's ``cum_returns_final``); an empty or
    all-NaN series gives NaN (empyrical gives 0 for all-NaN).

    Examples
    --------
    >>> from pmcore.metrics import total_return
    >>> round(total_return([0.1, -0.1, 0.05]), 6)
    0.0395
    """
    panel = as_panel(returns, check_inf=False)
    out, count = kd.total_return(panel.values)
    recheck_infinite(panel, out)
    out[count == 0] = np.nan
    return per_column(panel, out, "total_return")


def annual_return(
    returns: Any,
    /,
    *,
    periods_per_year: float = 252,
    compound: bool = True,
    calendar: bool = False,
    days_per_year: float = 365.25,
) -> Any:
    """Annualized return: the compound annual growth rate (CAGR) by default.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    periods_per_year : float, default 252
        Periods in a year (252 trading days; 12 for months; vectorbt uses 365).
    compound : bool, default True
        True: geometric (CAGR). False: arithmetic, ``mean(r) * periods_per_year``
        (NaN skipped).
    calendar : bool, default False
        With ``compound``, measure the years elapsed between the first and
        last timestamps (``(t_last - t_first) / days_per_year``, calendar
        time, e.g. with 365) instead of ``n_obs / periods_per_year``. Needs a
        time axis (pandas DatetimeIndex or a date column).
    days_per_year : float, default 365.25
        Days in a calendar year, used only with ``calendar=True``.

    Returns
    -------
    float, or one value per series

    Notes
    -----
    .. math::

        \\text{CAGR} = \\Big(\\prod_{t=1}^{T} (1 + r_t)\\Big)^{P / T} - 1

    with :math:`P` = ``periods_per_year`` and :math:`T` = ``n_obs`` (rows,
    including NaN rows, which count as 0 returns: empyrical's
    ``annual_return``). A negative final wealth gives NaN; an empty or
    all-NaN series gives NaN.

    Examples
    --------
    >>> from pmcore.metrics import annual_return
    >>> round(annual_return([0.01] * 12, periods_per_year=12), 6)
    0.126825
    """
    panel = as_panel(returns, check_inf=False)
    ppy = check_positive(periods_per_year, "periods_per_year")
    n_obs, n = panel.values.shape
    if not compound:
        mean, _ = kd.mean_std(panel.values, _ZERO, 0, 0)
        recheck_infinite(panel, mean)
        return per_column(panel, mean * ppy, "annual_return")
    total, count = kd.total_return(panel.values)
    recheck_infinite(panel, total)
    if calendar:
        check_positive(days_per_year, "days_per_year")
        if panel.time is None:
            raise ValidationError(
                "needs timestamps with calendar=True", argument="returns",
                hint="pass a pandas DatetimeIndex or a date column, or use calendar=False",
            )
        days = (panel.time[-1] - panel.time[0]) / np.timedelta64(1, "D") if n_obs > 1 else 0.0
        years = float(days) / days_per_year
    else:
        years = n_obs / ppy
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (1.0 + total) ** (1.0 / years) - 1.0 if years > 0 else np.full(n, np.nan)
    out[count == 0] = np.nan
    return per_column(panel, out, "annual_return")


cagr = annual_return


def annual_volatility(returns: Any, /, *, periods_per_year: float = 252, ddof: int = 1) -> Any:
    """Annualized standard deviation of returns.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    periods_per_year : float, default 252
    ddof : int, default 1
        Delta degrees of freedom of the standard deviation (1: sample).

    Returns
    -------
    float, or one value per series

    Notes
    -----
    .. math:: \\sigma_{ann} = \\sqrt{P}\\,\\sqrt{\\tfrac{1}{n - ddof}\\sum_t (r_t - \\bar r)^2}

    NaN skipped; fewer than ``ddof + 1`` present values give NaN; identical
    values give exactly 0. Matches empyrical's ``annual_volatility``.

    Examples
    --------
    >>> from pmcore.metrics import annual_volatility
    >>> round(annual_volatility([0.01, -0.01, 0.01, -0.01], periods_per_year=4), 6)
    0.023094
    """
    panel = as_panel(returns, check_inf=False)
    ppy = check_positive(periods_per_year, "periods_per_year")
    ddof = check_int(ddof, "ddof", 0)
    mean, std = kd.mean_std(panel.values, _ZERO, 0, ddof)
    recheck_infinite(panel, mean)
    return per_column(panel, std * np.sqrt(ppy), "annual_volatility")


def _extremes(returns):
    panel = as_panel(returns)
    n = panel.values.shape[1]
    lo = np.empty(n)
    hi = np.empty(n)
    k.extremes(panel.values, lo, hi)
    return panel, lo, hi


def best_period(returns: Any, /) -> Any:
    """Largest single-period return (NaN skipped; NaN for no data).

    For the best month or year, pass :func:`~pmcore.metrics.period_returns` output.

    Examples
    --------
    >>> from pmcore.metrics import best_period
    >>> best_period([0.01, 0.03, -0.02])
    0.03
    """
    panel, _, hi = _extremes(returns)
    return per_column(panel, hi, "best_period")


def worst_period(returns: Any, /) -> Any:
    """Smallest single-period return (NaN skipped; NaN for no data).

    Examples
    --------
    >>> from pmcore.metrics import worst_period
    >>> worst_period([0.01, 0.03, -0.02])
    -0.02
    """
    panel, lo, _ = _extremes(returns)
    return per_column(panel, lo, "worst_period")


def _moments(returns):
    panel = as_panel(returns)
    out = np.empty((panel.values.shape[1], 5))
    k.higher_moments(panel.values, out)
    return panel, out


def skewness(returns: Any, /, *, bias: bool = False) -> Any:
    """Skewness of returns.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    bias : bool, default False
        False: the adjusted Fisher-Pearson estimator :math:`G_1` (pandas
        ``skew``, quantstats, ``scipy.stats.skew(bias=False)``). True: the
        plain moment estimator :math:`g_1` (scipy's default).

    Notes
    -----
    .. math::

        g_1 = \\frac{m_3}{m_2^{3/2}}, \\qquad G_1 = g_1 \\frac{\\sqrt{n(n-1)}}{n-2}

    with :math:`m_k` the k-th central moment (divided by n). NaN skipped.
    NaN for fewer than 3 present values (``bias=False``) or zero variance.

    Examples
    --------
    >>> from pmcore.metrics import skewness
    >>> round(skewness([0.01, 0.02, 0.0, 0.09]), 6)
    1.763633
    """
    panel, m = _moments(returns)
    n = m[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        g1 = m[:, 3] / m[:, 2] ** 1.5
        g1[~(m[:, 2] > 0)] = np.nan
        if not bias:
            g1 = np.where(n > 2, g1 * np.sqrt(n * (n - 1)) / (n - 2), np.nan)
    return per_column(panel, g1, "skewness")


def kurtosis(returns: Any, /, *, bias: bool = False, excess: bool = True) -> Any:
    """Kurtosis of returns (excess kurtosis by default: 0 for a normal law).

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    bias : bool, default False
        False: the adjusted estimator :math:`G_2` (pandas ``kurt``, quantstats,
        ``scipy.stats.kurtosis(bias=False)``). True: the moment estimator.
    excess : bool, default True
        Subtract 3 (Fisher's definition).

    Notes
    -----
    .. math::

        g_2 = \\frac{m_4}{m_2^2} - 3, \\qquad
        G_2 = \\frac{(n+1) g_2 + 6}{(n-2)(n-3)}(n-1)

    NaN skipped. NaN for fewer than 4 present values (``bias=False``) or zero
    variance.

    Examples
    --------
    >>> from pmcore.metrics import kurtosis
    >>> round(kurtosis([0.01, 0.02, 0.0, 0.09, -0.01]), 6)
    3.503996
    """
    panel, m = _moments(returns)
    n = m[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        g2 = m[:, 4] / m[:, 2] ** 2 - 3.0
        g2[~(m[:, 2] > 0)] = np.nan
        if not bias:
            g2 = np.where(n > 3, ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3)), np.nan)
    if not excess:
        g2 = g2 + 3.0
    return per_column(panel, g2, "kurtosis")
