"""Risk-adjusted ratios and benchmark-relative statistics.

Sharpe, Sortino, Calmar, Omega, tail ratio, recovery factor, alpha and beta,
tracking error and information ratio. Inputs and outputs as in
:mod:`pmcore.metrics.returns`. The defaults reproduce empyrical-reloaded where
it defines the metric; see :doc:`/conventions_metrics` for the other libraries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import metrics as k
from . import _kernels as kd
from ._data import (
    Panel,
    as_panel,
    as_rate,
    as_vector,
    check_fraction,
    check_int,
    check_positive,
    per_column,
    recheck_infinite,
    scan_infinite,
)

__all__ = [
    "sharpe_ratio",
    "sortino_ratio",
    "downside_risk",
    "calmar_ratio",
    "omega_ratio",
    "tail_ratio",
    "recovery_factor",
    "alpha_beta",
    "alpha",
    "beta",
    "tracking_error",
    "information_ratio",
]


def _mean_std(panel: Panel, rate: np.ndarray, step: int, ddof: int):
    return kd.mean_std(panel.values, rate, step, ddof)


def sharpe_ratio(
    returns: Any, /, *, risk_free: Any = 0.0, periods_per_year: float = 252, ddof: int = 1
) -> Any:
    """Annualized Sharpe ratio.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    risk_free : float or array-like of shape (n_obs,), default 0.0
        Risk-free return **per period** (not annual), a constant or a series.
    periods_per_year : float, default 252
    ddof : int, default 1

    Returns
    -------
    float, or one value per series

    Notes
    -----
    .. math:: S = \\sqrt{P}\\,\\frac{\\overline{r - r_f}}{\\operatorname{std}(r - r_f)}

    NaN skipped. Zero volatility (all excess returns equal) gives ``+inf`` or
    ``-inf`` by the sign of the mean, and NaN when the mean is 0; fewer than
    ``ddof + 1`` observations give NaN. Matches empyrical's ``sharpe_ratio``.

    Examples
    --------
    >>> from pmcore.metrics import sharpe_ratio
    >>> round(sharpe_ratio([0.01, 0.02, -0.005, 0.015]), 4)
    14.6969
    >>> sharpe_ratio([0.01, 0.01, 0.01])
    inf
    """
    panel = as_panel(returns, check_inf=False)
    ppy = check_positive(periods_per_year, "periods_per_year")
    ddof = check_int(ddof, "ddof", 0)
    rate, step = as_rate(risk_free, "risk_free", panel)
    mean, std = _mean_std(panel, rate, step, ddof)
    recheck_infinite(panel, mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean / std * np.sqrt(ppy)
    return per_column(panel, out, "sharpe_ratio")


def _downside(panel, required_return, ppy):
    rate, step = as_rate(required_return, "required_return", panel)
    mean, dd = kd.downside(panel.values, rate, step)
    recheck_infinite(panel, mean)
    return mean, dd * np.sqrt(ppy)


def downside_risk(returns: Any, /, *, required_return: Any = 0.0, periods_per_year: float = 252) -> Any:
    """Annualized downside deviation below a minimum acceptable return.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    required_return : float or array-like of shape (n_obs,), default 0.0
        Minimum acceptable return per period.
    periods_per_year : float, default 252

    Notes
    -----
    .. math:: DD = \\sqrt{P}\\,\\sqrt{\\tfrac{1}{n}\\sum_t \\min(r_t - MAR_t, 0)^2}

    The mean is over all ``n`` present observations (not only the losing
    ones). NaN skipped. Matches empyrical's ``downside_risk``.

    Examples
    --------
    >>> from pmcore.metrics import downside_risk
    >>> round(downside_risk([0.01, -0.02, 0.03, -0.01], periods_per_year=4), 6)
    0.022361
    """
    panel = as_panel(returns, check_inf=False)
    ppy = check_positive(periods_per_year, "periods_per_year")
    _, dd = _downside(panel, required_return, ppy)
    return per_column(panel, dd, "downside_risk")


def sortino_ratio(returns: Any, /, *, required_return: Any = 0.0, periods_per_year: float = 252) -> Any:
    """Annualized Sortino ratio: mean excess return over downside deviation.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    required_return : float or array-like of shape (n_obs,), default 0.0
        Minimum acceptable return (MAR) per period.
    periods_per_year : float, default 252

    Notes
    -----
    .. math:: \\text{Sortino} = \\frac{P\\,\\overline{r - MAR}}{DD}

    with :math:`DD` from :func:`downside_risk`. No losing period gives
    ``+inf`` (or NaN if the mean excess is 0). Fewer than 2 observations give
    NaN. Matches empyrical's ``sortino_ratio``.

    Examples
    --------
    >>> from pmcore.metrics import sortino_ratio
    >>> round(sortino_ratio([0.01, -0.02, 0.03, -0.01], periods_per_year=4), 6)
    0.447214
    """
    panel = as_panel(returns, check_inf=False)
    ppy = check_positive(periods_per_year, "periods_per_year")
    mean, dd = _downside(panel, required_return, ppy)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean * ppy / dd
    if panel.n_obs < 2:
        out[:] = np.nan
    return per_column(panel, out, "sortino_ratio")


def _annual_and_mdd(panel, ppy):
    n_obs, n = panel.values.shape
    mdd, total, count = kd.max_drawdown(panel.values, True)
    recheck_infinite(panel, total)
    with np.errstate(invalid="ignore", divide="ignore"):
        annual = (1.0 + total) ** (ppy / n_obs) - 1.0 if n_obs else np.full(n, np.nan)
    annual[count == 0] = np.nan
    mdd[count == 0] = np.nan
    return total, annual, mdd


def calmar_ratio(returns: Any, /, *, periods_per_year: float = 252) -> Any:
    """Calmar ratio: annual return (CAGR) over the absolute maximum drawdown.

    Notes
    -----
    .. math:: \\text{Calmar} = \\frac{\\text{CAGR}}{|\\text{MDD}|}

    over the whole sample (empyrical; some define it over the last 36
    months: pass that slice). No drawdown gives NaN, as does an infinite
    ratio. See :func:`annual_return` and :func:`max_drawdown` for the parts.

    Examples
    --------
    >>> from pmcore.metrics import calmar_ratio
    >>> round(calmar_ratio([0.02, -0.01, 0.03, -0.02, 0.01], periods_per_year=5), 6)
    1.474252
    """
    panel = as_panel(returns, check_inf=False)
    ppy = check_positive(periods_per_year, "periods_per_year")
    _, annual, mdd = _annual_and_mdd(panel, ppy)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(mdd < 0, annual / np.abs(mdd), np.nan)
    out[np.isinf(out)] = np.nan
    return per_column(panel, out, "calmar_ratio")


def recovery_factor(returns: Any, /, *, compound: bool = True) -> Any:
    """Recovery factor: total return over the absolute maximum drawdown.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    compound : bool, default True
        True: compounded total return. False: the plain sum of returns
        (quantstats' ``recovery_factor``).

    Notes
    -----
    .. math:: RF = \\frac{\\prod_t(1 + r_t) - 1}{|\\text{MDD}|}

    No drawdown gives NaN.

    Examples
    --------
    >>> from pmcore.metrics import recovery_factor
    >>> round(recovery_factor([0.02, -0.01, 0.03, -0.02, 0.01]), 6)
    1.474252
    """
    panel = as_panel(returns, check_inf=False)
    total, _, mdd = _annual_and_mdd(panel, 1.0)
    if not compound:
        total = np.nansum(panel.values, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(mdd < 0, total / np.abs(mdd), np.nan)
    return per_column(panel, out, "recovery_factor")


def omega_ratio(
    returns: Any,
    /,
    *,
    risk_free: Any = 0.0,
    required_return: float = 0.0,
    periods_per_year: float = 252,
) -> Any:
    """Omega ratio: gains over losses relative to a threshold.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    risk_free : float or array-like of shape (n_obs,), default 0.0
        Per-period risk-free return, subtracted first.
    required_return : float, default 0.0
        **Annual** minimum acceptable return, de-annualized to
        :math:`(1 + R)^{1/P} - 1` per period (used as is when
        ``periods_per_year == 1``). As in empyrical.
    periods_per_year : float, default 252

    Notes
    -----
    .. math:: \\Omega = \\frac{\\sum_t \\max(x_t, 0)}{\\sum_t \\max(-x_t, 0)},
              \\quad x_t = r_t - r_f - \\tau

    NaN skipped. No loss (or ``required_return <= -1``, or fewer than 2
    observations) gives NaN. Matches empyrical's ``omega_ratio``.

    Examples
    --------
    >>> from pmcore.metrics import omega_ratio
    >>> round(omega_ratio([0.02, -0.01, 0.03, -0.02]), 6)
    1.666667
    """
    panel = as_panel(returns, check_inf=False)
    ppy = check_positive(periods_per_year, "periods_per_year")
    rate, step = as_rate(risk_free, "risk_free", panel)
    n = panel.values.shape[1]
    out = np.full(n, np.nan)
    required = float(required_return)
    if panel.n_obs >= 2 and (ppy == 1 or required > -1):
        threshold = required if ppy == 1 else (1.0 + required) ** (1.0 / ppy) - 1.0
        # gains + losses is not finite iff a column holds an infinity
        recheck_infinite(panel, kd.omega(panel.values, rate, step, threshold, out))
    else:
        scan_infinite(panel)  # no kernel ran: scan
    return per_column(panel, out, "omega_ratio")


def tail_ratio(returns: Any, /, *, cutoff: float = 0.05) -> Any:
    """Tail ratio: the right-tail quantile over the left-tail quantile, in absolute value.

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    cutoff : float, default 0.05
        Tail size: compares the ``1 - cutoff`` and ``cutoff`` quantiles.

    Notes
    -----
    .. math:: TR = \\frac{|Q_{1-c}(r)|}{|Q_c(r)|}

    Quantiles by linear interpolation (numpy's default). NaN skipped; no
    data gives NaN; a zero left quantile gives inf. Matches empyrical.

    Examples
    --------
    >>> from pmcore.metrics import tail_ratio
    >>> round(tail_ratio([0.03, -0.01, 0.02, -0.02, 0.01]), 6)
    1.555556
    """
    panel = as_panel(returns)
    c = check_fraction(cutoff, "cutoff")
    n = panel.values.shape[1]
    lo = np.empty(n)
    hi = np.empty(n)
    k.two_quantiles(panel.values, c, 1.0 - c, lo, hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.abs(hi) / np.abs(lo)
    return per_column(panel, out, "tail_ratio")


def _alpha_beta(returns, benchmark, risk_free, ppy, compound):
    panel = as_panel(returns, check_inf=False)
    ppy = check_positive(ppy, "periods_per_year")
    bench = as_vector(benchmark, "benchmark", panel)
    rate, step = as_rate(risk_free, "risk_free", panel)
    alpha_mean, beta_ = kd.alpha_beta(panel.values, bench, rate, step)
    recheck_infinite(panel, alpha_mean)
    if panel.n_obs < 2:
        alpha_mean[:] = np.nan
        beta_[:] = np.nan
    with np.errstate(invalid="ignore"):
        alpha_ = (1.0 + alpha_mean) ** ppy - 1.0 if compound else alpha_mean * ppy
    return panel, alpha_, beta_


def alpha_beta(
    returns: Any,
    benchmark: Any,
    /,
    *,
    risk_free: Any = 0.0,
    periods_per_year: float = 252,
    compound: bool = True,
) -> tuple[Any, Any]:
    """Annualized alpha and beta of returns against a benchmark (CAPM regression).

    Parameters
    ----------
    returns : array-like or frame, shape (n_obs,) or (n_obs, n_series)
    benchmark : array-like, shape (n_obs,)
        Benchmark (factor) returns, one per row of ``returns``. A pandas
        Series must have the same index as ``returns``.
    risk_free : float or array-like of shape (n_obs,), default 0.0
        Per-period risk-free return, subtracted from both sides for alpha.
    periods_per_year : float, default 252
    compound : bool, default True
        True: ``(1 + mean residual) ** P - 1`` (empyrical). False: arithmetic,
        ``mean residual * P`` (quantstats' ``greeks``).

    Returns
    -------
    (alpha, beta) : tuple
        Each a float or one value per series.

    Notes
    -----
    .. math::

        \\beta = \\frac{\\operatorname{cov}(r, b)}{\\operatorname{var}(b)}, \\qquad
        \\alpha = \\big(1 + \\overline{(r - r_f) - \\beta (b - r_f)}\\big)^{P} - 1

    Over the rows where both the series and the benchmark are present. Beta
    is from raw returns (empyrical ignores ``risk_free`` in beta); a benchmark
    variance below 1e-30 gives NaN. Fewer than 2 rows give NaN.

    Examples
    --------
    >>> from pmcore.metrics import alpha_beta
    >>> a, b = alpha_beta([0.02, -0.01, 0.03, 0.0], [0.01, -0.01, 0.02, 0.0])
    >>> round(b, 6)
    1.4
    """
    panel, alpha_, beta_ = _alpha_beta(returns, benchmark, risk_free, periods_per_year, compound)
    return per_column(panel, alpha_, "alpha"), per_column(panel, beta_, "beta")


def alpha(
    returns: Any,
    benchmark: Any,
    /,
    *,
    risk_free: Any = 0.0,
    periods_per_year: float = 252,
    compound: bool = True,
) -> Any:
    """Annualized alpha against a benchmark; see :func:`alpha_beta`.

    Examples
    --------
    >>> from pmcore.metrics import alpha
    >>> round(alpha([0.02, -0.01, 0.03, 0.0], [0.01, -0.01, 0.02, 0.0], periods_per_year=4), 6)
    0.012054
    """
    panel, alpha_, _ = _alpha_beta(returns, benchmark, risk_free, periods_per_year, compound)
    return per_column(panel, alpha_, "alpha")


def beta(returns: Any, benchmark: Any, /) -> Any:
    """Beta against a benchmark; see :func:`alpha_beta`.

    Examples
    --------
    >>> from pmcore.metrics import beta
    >>> round(beta([0.02, -0.01, 0.03, 0.0], [0.01, -0.01, 0.02, 0.0]), 6)
    1.4
    """
    panel, _, beta_ = _alpha_beta(returns, benchmark, 0.0, 252, True)
    return per_column(panel, beta_, "beta")


def _active(returns, benchmark, ddof):
    panel = as_panel(returns, check_inf=False)
    bench = as_vector(benchmark, "benchmark", panel)
    ddof = check_int(ddof, "ddof", 0)
    mean, std = _mean_std(panel, bench, 1 if len(bench) else 0, ddof)
    recheck_infinite(panel, mean)
    return panel, mean, std


def tracking_error(returns: Any, benchmark: Any, /, *, periods_per_year: float = 252, ddof: int = 1) -> Any:
    """Annualized tracking error: the volatility of active returns.

    Notes
    -----
    .. math:: TE = \\sqrt{P}\\,\\operatorname{std}(r - b)

    NaN skipped; ``periods_per_year=1`` gives the per-period figure.

    Examples
    --------
    >>> from pmcore.metrics import tracking_error
    >>> round(tracking_error([0.02, -0.01, 0.03], [0.01, -0.01, 0.02], periods_per_year=1), 6)
    0.005774
    """
    ppy = check_positive(periods_per_year, "periods_per_year")
    panel, _, std = _active(returns, benchmark, ddof)
    return per_column(panel, std * np.sqrt(ppy), "tracking_error")


def information_ratio(
    returns: Any, benchmark: Any, /, *, periods_per_year: float = 252, ddof: int = 1
) -> Any:
    """Annualized information ratio: mean active return over tracking error.

    Notes
    -----
    .. math:: IR = \\sqrt{P}\\,\\frac{\\overline{r - b}}{\\operatorname{std}(r - b)}

    ``periods_per_year=1`` reproduces empyrical's ``excess_sharpe`` (not
    annualized). Zero tracking error gives +-inf (NaN for a zero mean).

    Examples
    --------
    >>> from pmcore.metrics import information_ratio
    >>> round(information_ratio([0.02, -0.01, 0.03], [0.01, -0.01, 0.02], periods_per_year=1), 6)
    1.154701
    """
    ppy = check_positive(periods_per_year, "periods_per_year")
    panel, mean, std = _active(returns, benchmark, ddof)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean / std * np.sqrt(ppy)
    return per_column(panel, out, "information_ratio")
