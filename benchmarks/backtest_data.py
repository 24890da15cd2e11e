"""Data and runners of the backtest benchmark: pmcore, bt, cvxportfolio and vectorbt on the same prices.

Workload (issue 8): 500 assets over 20 years of business days (5,040 dates),
monthly rebalancing to fixed target weights, 10 bps commission + 5 bps
half-spread on traded notional. Prices are generated (geometric Brownian
motion, 16-40 % volatility, seed 0) so that the size is exact and the run needs
no download. Smoke size (plain pytest): 20 assets over half a year.

Each peer runs with the cost convention pmcore reproduces exactly (see
``tests/rebalance/test_backtest_oracles.py``): bt <-> ``costs_from="trades"``,
cvxportfolio <-> ``costs_from="cash"``. vectorbt (``Portfolio.from_orders``
with ``size_type="targetpercent"``, one group with cash sharing, sells before
buys) sizes orders on the value before fees and pays fees from cash, so it is
compared with ``costs_from="cash"`` to a looser tolerance (it rounds nothing,
but it orders sells before buys and checks cash per order).
"""

from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import pandas as pd

RATE_BPS = (10.0, 5.0)  # commission, half-spread
RATE = sum(RATE_BPS) / 1e4


def sizes() -> dict:
    """Full size with PMCORE_BENCH_FULL=1, else a smoke size."""
    if os.environ.get("PMCORE_BENCH_FULL") == "1":
        return {"n_dates": 5040, "n_assets": 500}
    return {"n_dates": 126, "n_assets": 20}


def make_prices(n_dates: int, n_assets: int, seed: int = 0) -> pd.DataFrame:
    """Business-day prices from 2005-01-03, one column per asset (``A000``...)."""
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.16, 0.40, n_assets) / np.sqrt(252)
    drift = rng.uniform(0.0, 0.12, n_assets) / 252
    r = rng.standard_normal((n_dates, n_assets)) * vol + drift - vol**2 / 2
    prices = 50.0 * np.exp(np.cumsum(r, axis=0))
    dates = pd.bdate_range("2005-01-03", periods=n_dates)
    return pd.DataFrame(prices, index=dates, columns=[f"A{j:03d}" for j in range(n_assets)])


def target_weights(columns) -> dict:
    """Fixed targets: linearly spread weights summing to 1."""
    w = np.linspace(1.0, 3.0, len(columns))
    return dict(zip(columns, w / w.sum()))


def run_pmcore(prices: np.ndarray, dates: np.ndarray, target: np.ndarray, costs_from: str = "trades"):
    from pmcore.rebalance import backtest

    return backtest(prices, target, dates=dates, frequency="monthly", commission_bps=RATE_BPS[0],
                    half_spread_bps=RATE_BPS[1], costs_from=costs_from)


def run_bt(prices: pd.DataFrame, target: dict) -> np.ndarray:
    import bt

    strategy = bt.Strategy("s", [bt.algos.RunMonthly(), bt.algos.WeighSpecified(**target), bt.algos.Rebalance()])
    test = bt.Backtest(strategy, prices, initial_capital=1e6, integer_positions=False,
                       commissions=lambda q, p: RATE * abs(q) * p, progress_bar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt.run(test)
    return test.strategy.values.to_numpy()[1:]


def cvx_inputs(prices: pd.DataFrame, target: dict, rebalanced: np.ndarray):
    returns = prices.pct_change().shift(-1).iloc[:-1]
    returns["cash"] = 0.0
    weights = pd.Series({**target, "cash": 0.0})[returns.columns]
    return returns, weights, prices.index[rebalanced]


def run_cvx(returns: pd.DataFrame, weights: pd.Series, times) -> np.ndarray:
    import cvxportfolio as cvx

    with tempfile.TemporaryDirectory() as cache, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = cvx.MarketSimulator(returns=returns, costs=[cvx.TransactionCost(a=RATE, b=None)], cash_key="cash",
                                  min_history=pd.Timedelta(0), base_location=cache)
        result = sim.backtest(cvx.PeriodicRebalance(weights, times), start_time=returns.index[0],
                              end_time=returns.index[-1], initial_value=1e6)
        return result.v.to_numpy()


def vbt_inputs(prices: pd.DataFrame, target: dict, rebalanced: np.ndarray) -> pd.DataFrame:
    size = pd.DataFrame(np.nan, index=prices.index, columns=prices.columns)
    size.loc[rebalanced] = np.array([target[c] for c in prices.columns])
    return size


def run_vbt(prices: pd.DataFrame, size: pd.DataFrame) -> np.ndarray:
    import vectorbt as vbt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf = vbt.Portfolio.from_orders(prices, size, size_type="targetpercent", fees=RATE, group_by=True,
                                       cash_sharing=True, call_seq="auto", init_cash=1e6, freq="1D")
        return pf.value().to_numpy()
