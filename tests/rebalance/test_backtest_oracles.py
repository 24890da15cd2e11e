"""The backtest's equity curve against bt and cvxportfolio (test-only oracles), to 1e-8 relative.

Data: real daily closes of 20 S&P 500 stocks shipped offline with skfolio
(``skfolio.datasets.load_sp500_dataset``, no download). Each peer is driven with
the same prices, targets, rebalance dates and a proportional cost, and pmcore
reproduces its conventions through documented options:

* bt 1.x (``bt.Strategy`` with ``RunMonthly`` / ``RunWeekly`` / ``RunQuarterly``,
  ``WeighSpecified``, ``Rebalance``; ``commissions=lambda q, p: c * |q| * p``,
  ``integer_positions=False``). ``Rebalance`` sizes every asset's cash flow,
  commission included, as ``w_i V - H_i`` on the pre-trade value ``V``
  (``SecurityBase.allocate`` solves ``q p + c |q| p = amount``): pmcore's
  ``costs_from="trades"``. bt values the book after the trades (fees paid), like
  pmcore's ``equity``; its series starts one day before the first price date
  (the initial capital), which is dropped.
* cvxportfolio 1.x (``MarketSimulator`` with user-provided returns, a zero-return
  cash column, ``TransactionCost(a=c, b=None)``, no holding cost,
  ``PeriodicRebalance`` on pmcore's calendar dates). It trades to ``w_i V`` and
  debits the costs from cash: pmcore's ``costs_from="cash"``. Its returns at
  ``t`` are those from ``t`` to ``t + 1`` (``prices.pct_change().shift(-1)``),
  its ``v[t]`` is the value *before* the trades of ``t`` (``equity[t] +
  costs[t]`` in pmcore); its last return row is that of the second-to-last
  date, so its curve stops one date before pmcore's.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pmcore.rebalance import backtest

bt = pytest.importorskip("bt")
cvx = pytest.importorskip("cvxportfolio")
datasets = pytest.importorskip("skfolio.datasets")

RTOL = 1e-8
RATE = 0.0015  # 10 bps commission + 5 bps half-spread


@pytest.fixture(scope="module")
def sp500() -> pd.DataFrame:
    """Last 2 years of 8 stocks (cvxportfolio spends ~40 ms a date)."""
    return datasets.load_sp500_dataset().iloc[-504:, :8]


def _target(columns) -> dict:
    w = np.linspace(1.0, 2.0, len(columns))
    return dict(zip(columns, w / w.sum()))


def _bt_equity(prices: pd.DataFrame, target: dict, run_algo, rate: float) -> np.ndarray:
    strategy = bt.Strategy("s", [run_algo, bt.algos.WeighSpecified(**target), bt.algos.Rebalance()])
    test = bt.Backtest(strategy, prices, initial_capital=1e6, integer_positions=False,
                       commissions=lambda q, p: rate * abs(q) * p, progress_bar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt.run(test)
    values = test.strategy.values
    assert values.index[1] == prices.index[0]
    return values.to_numpy()[1:]


@pytest.mark.parametrize(("algo", "frequency"), [
    ("RunMonthly", "monthly"), ("RunWeekly", "weekly"), ("RunQuarterly", "quarterly"), ("RunDaily", "daily"),
])
def test_bt_equity_matches(sp500, algo, frequency):
    target = _target(sp500.columns)
    ours = backtest(sp500, target, frequency=frequency, commission_bps=10.0, half_spread_bps=5.0,
                    costs_from="trades")
    # bt's RunDaily skips the last date unless asked (pmcore's "daily" trades on every date);
    # the last date never starts a week, month or quarter here, so the others need nothing
    run = bt.algos.RunDaily(run_on_last_date=True) if algo == "RunDaily" else getattr(bt.algos, algo)()
    theirs = _bt_equity(sp500, target, run, RATE)
    np.testing.assert_allclose(ours.equity, theirs, rtol=RTOL, atol=0)
    assert ours.total_costs > 0


def test_bt_zero_target_closes_the_position(sp500):
    """A weight of 0 sells everything (bt closes the child, no fee gross-up)."""
    target = _target(sp500.columns)
    target[sp500.columns[0]] = 0.0
    ours = backtest(sp500, target, frequency="monthly", commission_bps=15.0, costs_from="trades")
    theirs = _bt_equity(sp500, target, bt.algos.RunMonthly(), RATE)
    np.testing.assert_allclose(ours.equity, theirs, rtol=RTOL, atol=0)
    assert (ours.weights[:, 0] == 0).all()


def _cvx_values(prices: pd.DataFrame, target: dict, times, rate: float, cache) -> pd.Series:
    returns = prices.pct_change().shift(-1).iloc[:-1]
    returns["cash"] = 0.0
    weights = pd.Series({**target, "cash": 1.0 - sum(target.values())})[returns.columns]
    sim = cvx.MarketSimulator(returns=returns, costs=[cvx.TransactionCost(a=rate, b=None)], cash_key="cash",
                              min_history=pd.Timedelta(0), base_location=cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sim.backtest(cvx.PeriodicRebalance(weights, times), start_time=prices.index[0],
                              end_time=prices.index[-1], initial_value=1e6)
    return result.v


@pytest.mark.parametrize("frequency", ["monthly", "quarterly"])
def test_cvxportfolio_equity_matches(sp500, frequency, tmp_path):
    target = _target(sp500.columns)
    target = {k: 0.97 * v for k, v in target.items()}  # 3 % cash
    ours = backtest(sp500, target, frequency=frequency, commission_bps=10.0, half_spread_bps=5.0,
                    costs_from="cash")
    times = sp500.index[ours.rebalanced]
    v = _cvx_values(sp500, target, times, RATE, tmp_path)
    assert v.index[0] == sp500.index[0] and len(v) == len(sp500) - 1
    pre_trade = ours.equity + ours.costs
    n = len(v)
    np.testing.assert_allclose(v.to_numpy()[1:], pre_trade[1:n], rtol=RTOL, atol=0)
    assert v.iloc[0] == 1e6


def test_default_convention_is_between_the_peers(sp500):
    """The three conventions differ by far less than one round of costs over two years.

    They differ only in where the costs come from (the traded value, cash, or
    each trade), so the curves may drift apart by a fraction of the cost rate.
    """
    target = _target(sp500.columns)
    kw = {"frequency": "monthly", "commission_bps": 15.0}
    value = backtest(sp500, target, **kw).equity
    trades = backtest(sp500, target, costs_from="trades", **kw).equity
    cash = backtest(sp500, target, costs_from="cash", **kw).equity
    rate = 15e-4
    assert 0 < np.max(np.abs(value / trades - 1)) < rate
    assert 0 < np.max(np.abs(value / cash - 1)) < rate


def test_bt_time_varying_targets_from_a_policy(sp500):
    """A policy returning a new target each month = bt's WeighTarget over the same weights frame."""
    rng = np.random.default_rng(7)
    raw = rng.random((len(sp500), sp500.shape[1]))
    weights = pd.DataFrame(raw / raw.sum(axis=1, keepdims=True), index=sp500.index, columns=sp500.columns)
    ours = backtest(sp500, lambda ctx: weights.iloc[ctx.index].to_numpy(), frequency="monthly",
                    commission_bps=15.0, costs_from="trades")
    strategy = bt.Strategy("s", [bt.algos.RunMonthly(), bt.algos.WeighTarget(weights), bt.algos.Rebalance()])
    test = bt.Backtest(strategy, sp500, initial_capital=1e6, integer_positions=False,
                       commissions=lambda q, p: RATE * abs(q) * p, progress_bar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt.run(test)
    np.testing.assert_allclose(ours.equity, test.strategy.values.to_numpy()[1:], rtol=RTOL, atol=0)
    # bt's convention spends the whole value, fees included: no cash is left after a rebalance
    np.testing.assert_allclose(ours.cash[ours.rebalanced], 0.0, atol=1e-6)
