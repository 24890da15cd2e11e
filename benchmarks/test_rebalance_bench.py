"""Drift + trigger decision + trade list of many accounts: pmcore beside a vectorised pandas implementation."""

from __future__ import annotations

import pytest

from . import rebalance_data as rd


@pytest.fixture(scope="module")
def data():
    d = rd.make_data(**rd.sizes())
    return d, rd.pandas_inputs(d)


@pytest.mark.parametrize("impl", ["pmcore", "pandas"])
def test_drift_trigger_trade_list(benchmark, data, impl):
    """The same accounts, model and costs for both; the results are checked against each other."""
    benchmark.group = "rebalance: drift + trigger + trade list"
    d, pandas_in = data
    if impl == "pmcore":
        rd.run_pmcore(d)  # warm-up: compile, caches
        decision, plan = benchmark(rd.run_pmcore, d)
        breach, trades = rd.run_pandas(pandas_in)
        rd.check_same(decision, plan, breach, trades)
        assert 0 < decision.rebalance.sum() < decision.n_accounts
    else:
        breach, trades = benchmark(rd.run_pandas, pandas_in)
        assert len(trades) > 0


def test_trade_list_one_account(benchmark):
    """Latency of the whole pipeline for one account of 50 positions (a service's per-request call)."""
    benchmark.group = "rebalance: one account"
    d = rd.make_data(1, 50, seed=5)
    rd.run_pmcore(d)
    decision, plan = benchmark(rd.run_pmcore, d)
    assert plan.drift.n_accounts == 1
