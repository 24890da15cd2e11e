"""Linked Brinson in one pass over the rows (cells of many rows) against the two-pass route and pandas."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pmcore.attribution._onepass as one_pass
from pmcore.attribution import brinson
from pmcore.errors import ValidationError
from pmcore.frames import to_arrow

from .test_brinson import load_pandas_peer


def _security_panel(seed: int, n_p: int, n_t: int, n_s: int, n_g: int, drop: float = 0.0) -> pa.Table:
    """Portfolios x periods x securities in ``n_g`` groups; some holdings are zero on one side.

    ``drop``: the share of rows left out (securities missing from some
    periods), so that cells vary in length.
    """
    rng = np.random.default_rng(seed)
    shape = (n_p, n_t, n_s)
    group = np.arange(n_s) % n_g
    keep = rng.random(shape) >= drop
    keep[..., 0] = True
    wp = np.where(rng.random(shape) < 0.3, 0.0, rng.uniform(0, 1, shape)) * keep
    wb = np.where(rng.random(shape) < 0.2, 0.0, rng.uniform(0, 1, shape)) * keep
    wp[..., 0] += 0.1
    wb[..., 0] += 0.1
    wp /= wp.sum(axis=2, keepdims=True)
    wb /= wb.sum(axis=2, keepdims=True)
    rp = rng.normal(0, 0.02, shape)
    rb = rng.normal(0, 0.02, shape)
    rp[wp == 0] = np.nan  # a return may be missing where its weight is 0
    n = wp.size
    return pa.table({
        "portfolio_id": np.repeat([f"P{i}" for i in range(n_p)], n_t * n_s),
        "period": np.tile(np.repeat(np.arange(n_t), n_s), n_p),
        "group": np.tile(np.array([f"G{g}" for g in group]), n_p * n_t),
        "portfolio_weight": wp.reshape(n), "portfolio_return": rp.reshape(n),
        "benchmark_weight": wb.reshape(n), "benchmark_return": rb.reshape(n),
    }).filter(pa.array(keep.reshape(n)))


def _two_pass(monkeypatch, table, **kw):
    with monkeypatch.context() as m:
        m.setattr(one_pass, "MIN_ROWS_PER_GROUP", 10**9)  # the route is never taken
        return brinson(table, **kw)


def _frames_equal(a, b):
    for part in ("linked", "linked_totals"):
        assert to_arrow(getattr(a, part), "x").equals(to_arrow(getattr(b, part), "x")), part
    assert a.residual == b.residual


def test_route_is_taken_for_cells_of_many_rows(monkeypatch):
    calls = []
    real = one_pass.linked_one_pass
    monkeypatch.setattr("pmcore.attribution.brinson_effects.linked_one_pass",
                        lambda *a: calls.append(real(*a)) or calls[-1])
    brinson(_security_panel(0, 3, 4, 40, 5), linking="carino")
    brinson(_security_panel(0, 3, 4, 6, 5), linking="carino")  # about one row per group: two passes
    assert calls[0] is not None and calls[1] is None


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 6), st.integers(20, 70), st.integers(1, 5),
       st.sampled_from(["carino", "menchero", "grap", "frongello"]), st.sampled_from(["bf", "bhb"]))
def test_equals_the_two_pass_route(seed, n_p, n_t, n_s, n_g, linking, method):
    # same rows summed in the same order: the same numbers to the last bit
    table = _security_panel(seed, n_p, n_t, n_s, n_g)
    mp = pytest.MonkeyPatch()
    try:
        want = _two_pass(mp, table, linking=linking, method=method)
    finally:
        mp.undo()
    got = brinson(table, linking=linking, method=method)
    _frames_equal(got, want)
    assert got.reconciles


def test_matches_pandas_peer():
    # the vectorised pandas Brinson-Fachler + Carino of benchmarks/attribution_data.py
    peer = load_pandas_peer()
    table = peer.security_level(4, 15, 120)
    _, linked = peer.pandas_brinson_fachler_carino(table.to_pandas())
    res = brinson(table, by="sector", linking="carino", threads=2)
    ours = to_arrow(res.linked, "x").to_pandas().set_index(["portfolio_id", "sector"]).sort_index()
    theirs = linked.sort_index()
    for name in ("allocation", "selection", "interaction"):
        np.testing.assert_allclose(ours[name].to_numpy(), theirs[name].to_numpy(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_threads_give_the_same_numbers(threads):
    table = _security_panel(5, 7, 6, 50, 4)
    _frames_equal(brinson(table, linking="carino", threads=threads), brinson(table, linking="carino", threads=1))


def test_cells_of_varying_length(monkeypatch):
    # securities leave and join the universe: cells shorter and longer than the one before
    table = _security_panel(9, 3, 8, 60, 4, drop=0.3)
    _frames_equal(brinson(table, linking="grap"), _two_pass(monkeypatch, table, linking="grap"))


@pytest.mark.parametrize("disorder", ["periods backwards", "portfolio in two runs"])
def test_rows_out_of_order_are_sorted_first(disorder):
    table = _security_panel(3, 3, 4, 50, 5)
    n = table.num_rows
    rows = np.arange(n)
    if disorder == "periods backwards":  # the last two periods of the first portfolio swapped
        rows[100:150], rows[150:200] = rows[150:200].copy(), rows[100:150].copy()
    else:  # the first portfolio's last period moved to the end
        rows = np.r_[rows[:150], rows[200:], rows[150:200]]
    shuffled = table.take(pa.array(rows))
    _frames_equal(brinson(shuffled, linking="carino"), brinson(table, linking="carino"))


def test_bad_rows_name_portfolio_period_and_group():
    table = _security_panel(2, 2, 3, 50, 5)
    wb = table.column("benchmark_weight").to_numpy().copy()
    wb[170] = np.nan  # portfolio P1, period 0, security 20 (group G0)
    bad = table.set_column(table.schema.get_field_index("benchmark_weight"), "benchmark_weight", pa.array(wb))
    with pytest.raises(ValidationError, match="portfolio 'P1', period 0, group 'G0'") as err:
        brinson(bad, linking="carino")
    assert err.value.column == "benchmark_weight" and err.value.row == 170
    wp = table.column("portfolio_weight").to_numpy().copy()
    wp[60] += 0.01  # portfolio P0, period 1
    bad = table.set_column(table.schema.get_field_index("portfolio_weight"), "portfolio_weight", pa.array(wp))
    with pytest.raises(ValidationError, match="does not sum to 1 for portfolio 'P0', period 1"):
        brinson(bad, linking="carino")
