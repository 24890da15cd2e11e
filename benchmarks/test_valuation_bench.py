"""Valuation + exposures: pmcore vs polars vs pandas, and revaluation vs one numpy pass."""

from __future__ import annotations

import numpy as np
import pytest

import pmcore as pm
from pmcore.market import align_fx, align_prices

from . import valuation_data as vd


@pytest.fixture(scope="module")
def data():
    return vd.make_book(**vd.sizes())


@pytest.fixture(scope="module")
def frames(data):
    import polars as pl

    return {"arrow": data, "polars": {k: pl.from_arrow(v) for k, v in data.items()},
            "categorical": vd.categorical(data),
            "pandas": {k: v.to_pandas() for k, v in data.items()}}


@pytest.mark.parametrize("impl", ["pmcore", "pmcore-polars-in", "pmcore-categorical", "polars", "pandas"])
def test_end_to_end(benchmark, frames, impl):
    """Frames with string ids in: value every portfolio and its exposures by sector."""
    benchmark.group = "end-to-end value + exposures"
    run, d = {
        "pmcore": (vd.run_pmcore, frames["arrow"]),
        "pmcore-polars-in": (vd.run_pmcore, frames["polars"]),
        "pmcore-categorical": (vd.run_pmcore, frames["categorical"]),
        "polars": (vd.run_polars, frames["polars"]),
        "pandas": (vd.run_pandas, frames["pandas"]),
    }[impl]
    run(d)  # warm-up: compile, caches
    result = benchmark(run, d)
    assert result is not None


@pytest.fixture(scope="module")
def prepared(data):
    book = pm.Book.from_frames(data["positions"], data["instruments"], cash=data["cash"])
    prices = align_prices(book, data["prices"])[0]
    fx = align_fx(book, data["fx"])
    pcode = np.repeat(np.arange(book.n_portfolios), np.diff(book.offsets))
    return book, prices, fx, pcode


@pytest.mark.parametrize("impl", ["pmcore", "numpy-pass"])
def test_revalue(benchmark, prepared, impl):
    """A prepared book revalued with a new price vector (no string is touched)."""
    benchmark.group = "revalue prepared book"
    book, prices, fx, pcode = prepared
    if impl == "pmcore":
        book.revalue(prices, fx)
        out = benchmark(book.revalue, prices, fx)
        np.testing.assert_allclose(out.market_value, vd.numpy_pass(book, prices, fx, pcode), rtol=1e-9)
    else:
        benchmark(vd.numpy_pass, book, prices, fx, pcode)


def test_one_portfolio_of_100_positions(benchmark):
    """Latency of one revaluation call from Python (target: median under 20 us)."""
    benchmark.group = "single portfolio"
    d = vd.make_book(100, 1, 100, seed=3)
    book = pm.Book.from_frames(d["positions"], d["instruments"], cash=d["cash"])
    prices = align_prices(book, d["prices"])[0]
    fx = align_fx(book, d["fx"])
    book.revalue(prices, fx)
    out = benchmark(book.revalue, prices, fx)
    assert out.position_count[0] == 100
