"""Attribution called from a thread pool and a process pool gives the serial answers."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import multiprocessing
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.attribution import brinson
from pmcore.errors import ValidationError
from pmcore.frames import to_arrow

from .test_brinson import bacon_8_1, panels


def _panel(seed: int, n_p: int = 20, n_t: int = 30, n_g: int = 11) -> pa.Table:
    rng = np.random.default_rng(seed)
    wp = rng.uniform(0.01, 1, (n_p, n_t, n_g))
    wb = rng.uniform(0.01, 1, (n_p, n_t, n_g))
    n = wp.size
    return pa.table({
        "portfolio_id": np.repeat(np.arange(n_p), n_t * n_g),
        "period": np.tile(np.repeat(np.arange(n_t), n_g), n_p),
        "group": np.tile(np.arange(n_g), n_p * n_t),
        "portfolio_weight": (wp / wp.sum(axis=2, keepdims=True)).ravel(),
        "benchmark_weight": (wb / wb.sum(axis=2, keepdims=True)).ravel(),
        "portfolio_return": rng.normal(0, 0.01, n), "benchmark_return": rng.normal(0, 0.01, n),
    })


def _linked_total(seed: int) -> np.ndarray:
    res = brinson(_panel(seed), linking="carino")
    return to_arrow(res.linked, "x").column("total").to_numpy()


def test_thread_and_process_pools_match_serial():
    seeds = list(range(6))
    serial = [_linked_total(s) for s in seeds]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(_linked_total, seeds))
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        processed = list(pool.map(_linked_total, seeds[:2]))
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(serial, processed):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 8), st.integers(1, 12),
       st.sampled_from(["bf", "bhb"]), st.sampled_from(["carino", "menchero", "grap", "frongello"]))
def test_reconciles_on_wide_search(seed, n_p, n_t, n_g, method, linking):
    res = brinson(_panel(seed, n_p, n_t, n_g), method=method, linking=linking, periods=True)
    assert res.reconciles, res.residual


@settings(max_examples=15, deadline=None)
@given(panels(max_portfolios=6, max_periods=5), st.integers(2, 4),
       st.sampled_from(["carino", "menchero", "grap", "frongello"]))
def test_threads_split_portfolios_and_match_one_thread(table, threads, linking):
    one = brinson(table, linking=linking, threads=1)
    many = brinson(table, linking=linking, threads=threads)
    for part in ("linked", "linked_totals"):
        assert to_arrow(getattr(many, part), "x").equals(to_arrow(getattr(one, part), "x"))
    assert many.residual == one.residual


def test_default_threads_from_the_row_count():
    import pmcore.attribution.brinson_effects as module

    assert module._thread_count(None, module.PARALLEL_ROWS - 1, 10) == 1
    assert module._thread_count(None, module.PARALLEL_ROWS, 1) == 1  # one portfolio: nothing to split
    assert module._thread_count(3, 10, 2) == 2
    with pytest.raises(ValidationError, match="count >= 1"):
        brinson(pa.table(bacon_8_1()), linking="carino", threads=0)
