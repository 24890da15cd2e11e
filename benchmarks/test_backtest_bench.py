"""Rebalancing backtest: pmcore beside bt, cvxportfolio and vectorbt (monthly rebalancing with costs).

Smoke size under plain pytest (20 assets x half a year); the issue's size
(500 assets x 20 years) with PMCORE_BENCH_FULL=1. Each peer's equity curve is
checked against pmcore's before it is timed (bt and cvxportfolio to 1e-8 with
the matching cost convention; vectorbt, whose convention differs, to 1e-2).
cvxportfolio needs minutes per run at full size; ``benchmarks/report_backtest.py``
times it once on fewer dates and says how the figure is scaled.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from . import backtest_data as bd

FULL = os.environ.get("PMCORE_BENCH_FULL") == "1"


@pytest.fixture(scope="module")
def data():
    df = bd.make_prices(**bd.sizes())
    target = bd.target_weights(df.columns)
    prices = np.ascontiguousarray(df.to_numpy())
    w = np.array([target[c] for c in df.columns])
    ref = bd.run_pmcore(prices, df.index.values, w)  # warm-up (compile) and the reference curve
    ref_cash = bd.run_pmcore(prices, df.index.values, w, "cash")
    return df, target, prices, w, ref, ref_cash


def test_pmcore(benchmark, data):
    benchmark.group = "backtest: monthly rebalancing with costs"
    df, _, prices, w, ref, _ = data
    res = benchmark(bd.run_pmcore, prices, df.index.values, w)
    np.testing.assert_array_equal(res.equity, ref.equity)
    assert res.n_rebalances == len(np.unique(df.index.values.astype("datetime64[M]")))


def test_bt(benchmark, data):
    pytest.importorskip("bt")
    benchmark.group = "backtest: monthly rebalancing with costs"
    df, target, _, _, ref, _ = data
    equity = benchmark.pedantic(bd.run_bt, (df, target), rounds=1, iterations=1)
    np.testing.assert_allclose(equity, ref.equity, rtol=1e-8)


@pytest.mark.skipif(FULL, reason="minutes per run at full size: report_backtest.py times it on fewer dates")
def test_cvxportfolio(benchmark, data):
    pytest.importorskip("cvxportfolio")
    benchmark.group = "backtest: monthly rebalancing with costs"
    df, target, _, _, _, ref_cash = data
    inputs = bd.cvx_inputs(df, target, ref_cash.rebalanced)
    v = benchmark.pedantic(bd.run_cvx, inputs, rounds=1, iterations=1)
    pre_trade = ref_cash.equity + ref_cash.costs
    np.testing.assert_allclose(v[1:], pre_trade[1:len(v)], rtol=1e-8)


def test_vectorbt(benchmark, data):
    pytest.importorskip("vectorbt")
    benchmark.group = "backtest: monthly rebalancing with costs"
    df, target, _, _, _, ref_cash = data
    size = bd.vbt_inputs(df, target, ref_cash.rebalanced)
    bd.run_vbt(df, size)  # warm-up: vectorbt compiles its kernels on first use
    value = benchmark(bd.run_vbt, df, size)
    np.testing.assert_allclose(value, ref_cash.equity, rtol=1e-2)
