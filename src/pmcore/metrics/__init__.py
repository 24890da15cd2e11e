"""Performance metrics and trade statistics.

Return and risk metrics over many series at once (a ``(n_obs, n_series)``
returns matrix, or one series), rolling and calendar-period versions, and
statistics of a table of closed trades. numpy in, numpy out; pandas in,
pandas out; polars in, polars out. See :doc:`/guide/metrics` and
:doc:`/conventions_metrics`.
"""

from __future__ import annotations

from .drawdowns import (
    DrawdownDetails,
    current_drawdown,
    drawdown,
    drawdown_details,
    drawdown_periods,
    max_drawdown,
)
from .periods import period_returns, pivot_returns, range_return
from .ratios import (
    alpha,
    alpha_beta,
    beta,
    calmar_ratio,
    downside_risk,
    information_ratio,
    omega_ratio,
    recovery_factor,
    sharpe_ratio,
    sortino_ratio,
    tail_ratio,
    tracking_error,
)
from .returns import (
    annual_return,
    annual_volatility,
    best_period,
    cagr,
    cumulative_returns,
    kurtosis,
    returns_from_equity,
    skewness,
    total_return,
    worst_period,
)
from .rolling import rolling_beta, rolling_max_drawdown, rolling_sharpe, rolling_volatility
from .tail import conditional_value_at_risk, value_at_risk
from .trades import TradeStats, trade_pnl, trade_stats, trade_stats_by

__all__ = [
    "DrawdownDetails",
    "TradeStats",
    "alpha",
    "alpha_beta",
    "annual_return",
    "annual_volatility",
    "best_period",
    "beta",
    "cagr",
    "calmar_ratio",
    "conditional_value_at_risk",
    "cumulative_returns",
    "current_drawdown",
    "downside_risk",
    "drawdown",
    "drawdown_details",
    "drawdown_periods",
    "information_ratio",
    "kurtosis",
    "max_drawdown",
    "omega_ratio",
    "period_returns",
    "pivot_returns",
    "range_return",
    "recovery_factor",
    "returns_from_equity",
    "rolling_beta",
    "rolling_max_drawdown",
    "rolling_sharpe",
    "rolling_volatility",
    "sharpe_ratio",
    "skewness",
    "sortino_ratio",
    "tail_ratio",
    "total_return",
    "tracking_error",
    "trade_pnl",
    "trade_stats",
    "trade_stats_by",
    "value_at_risk",
    "worst_period",
]
