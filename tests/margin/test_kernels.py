"""Margin kernels against the plain references and against their uncompiled Python twins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmcore.kernels import margin as km
from pmcore.margin.brackets import maintenance_amounts

from .reference import close_plan_ref, margin_state_ref


def random_arrays(seed, n_p, n_i, n, with_tiers=True):
    """Kernel inputs: CSR book, positions, market, tiers (some instruments without), accounts."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.ones(n_p) / n_p) if n_p else np.zeros(0, int)
    offsets = np.zeros(n_p + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    instrument = rng.integers(0, n_i, n).astype(np.int32)
    q = rng.normal(0, 5, n)
    q[rng.random(n) < 0.1] = 0.0
    entry = rng.uniform(50, 150, n)
    lev = rng.choice([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 125.0], n)
    isolated = rng.random(n) < 0.4
    iso_margin = np.where(rng.random(n) < 0.5, np.abs(q) * entry / lev * rng.uniform(0.5, 2, n), np.nan)
    pos = (q, entry, lev, isolated, iso_margin)
    market = np.column_stack([rng.uniform(50, 150, n_i), rng.choice([1.0, 10.0, 0.9], n_i)])
    br_offsets = np.zeros(n_i + 1, np.int64)
    rows = []
    for i in range(n_i):
        k = int(rng.integers(0, 5)) if with_tiers else 0
        if k:
            floor = np.concatenate([[0.0], np.sort(rng.choice(np.arange(1, 40) * 50.0, k - 1, replace=False))])
            rate = np.sort(rng.uniform(0.004, 0.2, k))
            rows.append(km.tier_table(floor, rate, maintenance_amounts(floor, rate)))
        br_offsets[i + 1] = br_offsets[i] + k
    br = np.vstack(rows) if rows else np.zeros((0, 5))
    account = np.column_stack([rng.uniform(-100, 5000, n_p), rng.choice([1.0, 10.0, np.nan], n_p)])
    return offsets, instrument, pos, market, br_offsets, np.ascontiguousarray(br), account


def run(kernel, args, n_p, n):
    offsets, instrument, pos, market, br_offsets, br, account = args
    out_pos = np.full((n, km.N_POS_FIELDS), -7.0)
    out_acc = np.full((n_p, km.N_ACC_FIELDS), -7.0)
    table = km.instrument_table(market, br_offsets, br)
    kernel(offsets, instrument, pos, table, account, 0.5, out_pos, out_acc)
    return out_pos, out_acc


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 5), n_i=st.integers(1, 6),
       n=st.integers(0, 30))
def test_margin_state_matches_reference_and_twin(seed, n_p, n_i, n):
    args = random_arrays(seed, n_p, n_i, n)
    got_pos, got_acc = run(km.margin_state, args, n_p, n)
    par_pos, par_acc = run(km.margin_state_parallel, args, n_p, n)
    np.testing.assert_array_equal(par_pos, got_pos)
    np.testing.assert_array_equal(par_acc, got_acc)
    # the kernel computes a zero position's liquidation price too and then discards it
    # (a select, not a branch): the uncompiled twin's numpy scalars warn about that 0 / 0
    with np.errstate(divide="ignore", invalid="ignore"):
        twin_pos, twin_acc = run(km.margin_state.py_func, args, n_p, n)
    np.testing.assert_allclose(got_pos, twin_pos, rtol=1e-15, atol=0)
    ref_pos, ref_acc = margin_state_ref(*args, 0.5)
    np.testing.assert_allclose(got_pos, ref_pos, rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(got_acc, ref_acc, rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(got_pos, twin_pos, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got_acc, twin_acc, rtol=1e-12, atol=1e-9)


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 5), n=st.integers(0, 30),
       target=st.sampled_from([100.0, 110.0, 150.0, 300.0]))
def test_close_plan_matches_reference_and_twin(seed, n_p, n, target):
    rng = np.random.default_rng(seed)
    offsets = np.zeros(n_p + 1, np.int64)
    np.cumsum(rng.multinomial(n, np.ones(n_p) / n_p), out=offsets[1:])
    upnl = np.round(rng.normal(0, 100, n), 0)  # ties: the earlier position closes first
    initial = np.where(rng.random(n) < 0.1, 0.0, rng.uniform(1, 200, n))
    used = np.array([initial[offsets[p]:offsets[p + 1]].sum() for p in range(n_p)])
    equity = rng.uniform(-50, 400, n_p)
    flagged = rng.random(n_p) < 0.7
    ref_rank, ref_after = close_plan_ref(offsets, upnl, initial, equity, used, target, flagged)
    for kernel in (km.close_plan, km.close_plan.py_func):
        rank = np.full(n, -1, np.int64)
        after = np.empty(n_p)
        kernel(offsets, upnl, initial, equity, used, target, flagged, rank, after)
        np.testing.assert_array_equal(rank, ref_rank)
        np.testing.assert_allclose(after, ref_after, rtol=1e-12)


def test_liquidation_price_is_the_root_in_its_tier():
    # one long, three tiers: the root must land where the notional at LP sits
    br = km.tier_table(np.array([0.0, 1000.0, 5000.0]), np.array([0.01, 0.05, 0.10]),
                       np.array([0.0, 40.0, 290.0]))
    br_offsets = np.array([0, 3], np.int64)
    for c in (10.0, 100.0, 500.0, 3000.0):
        lp = km.liquidation_price(c, 1.0, 50.0, 100.0, br_offsets, br, 0, 10.0, 0.5)
        notional = 50.0 * lp
        t = km.tier_of(br, 0, 3, notional)
        mm = notional * br[t, 1] - br[t, 2]
        assert c + 50.0 * (lp - 100.0) == np.float64(mm) or abs(c + 50.0 * (lp - 100.0) - mm) < 1e-9


@given(seed=st.integers(0, 2**32 - 1), c=st.floats(-1e4, 1e5), side=st.sampled_from([1.0, -1.0]),
       size=st.floats(0.01, 100.0), entry=st.floats(1.0, 1000.0))
def test_liquidation_price_helper_matches_reference(seed, c, side, size, entry):
    from .reference import liq_price

    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 7))
    floor = np.concatenate([[0.0], np.sort(rng.choice(np.arange(1, 200) * 100.0, k - 1, replace=False))])
    rate = np.sort(rng.uniform(0.004, 0.4, k))
    br = km.tier_table(floor, rate, maintenance_amounts(floor, rate))
    br_offsets = np.array([0, k], np.int64)
    for fn in (km.liquidation_price, km.liquidation_price.py_func):
        got = fn(c, side, size, entry, br_offsets, br, 0, 10.0, 0.5)
        want = liq_price(c, side, size, entry, br, 10.0, 0.5, size * entry)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
    rate_got, amount_got = km.maintenance(br_offsets, br, 0, size * entry, 10.0, 0.5)
    t = int(np.searchsorted(floor, size * entry, side="right")) - 1
    assert (rate_got, amount_got) == (br[t, 1], br[t, 2])


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 4), n_i=st.integers(1, 5),
       n=st.integers(0, 25))
def test_padding_tiers_with_infinite_floors_changes_nothing(seed, n_p, n_i, n):
    args = random_arrays(seed, n_p, n_i, n)
    offsets, instrument, pos, market, br_offsets, br, account = args
    counts = np.diff(br_offsets)
    width = max(int(counts.max()), 1) + 2
    rows, padded_offsets = [], np.zeros_like(br_offsets)
    for i in range(n_i):
        seg = br[br_offsets[i]:br_offsets[i + 1]]
        if len(seg):
            extra = np.repeat(seg[-1:], width - len(seg), axis=0)
            extra[:, 0] = np.inf
            seg = np.vstack([seg, extra])
        rows.append(seg)
        padded_offsets[i + 1] = padded_offsets[i] + len(seg)
    padded = (offsets, instrument, pos, market, padded_offsets, np.ascontiguousarray(np.vstack(rows)), account)
    got_pos, got_acc = run(km.margin_state, padded, n_p, n)
    want_pos, want_acc = run(km.margin_state, args, n_p, n)
    np.testing.assert_array_equal(got_pos, want_pos)
    np.testing.assert_array_equal(got_acc, want_acc)


def instrument_table_ref(market, br_offsets, br):
    """Plain-numpy layout of ``km.instrument_table``: one row per instrument, padded tiers."""
    counts = np.diff(br_offsets)
    w = max(int(counts.max()) if len(counts) else 1, 1)
    out = np.zeros((len(market), 3 + 5 * w))
    for i, (lo, hi) in enumerate(zip(br_offsets[:-1], br_offsets[1:])):
        out[i, :3] = [market[i, 0], market[i, 1], float(hi > lo)]
        if hi == lo:
            out[i, 3:3 + w] = np.r_[0.0, np.full(w - 1, np.inf)]
            continue
        seg = br[lo:hi]
        padded = np.vstack([seg, np.repeat(seg[-1:], w - len(seg), axis=0)])
        padded[len(seg):, 0] = np.inf
        out[i, 3:] = padded.T.ravel()
    return out


@given(seed=st.integers(0, 2**32 - 1), n_i=st.integers(0, 6), with_tiers=st.booleans())
def test_instrument_table_matches_reference(seed, n_i, with_tiers):
    *_, market, br_offsets, br, _ = random_arrays(seed, 1, max(n_i, 1), 3, with_tiers)
    market, br_offsets = market[:n_i], br_offsets[:n_i + 1]
    br = br[:br_offsets[-1]]
    got = km.instrument_table(market, br_offsets, br)
    np.testing.assert_array_equal(got, instrument_table_ref(market, br_offsets, br))
    np.testing.assert_array_equal(km.instrument_table.py_func(market, br_offsets, br), got)


@given(values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                 st.sampled_from([0.0, -0.0, 1.0, 125.0])), max_size=20),
       nan_ok=st.booleans())
def test_first_outside_matches_numpy(values, nan_ok):
    v = np.array(values, dtype=np.float64)
    for lo, hi in ((1.0, 125.0), (0.0, np.finfo(np.float64).max)):
        with np.errstate(invalid="ignore"):
            bad = ~((v >= lo) & (v <= hi)) & ~(np.isnan(v) & nan_ok)
        want = int(np.flatnonzero(bad)[0]) if bad.any() else -1
        assert km.first_outside(v, lo, hi, nan_ok) == want
        assert km.first_outside.py_func(v, lo, hi, nan_ok) == want
