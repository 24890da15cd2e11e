"""Tax-lot relief: pmcore.rebalance.tax.select_lots beside a vectorised pandas FIFO / HIFO.

One sale per (account, instrument); pandas sorts the lots (by acquisition
date, or by cost for HIFO), takes a cumulative sum per group and clips it to
the sale, the usual way to relieve lots without a Python loop. Both sides get
the same frames and must realize the same gains. Full size with
``PMCORE_BENCH_FULL=1``: 1,000,000 lots of 20,000 accounts.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest

FULL = os.environ.get("PMCORE_BENCH_FULL") == "1"


def make_data(n_accounts: int, n_instruments: int = 10, per: int = 5, seed: int = 11):
    rng = np.random.default_rng(seed)
    n = n_accounts * n_instruments * per
    lots = pa.table({
        "portfolio_id": np.repeat(np.arange(n_accounts), n_instruments * per),
        "instrument_id": np.tile(np.repeat(np.arange(n_instruments), per), n_accounts),
        "lot_id": np.tile(np.arange(per), n_accounts * n_instruments),
        "acquired": pa.array(rng.integers(18_000, 19_900, n).astype(np.int32)).cast(pa.date32()),
        "quantity": rng.integers(20, 100, n).astype(float),
        "unit_cost": np.round(rng.uniform(10, 200, n), 2),
    })
    m = n_accounts * n_instruments
    sales = pa.table({
        "portfolio_id": np.repeat(np.arange(n_accounts), n_instruments),
        "instrument_id": np.tile(np.arange(n_instruments), n_accounts),
        "date": pa.array(np.full(m, 20_000, np.int32)).cast(pa.date32()),
        "quantity": np.full(m, 90.0), "price": np.round(rng.uniform(10, 200, m), 2),
    })
    return lots, sales


def pandas_relief(lots, sales, method: str):
    """Realized gain per (account, instrument), vectorised pandas."""
    key = ["portfolio_id", "instrument_id"]
    df = lots.merge(sales[key + ["quantity", "price"]].rename(columns={"quantity": "sell"}), on=key)
    order = key + (["acquired", "lot_id"] if method == "fifo" else ["unit_cost"])
    asc = [True, True, True, True] if method == "fifo" else [True, True, False]
    df = df.sort_values(order, ascending=asc, kind="stable")
    cum = df.groupby(key, sort=False)["quantity"].cumsum()
    before = cum - df["quantity"]
    taken = (np.minimum(cum, df["sell"]) - before).clip(lower=0.0)
    df["gain"] = taken * (df["price"] - df["unit_cost"])
    return df.groupby(key)["gain"].sum()


@pytest.fixture(scope="module")
def data():
    lots, sales = make_data(20_000 if FULL else 500)
    return lots, sales, lots.to_pandas(), sales.to_pandas()


def _pmcore(lots, sales, method):
    from pmcore.rebalance.tax import select_lots

    return select_lots(lots, sales, method=method)


@pytest.mark.parametrize("method", ["fifo", "hifo"])
@pytest.mark.parametrize("impl", ["pmcore", "pandas"])
def test_lot_relief(benchmark, data, impl, method):
    """Relieve lots for one sale in every (account, instrument) and sum the realized gains."""
    benchmark.group = f"tax lots: {method}"
    lots, sales, lots_pd, sales_pd = data
    expect = pandas_relief(lots_pd, sales_pd, method)
    if impl == "pmcore":
        _pmcore(lots.slice(0, 20), sales.slice(0, 2), method)  # warm-up: compile
        r = benchmark(_pmcore, lots, sales, method)
        got = r.realized.to_pandas().groupby(["portfolio_id", "instrument_id"])["gain"].sum()
        np.testing.assert_allclose(got.sort_index().to_numpy(), expect.sort_index().to_numpy(), rtol=1e-9,
                                   atol=1e-6)
    else:
        out = benchmark(pandas_relief, lots_pd, sales_pd, method)
        assert len(out) == sales.num_rows
