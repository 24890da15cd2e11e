"""The metrics benchmark suite, written once per library, on the same data.

The suite (issue 5): annual return, annual volatility, Sharpe, Sortino,
maximum drawdown, Calmar, Omega, 95 % VaR and CVaR, alpha and beta against a
benchmark, and a 63-day rolling Sharpe ratio, over a ``(n_obs, n_series)``
matrix of daily returns. Each ``*_suite`` function returns the results so
that nothing is optimized away. Peers are imported lazily: a missing peer is
reported by :func:`peer_status`, never a crash at import.
"""

from __future__ import annotations

import importlib
import os
import warnings

import numpy as np

FULL = os.environ.get("PMCORE_BENCH_FULL", "0") not in ("0", "", "false", "no")
N_OBS = 2520 if FULL else 252
N_SERIES = 2000 if FULL else 8
WINDOW = 63


def _quiet(func):
    """Peers' own deprecation warnings (pandas 3) are not errors of this benchmark."""

    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return func(*args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def make_data(n_obs: int = N_OBS, n_series: int = N_SERIES, seed: int = 42):
    """Daily returns (Student-t, fat tails) and a benchmark correlated with them."""
    rng = np.random.default_rng(seed)
    bench = rng.standard_t(5, n_obs) * 0.008 + 0.0003
    loadings = rng.uniform(0.3, 1.5, n_series)
    noise = rng.standard_t(4, (n_obs, n_series)) * 0.01
    returns = bench[:, None] * loadings + noise + 0.0001
    return np.ascontiguousarray(returns), bench


def pmcore_suite(x, bench):
    import pmcore.metrics as pm

    return (
        pm.annual_return(x),
        pm.annual_volatility(x),
        pm.sharpe_ratio(x),
        pm.sortino_ratio(x),
        pm.max_drawdown(x),
        pm.calmar_ratio(x),
        pm.omega_ratio(x),
        pm.value_at_risk(x, cutoff=0.05),
        pm.conditional_value_at_risk(x, cutoff=0.05),
        pm.alpha_beta(x, bench),
        pm.rolling_sharpe(x, WINDOW),
    )


@_quiet
def empyrical_suite(x, bench):
    import empyrical as ep

    cols = range(x.shape[1])
    return (
        ep.annual_return(x),
        ep.annual_volatility(x),
        ep.sharpe_ratio(x),
        ep.sortino_ratio(x),
        ep.max_drawdown(x),
        [ep.calmar_ratio(x[:, j]) for j in cols],
        [ep.omega_ratio(x[:, j]) for j in cols],
        [ep.value_at_risk(x[:, j], 0.05) for j in cols],
        [ep.conditional_value_at_risk(x[:, j], 0.05) for j in cols],
        ep.alpha_beta_aligned(x, bench[:, None]),
        [ep.roll_sharpe_ratio(x[:, j], WINDOW) for j in cols],
    )


def to_frame(x, bench):
    import pandas as pd

    index = pd.bdate_range("2000-01-03", periods=len(x))
    return pd.DataFrame(x, index=index), pd.Series(bench, index=index)


@_quiet
def vectorbt_suite(df, bench, engine="rust"):
    import vectorbt as vbt  # noqa: F401  (registers the .vbt accessor)

    ra = df.vbt.returns(benchmark_rets=bench, freq="1D", year_freq="252 days")
    return (
        ra.annualized(engine=engine),
        ra.annualized_volatility(engine=engine),
        ra.sharpe_ratio(engine=engine),
        ra.sortino_ratio(engine=engine),
        ra.max_drawdown(engine=engine),
        ra.calmar_ratio(engine=engine),
        ra.omega_ratio(engine=engine),
        ra.value_at_risk(cutoff=0.05, engine=engine),
        ra.cond_value_at_risk(cutoff=0.05, engine=engine),
        ra.alpha(engine=engine),
        ra.beta(engine=engine),
        ra.rolling_sharpe_ratio(WINDOW, engine=engine),
    )


@_quiet
def quantstats_suite(df, bench):
    import quantstats as qs

    greeks = [qs.stats.greeks(df[c], bench) for c in df.columns]
    return (
        qs.stats.cagr(df),
        qs.stats.volatility(df),
        qs.stats.sharpe(df),
        qs.stats.sortino(df),
        qs.stats.max_drawdown(df),
        qs.stats.calmar(df),
        qs.stats.omega(df),
        qs.stats.value_at_risk(df),
        qs.stats.cvar(df),
        greeks,
        qs.stats.rolling_sharpe(df, rolling_period=WINDOW),
    )


def vectorbt_rolling_sharpe(df, engine="rust"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import vectorbt as vbt  # noqa: F401

        return df.vbt.returns(freq="1D", year_freq="252 days").rolling_sharpe_ratio(WINDOW, engine=engine)


@_quiet
def peer_status(name: str) -> str | None:
    """None if the peer imports and runs the suite on tiny data, else the reason it cannot."""
    module = {"empyrical": "empyrical", "vectorbt": "vectorbt", "vectorbt_numba": "vectorbt",
              "quantstats": "quantstats"}[name]
    try:
        importlib.import_module(module)
        if name.startswith("vectorbt"):
            engine = "numba" if name == "vectorbt_numba" else "rust"
            if engine == "rust":
                importlib.import_module("vectorbt_rust")
            vectorbt_suite(*to_frame(*make_data(80, 2)), engine=engine)
        elif name == "quantstats":
            quantstats_suite(*to_frame(*make_data(80, 2)))
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot benchmark this peer"
        return f"{name} unavailable: {type(exc).__name__}: {exc}"
    return None


def exercise_all(fortran: bool = True):
    """Call every public metrics function once, on a series and a C-ordered matrix.

    With ``fortran`` also on an F-ordered matrix (what pandas and polars frames
    hand over); the public layer makes it C-ordered, so no kernel compiles twice.
    """
    import pmcore.metrics as pm

    x, bench = make_data(300, 3)
    inputs = [x[:, 0].copy(), x] + ([np.asfortranarray(x)] if fortran else [])
    for data in inputs:
        pmcore_suite(data, bench)
        pm.total_return(data)
        pm.cumulative_returns(data)
        pm.annual_return(data, compound=False)
        pm.best_period(data)
        pm.worst_period(data)
        pm.skewness(data)
        pm.kurtosis(data)
        pm.downside_risk(data)
        pm.recovery_factor(data)
        pm.tail_ratio(data)
        pm.tracking_error(data, bench)
        pm.information_ratio(data, bench)
        pm.value_at_risk(data, method="cornish_fisher")
        pm.drawdown(data)
        pm.current_drawdown(data)
        pm.drawdown_details(data)
        pm.drawdown_periods(data)
        pm.rolling_volatility(data, 21)
        pm.rolling_beta(data, bench, 21)
        pm.rolling_max_drawdown(data, 21)
        pm.period_returns(data)
        pm.range_return(data, start=10, end=100)
    pm.returns_from_equity(np.cumprod(1 + x, axis=0))
    trades = {"entry_time": [1, 2, 3], "exit_time": [2, 4, None], "entry_price": [10.0, 10.0, 10.0],
              "exit_price": [11.0, 9.0, None], "quantity": [1.0, 2.0, 1.0],
              "mark_price": [None, None, 10.5], "strategy": ["a", "b", "a"]}
    pm.trade_stats(trades)
    pm.trade_stats_by(trades, by="strategy")
