"""Margin state (tiers + isolated/cross liquidation prices): pmcore beside pandas; pre-trade latency."""

from __future__ import annotations

import numpy as np
import pytest

from . import margin_data as md


@pytest.fixture(scope="module")
def prepared():
    return md.prepare(md.make_data(**md.sizes()))


@pytest.mark.parametrize("impl", ["pmcore", "pandas"])
def test_margin_state(benchmark, prepared, impl):
    """Margin state of every account and position, same prepared data for both."""
    benchmark.group = "margin state: tiers + liquidation prices"
    book, price, kwargs, pandas_in = prepared
    if impl == "pmcore":
        md.run_pmcore(book, price, kwargs)  # warm-up: compile, caches
        state = benchmark(md.run_pmcore, book, price, kwargs)
        positions, accounts = md.run_pandas(pandas_in)
        np.testing.assert_allclose(state.liquidation_price, positions["liquidation_price"], rtol=1e-9,
                                   atol=1e-9)
        np.testing.assert_allclose(state.free_margin, accounts["free_margin"], rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(state.maintenance_margin, accounts["maint"], rtol=1e-9, atol=1e-6)
    else:
        md.run_pandas(pandas_in)
        positions, _ = benchmark(md.run_pandas, pandas_in)
        assert len(positions) == book.n_positions


def test_pre_trade_check_one_account(benchmark):
    """One account's pre-trade check from Python (target: median under 20 us)."""
    from pmcore.margin import margin_state, pre_trade_check

    benchmark.group = "single account"
    d = md.make_data(10, 1, 10, seed=3)
    state = margin_state(d["positions"], d["prices"], instruments=d["instruments"], cash=d["cash"],
                         accounts=d["accounts"], brackets=d["brackets"], base_currency="USDT")
    pid = state.portfolio_ids[0].as_py()
    iid = state.book.instrument_ids[int(state.book.instrument[0])].as_py()
    pre_trade_check(state, pid, iid, 0.5)
    out = benchmark(pre_trade_check, state, pid, iid, 0.5)
    assert out.decision in ("approve", "reduce", "reject")


def test_pre_trade_check_one_account_pandas(benchmark):
    """The same check with pandas from the account's frames (the peer of the latency target)."""
    benchmark.group = "single account"
    d = md.make_data(10, 1, 10, seed=3)
    pos = d["positions"].to_pandas()
    prices = d["prices"].to_pandas().set_index("instrument_id")["price"]
    wallet = float(d["cash"].column("amount")[0].as_py())
    iid = pos["instrument_id"].iloc[0]
    decision, _ = benchmark(md.pandas_pre_trade, pos, prices, wallet, iid, 0.5)
    assert decision in ("approve", "reduce", "reject")
