"""Small attribution kernels against plain numpy references and their Python twins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.kernels import attribution as K

keys = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=1, max_size=40)


def reference_runs(pkey, tkey):
    change = np.r_[True, (pkey[1:] != pkey[:-1]) | (tkey[1:] != tkey[:-1])]
    cell_start = np.r_[np.flatnonzero(change), len(pkey)]
    firsts = cell_start[:-1]
    port_change = np.r_[True, pkey[firsts][1:] != pkey[firsts][:-1]]
    port_start = np.r_[np.flatnonzero(port_change), len(firsts)]
    same_port = pkey[1:] == pkey[:-1]
    ok = not np.any(same_port & (tkey[1:] < tkey[:-1]))
    return cell_start, port_start, ok


@settings(max_examples=60, deadline=None)
@given(keys, st.booleans())
def test_cell_runs(pairs, sort):
    if sort:
        pairs = sorted(pairs)
    pkey = np.array([p for p, _ in pairs], np.int64)
    tkey = np.array([t for _, t in pairs], np.int32)
    want = reference_runs(pkey, tkey)
    for fn in (K.cell_runs, K.cell_runs.py_func):
        cs, ps, ok = fn(pkey, tkey)
        np.testing.assert_array_equal(cs, want[0])
        np.testing.assert_array_equal(ps, want[1])
        assert ok == want[2]


@settings(max_examples=60, deadline=None)
@given(keys, st.booleans(), st.integers(2, 5))
def test_cell_runs_in_blocks(pairs, sort, blocks):
    # the scan split over blocks of rows (threads) and stitched equals the one-block scan
    from pmcore.attribution._layout import _runs

    if sort:
        pairs = sorted(pairs)
    pkey = np.array([p for p, _ in pairs], np.int64)
    tkey = np.array([t for _, t in pairs], np.int32)
    want = reference_runs(pkey, tkey)
    cs, ps, ok = _runs(pkey, tkey, min(blocks, len(pkey)))
    np.testing.assert_array_equal(cs, want[0])
    np.testing.assert_array_equal(ps, want[1])
    assert ok == want[2]
    for lo, hi in ((0, len(pkey)), (len(pkey) // 2, len(pkey))):
        starts, firsts, _ = K.cell_run_block.py_func(pkey, tkey, lo, hi)
        np.testing.assert_array_equal(starts, want[0][(want[0] >= lo) & (want[0] < hi)])
        assert len(firsts) == np.count_nonzero(np.r_[True, pkey[1:] != pkey[:-1]][lo:hi])


@pytest.mark.parametrize("n", [1, 2, 63, 64, 65, 129, 1000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cell_runs_across_chunks(n, seed):
    # runs that start inside, at and just after the 64-row chunks of the scan; a backward period anywhere
    rng = np.random.default_rng(seed)
    runs = rng.integers(1, 90, n)
    pkey = np.repeat(np.arange(n), runs)[:n].astype(np.int64) // 3
    tkey = np.repeat(np.arange(n), runs)[:n].astype(np.int32)
    if seed == 2 and n > 2:
        tkey[rng.integers(1, n)] -= 5  # may go backwards within a portfolio
    want = reference_runs(pkey, tkey)
    for blocks in (1, 2, 3):
        from pmcore.attribution._layout import _runs

        cs, ps, ok = _runs(pkey, tkey, min(blocks, n))
        np.testing.assert_array_equal(cs, want[0])
        np.testing.assert_array_equal(ps, want[1])
        assert ok == want[2]
    cs, ps, ok = K.cell_runs.py_func(pkey, tkey)
    np.testing.assert_array_equal(cs, want[0])
    assert ok == want[2]


values = st.lists(st.sampled_from([0.0, 0.5, -1.0, np.nan, np.inf]), min_size=4, max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(values, min_size=0, max_size=8))
def test_first_invalid_row(rows):
    arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
    wp, rp, wb, rb = (np.ascontiguousarray(arr[:, j]) for j in range(4))
    want = (-1, 0)
    for i in range(len(arr)):
        codes = [not np.isfinite(wp[i]), not np.isfinite(wb[i]),
                 wp[i] != 0 and not np.isfinite(rp[i]), wb[i] != 0 and not np.isfinite(rb[i])]
        if any(codes):
            want = (i, codes.index(True) + 1)
            break
    assert K.first_invalid_row(wp, rp, wb, rb) == want
    assert K.first_invalid_row.py_func(wp, rp, wb, rb) == want


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1, 2, allow_nan=False), min_size=7, max_size=35), st.floats(0, 0.5))
def test_check_cell_totals(flat, tol):
    totals = np.array(flat[: len(flat) // 7 * 7]).reshape(-1, 7)
    got = K.check_cell_totals(totals, tol)
    twin = K.check_cell_totals.py_func(totals, tol)
    assert got[:2] == twin[:2] and np.isclose(got[2], twin[2])
    bad_p = np.abs(totals[:, 2] - 1) > tol
    bad_b = np.abs(totals[:, 3] - 1) > tol
    bad = bad_p | bad_b
    if bad.any():
        c = int(np.flatnonzero(bad)[0])
        assert got[:2] == (c, 2 if bad_p[c] else 3)
    else:
        gap = np.abs(totals[:, 0] - totals[:, 1] - totals[:, 4:].sum(axis=1))
        assert got[:2] == (-1, 0) and np.isclose(got[2], gap.max())


# ------------------------------------------------------------- row sums by group


def reference_sums(pkey, tkey, group, wp, rp, wb, rb, n_groups):
    """Cell starts, portfolio firsts and field-major group sums, with plain numpy (independent)."""
    cell_start, port_start, _ = reference_runs(pkey, tkey)
    sums = np.zeros((len(cell_start) - 1, 4 * n_groups))
    for c, (lo, hi) in enumerate(zip(cell_start[:-1], cell_start[1:])):
        g = group[lo:hi]
        for f, v in enumerate((wp[lo:hi], np.where(wp[lo:hi] != 0, wp[lo:hi] * rp[lo:hi], 0.0),
                               wb[lo:hi], np.where(wb[lo:hi] != 0, wb[lo:hi] * rb[lo:hi], 0.0))):
            sums[c, f * n_groups:(f + 1) * n_groups] = np.bincount(g, weights=v, minlength=n_groups)
    return cell_start[:-1], port_start[:-1], sums


def _irregular_rows(runs, n_groups, seed):
    """Keys of cells of the given lengths (3 periods per portfolio), groups, weights and returns."""
    rng = np.random.default_rng(seed)
    cell = np.repeat(np.arange(len(runs)), runs)
    pkey = (cell // 3).astype(np.int64)
    tkey = (cell % 3).astype(np.int32)
    n = len(cell)
    group = rng.integers(0, n_groups, n).astype(np.int32)
    wp, wb = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    wp[rng.random(n) < 0.3] = 0.0
    wb[rng.random(n) < 0.3] = 0.0
    rp, rb = rng.normal(0, 0.1, n), rng.normal(0, 0.1, n)
    rp[wp == 0] = np.nan  # a return under a zero weight is not read
    rb[wb == 0] = np.nan
    return pkey, tkey, group, wp, rp, wb, rb


cell_lengths = st.lists(st.integers(1, 40), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(cell_lengths, st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_add_rows_matches_numpy(runs, n_groups, seed):
    # cells of any length (the prefetching loop takes 8 rows at a time), NaN returns under zero weights
    arrays = _irregular_rows(runs, n_groups, seed)
    starts, _, want = reference_sums(*arrays, n_groups)
    ends = np.r_[starts[1:], len(arrays[0])]
    for add in (K.add_rows, K.add_rows.py_func):
        for c, (lo, hi) in enumerate(zip(starts, ends)):
            rows, acc = np.zeros(4 * n_groups), np.empty(4 * n_groups)
            add(*arrays[2:], lo, hi, rows)
            K.field_major(rows, acc)
            np.testing.assert_allclose(acc, want[c], rtol=1e-12, atol=1e-15)
