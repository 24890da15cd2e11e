"""Kernels against plain numpy references and against their uncompiled Python twins."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pmcore.kernels import valuation as kv
from pmcore.kernels.book import (
    block_starts, count_block, first_repeat, group_rows, layout_positions, scatter_block,
)


def _book_arrays(seed, n_p, n_i, n):
    rng = np.random.default_rng(seed)
    pcode = rng.integers(0, n_p, n).astype(np.int32)
    inst = rng.integers(0, n_i, n).astype(np.int32)
    q = rng.normal(0, 100, n)
    q[rng.random(n) < 0.1] = 0.0
    avg = rng.uniform(1, 100, n)
    price = rng.uniform(1, 100, n_i)
    scale = rng.choice([1.0, 1.1, 50.0, 0.0067], n_i)
    return rng, pcode, inst, q, avg, price, scale


def _reference_value(pcode, n_p, inst, q, avg, price, scale, cash, is_margin):
    """Plain numpy: one pass with np.bincount per field."""
    mv = q * price[inst] * scale[inst]
    upnl = q * (price[inst] - avg) * scale[inst]
    long_ = np.bincount(pcode, np.where(q > 0, mv, 0.0), n_p)
    short = np.bincount(pcode, np.where(q < 0, mv, 0.0), n_p)
    net = np.bincount(pcode, mv, n_p)
    up = np.bincount(pcode, upnl, n_p)
    inv = np.bincount(pcode, np.abs(q) * avg * scale[inst], n_p)
    count = np.bincount(pcode, (q != 0).astype(float), n_p)
    equity = cash[:, 0] + np.where(is_margin, up, net)
    return np.column_stack([long_, short, net, up, inv, count, cash[:, 0], cash[:, 1], equity])


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 6), n_i=st.integers(1, 8),
       n=st.integers(0, 40))
def test_value_book_matches_numpy_reference(seed, n_p, n_i, n):
    rng, pcode, inst, q, avg, price, scale = _book_arrays(seed, n_p, n_i, n)
    offsets, order, _ = group_rows(pcode, n_p, inst, n_i)
    cash = rng.normal(0, 1e4, (n_p, 2))
    is_margin = rng.random(n_p) < 0.5
    out = np.empty((n_p, kv.N_FIELDS))
    kv.value_book(offsets, inst[order], q[order], avg[order], price, scale, cash, is_margin, out)
    ref = _reference_value(pcode, n_p, inst, q, avg, price, scale, cash, is_margin)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-6)
    twin = np.empty_like(out)
    kv.value_book.py_func(offsets, inst[order], q[order], avg[order], price, scale, cash, is_margin, twin)
    np.testing.assert_allclose(out, twin, rtol=1e-14, atol=1e-9)


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 6), n_i=st.integers(1, 8),
       n=st.integers(0, 40))
def test_revalue_book_is_value_book_after_scale_and_cash(seed, n_p, n_i, n):
    """The one-dispatch latency kernel equals its steps run one by one, to the bit."""
    rng, pcode, inst, q, avg, price, _ = _book_arrays(seed, n_p, n_i, n)
    offsets, order, _ = group_rows(pcode, n_p, inst, n_i)
    multiplier = rng.choice([1.0, 10.0, 50.0], n_i)
    n_c = 3
    inst_ccy = rng.integers(0, n_c, n_i).astype(np.int32)
    fx = rng.uniform(0.005, 2.0, n_c)
    c_pcode = rng.integers(0, n_p, 5).astype(np.int32)
    c_ccy = rng.integers(0, n_c, 5).astype(np.int32)
    c_off, c_order, _ = group_rows(c_pcode, n_p, c_ccy, n_c)
    amounts = rng.normal(0, 1e4, (5, 2))[c_order]
    is_margin = rng.random(n_p) < 0.5
    got = np.empty((n_p, kv.N_FIELDS))
    kv.revalue_book(offsets, inst[order], q[order], avg[order], price, multiplier, inst_ccy, fx,
                    c_off, c_ccy[c_order], amounts, is_margin, got)
    cash = np.empty((n_p, 2))
    kv.cash_in_base(c_off, c_ccy[c_order], amounts, fx, cash)
    want = np.empty_like(got)
    kv.value_book(offsets, inst[order], q[order], avg[order], price, multiplier * fx[inst_ccy], cash, is_margin,
                  want)
    np.testing.assert_array_equal(got, want)


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 6), n_i=st.integers(1, 30),
       n=st.integers(0, 60))
def test_group_rows_is_a_stable_counting_sort(seed, n_p, n_i, n):
    rng = np.random.default_rng(seed)
    pcode = rng.integers(0, n_p, n).astype(np.int32)
    inst = rng.integers(0, n_i, n).astype(np.int32)
    offsets, order, dup = group_rows(pcode, n_p, inst, n_i)
    np.testing.assert_array_equal(order, np.argsort(pcode, kind="stable"))
    np.testing.assert_array_equal(np.diff(offsets), np.bincount(pcode, minlength=n_p))
    keys = pcode.astype(np.int64) * n_i + inst
    _, first = np.unique(keys, return_index=True)
    repeats = np.setdiff1d(np.arange(n), first)
    assert dup == (repeats.min() if len(repeats) else -1)


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 5), n_i=st.integers(1, 10),
       n_g=st.integers(1, 4), n=st.integers(0, 40))
def test_group_exposures_matches_numpy_reference(seed, n_p, n_i, n_g, n):
    rng, pcode, inst, q, avg, price, scale = _book_arrays(seed, n_p, n_i, n)
    group = rng.integers(0, n_g, n_i).astype(np.int32)
    offsets, order, _ = group_rows(pcode, n_p, inst, n_i)
    out_off, out_group, vals, totals = kv.group_exposures(
        offsets, inst[order], q[order], avg[order], price, scale, group, n_g)
    mv = q * price[inst] * scale[inst]
    key = pcode.astype(np.int64) * n_g + group[inst]
    uniq = np.unique(key)
    np.testing.assert_array_equal(out_group, (uniq % n_g).astype(np.int32))
    np.testing.assert_array_equal(np.repeat(np.arange(n_p), np.diff(out_off)), uniq // n_g)
    pos = np.searchsorted(uniq, key)
    ref_long = np.bincount(pos, np.where(q > 0, mv, 0.0), len(uniq))
    ref_short = np.bincount(pos, np.where(q < 0, mv, 0.0), len(uniq))
    np.testing.assert_allclose(vals[:, 0], ref_long, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(vals[:, 1], ref_short, rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(vals[:, 2], np.bincount(pos, (q != 0).astype(float), len(uniq)))
    # per-portfolio totals from the same pass: net market value and unrealized PnL
    upnl = q * (price[inst] - avg) * scale[inst]
    np.testing.assert_allclose(totals[:, 0], np.bincount(pcode, mv, n_p), rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(totals[:, 1], np.bincount(pcode, upnl, n_p), rtol=1e-12, atol=1e-6)


def test_neumaier_sum_is_exact_where_naive_sum_fails():
    # 1 + 1e100 + 1 - 1e100 = 2 exactly; the naive float sum gives 0
    values = np.array([1.0, 1e100, 1.0, -1e100])
    offsets = np.array([0, 4])
    inst = np.arange(4, dtype=np.int32)
    out = np.empty((1, kv.N_FIELDS))
    kv.value_book(offsets, inst, np.ones(4), np.zeros(4), values, np.ones(4),
                  np.zeros((1, 2)), np.zeros(1, bool), out)
    assert out[0, kv.NET] == 2.0 == math.fsum(values)


def test_first_invalid():
    v = np.array([1.0, np.nan, -1.0, 2.0, np.inf])
    assert kv.first_invalid(v, np.array([True, False, False, True, False])) == -1
    assert kv.first_invalid(v, np.array([True, False, True, True, False])) == 2
    assert kv.first_invalid(v, np.array([False, True, True, True, True])) == 1
    assert kv.first_invalid(v, np.array([False, False, False, False, True])) == 4


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 6), n_i=st.integers(1, 12),
       n=st.integers(0, 60), n_blocks=st.integers(1, 4))
def test_layout_in_blocks_equals_layout_positions(seed, n_p, n_i, n, n_blocks):
    """count_block / block_starts / scatter_block / first_repeat on any cut into blocks
    give layout_positions' result (itself checked against numpy's stable argsort)."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, n_p, n).astype(np.int32)
    remap = rng.permutation(n_p).astype(np.int32)
    inst = rng.integers(0, n_i, n).astype(np.int32)
    q, avg = rng.normal(0, 10, n), rng.uniform(1, 9, n)
    ref = layout_positions(remap[raw], n_p, inst, n_i, q, avg)
    np.testing.assert_array_equal(ref[1], np.argsort(remap[raw], kind="stable"))
    cuts = np.linspace(0, n, n_blocks + 1).astype(int)
    counts = np.zeros((n_blocks, n_p), np.int64)
    for b in range(n_blocks):
        count_block(raw, remap, cuts[b], cuts[b + 1], counts[b])
    offsets = np.empty(n_p + 1, np.int64)
    block_starts(counts, offsets)
    order, io = np.empty(n, np.int32), np.empty(n, np.int32)
    qo, ao, held = np.empty(n), np.empty(n), np.zeros(n_i, bool)
    for b in range(n_blocks):
        scatter_block(raw, remap, inst, q, avg, cuts[b], cuts[b + 1], counts[b], order, io, qo, ao, held)
    p_cut = rng.integers(0, n_p + 1)
    dups = [d for d in (first_repeat(offsets, order, io, n_i, 0, p_cut),
                        first_repeat(offsets, order, io, n_i, p_cut, n_p)) if d >= 0]
    for got, want in zip((offsets, order, io, qo, ao, held, min(dups) if dups else -1), ref):
        np.testing.assert_array_equal(got, want)


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 6), n_c=st.integers(1, 4),
       n=st.integers(0, 30))
def test_cash_in_base_matches_numpy_reference(seed, n_p, n_c, n):
    rng = np.random.default_rng(seed)
    pcode = np.sort(rng.integers(0, n_p, n))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(pcode, minlength=n_p))]).astype(np.int64)
    cur = rng.integers(0, n_c, n).astype(np.int32)
    amounts = np.column_stack([rng.normal(0, 1e5, n), rng.uniform(0, 1e3, n)])
    fx = rng.uniform(0.005, 2.0, n_c)
    out = np.empty((n_p, 2))
    kv.cash_in_base(offsets, cur, amounts, fx, out)
    ref = np.column_stack([np.bincount(pcode, amounts[:, j] * fx[cur], n_p) for j in range(2)])
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-6)
    twin = np.empty_like(out)
    kv.cash_in_base.py_func(offsets, cur, amounts, fx, twin)
    np.testing.assert_allclose(out, twin, rtol=1e-14, atol=1e-9)


@given(seed=st.integers(0, 2**32 - 1), n_i=st.integers(1, 8), n=st.integers(0, 40))
def test_position_values_matches_numpy_reference(seed, n_i, n):
    rng, _, inst, q, avg, price, scale = _book_arrays(seed, 1, n_i, n)
    out = np.empty((n, 3))
    kv.position_values(inst, q, avg, price, scale, out)
    ref = np.column_stack([q * price[inst] * scale[inst], q * avg * scale[inst],
                           q * (price[inst] - avg) * scale[inst]])
    np.testing.assert_allclose(out, ref, rtol=1e-14, atol=1e-9)
    twin = np.empty_like(out)
    kv.position_values.py_func(inst, q, avg, price, scale, twin)
    np.testing.assert_array_equal(out, twin)
