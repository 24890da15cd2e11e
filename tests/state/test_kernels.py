"""State kernels against their plain-Python twins and against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.kernels import state as ks
from pmcore.kernels import valuation as kv
from pmcore.state.core import Core

from .conftest import Reference


# ----------------------------------------------------------------------------- hash tables


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.tuples(st.booleans(), st.integers(-50, 50)), max_size=80))
def test_hash_set_matches_python_set(ops):
    keys = np.full(256, ks.EMPTY_ID, np.int64)
    shift = 64 - 8
    ref: set[int] = set()
    for insert, k in ops:
        if insert and k not in ref:
            ks.hash_insert(keys, k, shift, ks.EMPTY_ID)
            ref.add(k)
        elif not insert and k in ref:
            ks.hash_delete(keys, keys, k, shift, ks.EMPTY_ID)
            ref.discard(k)
        assert {int(x) for x in keys[keys != ks.EMPTY_ID]} == ref
    for k in range(-50, 51):
        assert (ks.hash_find(keys, k, shift, ks.EMPTY_ID) >= 0) == (k in ref)
        assert (ks.hash_find.py_func(keys, k, shift, ks.EMPTY_ID) >= 0) == (k in ref)


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.tuples(st.booleans(), st.integers(0, 40)), max_size=60))
def test_hash_delete_twin(ops):
    """Backward-shift deletion in a tiny, crowded table: compiled and Python give the same table."""
    a = np.full(64, ks.EMPTY_KEY, np.int64)
    b = a.copy()
    va = np.zeros(64, np.int64)
    vb = va.copy()
    shift = 64 - 6
    present: set[int] = set()
    for insert, k in ops:
        if insert and k not in present:
            ja = ks.hash_insert(a, k, shift, ks.EMPTY_KEY)
            jb = ks.hash_insert.py_func(b, k, shift, ks.EMPTY_KEY)
            va[ja] = vb[jb] = k * 10
            present.add(k)
        elif not insert and k in present:
            ks.hash_delete(a, va, k, shift, ks.EMPTY_KEY)
            ks.hash_delete.py_func(b, vb, k, shift, ks.EMPTY_KEY)
            present.discard(k)
        np.testing.assert_array_equal(a, b)
        for k2 in present:  # values moved along with their keys
            assert va[ks.hash_find(a, k2, shift, ks.EMPTY_KEY)] == k2 * 10


# ----------------------------------------------------------------------------- one fill


@settings(max_examples=200, deadline=None)
@given(q0=st.integers(-20, 20), dq=st.integers(-20, 20).filter(bool), px=st.integers(1, 500),
       a0=st.integers(1, 500), m=st.sampled_from([1.0, 2.0, 0.5]))
def test_fill_step_twin_and_reference(q0, dq, px, a0, m):
    q0, dq, px, a0 = float(q0), float(dq), float(px), float(a0)
    a0 = a0 if q0 else 0.0
    got = ks.fill_step(q0, a0, dq, px, m)
    assert got == ks.fill_step.py_func(q0, a0, dq, px, m)
    ref = Reference.__new__(Reference)  # the independent average-cost bookkeeping, one position
    ref.pos = {("P", "I"): [q0, a0, 0.0]}
    ref.paid, ref.cash, ref.ids, ref.price = {}, {}, set(), {"I": px}
    ref.margin, ref.mult, ref.ccy = {"P": True}, {"I": m}, {"I": "USD"}
    ref.fill(1, "P", "I", dq, px)
    q, avg, real = ref.pos[("P", "I")]
    assert got[0] == q and got[1] == pytest.approx(avg) and got[2] == pytest.approx(real)


# ----------------------------------------------------------------------------- batches


def _core(n_p, n_i, seed, dense=None):
    rng = np.random.default_rng(seed)
    c = Core(n_p, n_i, 2, rng.integers(0, 2, n_i), rng.choice([1.0, 2.0], n_i), rng.random(n_p) < 0.5,
             dense=dense)
    c.fx[1] = 1.2
    c.cash[:, :, 0] = 1000.0
    c.prices[:] = np.where(rng.random(n_i) < 0.8, rng.uniform(10, 20, n_i), np.nan)
    m = min(n_p * n_i, 2 * n_p)
    keys = rng.choice(n_p * n_i, size=m, replace=False)
    c.load_slots(keys // n_i, keys % n_i, rng.integers(1, 5, m).astype(float), rng.uniform(10, 20, m),
                 np.zeros(m), np.full(m, ks.ACTIVE, np.int8), np.zeros(m, np.int64))
    held = np.unique(keys % n_i)
    c.prices[held] = np.where(np.isnan(c.prices[held]), 15.0, c.prices[held])  # held instruments are priced
    c.reserve(0, 64)
    return c


def _fills(n_p, n_i, n, seed, dup_ids=False):
    rng = np.random.default_rng(seed)
    fid = rng.integers(0, n, n) if dup_ids else np.arange(n, dtype=np.int64)
    return {
        "port": rng.integers(0, n_p, n).astype(np.int32), "inst": rng.integers(0, n_i, n).astype(np.int32),
        "qty": rng.choice([-3.0, -1.0, 1.0, 2.0, 4.0], n), "price": np.round(rng.uniform(5, 25, n), 2),
        "fee": np.round(rng.uniform(0, 1, n), 2), "fee_ccy": rng.integers(0, 2, n).astype(np.int32),
        "ttype": rng.choice([ks.T_TRADE, ks.T_TRANSFER], n).astype(np.int8),
        "ts": np.arange(n, dtype=np.int64), "fid": fid.astype(np.int64),
    }


def _run_apply(c, f, status, fn, atomic, ignore_dup=False):
    n = len(status)
    c.reserve(n, n)
    undo_i, undo_f = np.empty((n, 5), np.int64), np.empty((n, 8))
    id_ins = np.zeros(n, np.bool_)
    si, sf = c.state_tuples()
    return fn(f["port"], f["inst"], f["qty"], f["price"], f["fee"], f["fee_ccy"], f["ttype"], f["fid"], True,
              ignore_dup, f["ts"], status, atomic, True, si, sf, c.s_int, c.s_num, c.s_status, c.s_opened, c.ids,
              undo_i, undo_f, id_ins)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400), n_p=st.integers(1, 40), dup=st.booleans(),
       dense=st.booleans())
def test_apply_fills_twin(seed, n, n_p, dup, dense):
    """Compiled kernel and its Python twin leave identical states and statuses (dense index or hash)."""
    a, b = _core(n_p, 6, seed, dense), _core(n_p, 6, seed, dense)
    f = _fills(n_p, 6, n, seed + 1, dup_ids=dup)
    sa, sb = np.zeros(n, np.int8), np.zeros(n, np.int8)
    ra = _run_apply(a, f, sa, ks.apply_fills, False)
    rb = _run_apply(b, f, sb, ks.apply_fills.py_func, False)
    assert ra == rb
    np.testing.assert_array_equal(sa, sb)
    assert a.arrays_equal(b)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400), n_p=st.integers(1, 40), dense=st.booleans())
def test_grouped_order_equals_row_by_row(seed, n, n_p, dense):
    """A batch (grouped by portfolio inside) equals its rows applied one call each, bit for bit."""
    a, b = _core(n_p, 6, seed, dense), _core(n_p, 6, seed, not dense)
    f = _fills(n_p, 6, n, seed + 1)
    sa = np.zeros(n, np.int8)
    _run_apply(a, f, sa, ks.apply_fills, False)
    sb = np.zeros(n, np.int8)
    for r in range(n):
        one = {k: v[r:r + 1] for k, v in f.items()}
        st_ = np.zeros(1, np.int8)
        _run_apply(b, one, st_, ks.apply_fills, False)
        sb[r] = st_[0]
    np.testing.assert_array_equal(sa, sb)
    assert a.arrays_equal(b)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300))
def test_atomic_rollback_restores_everything(seed, n):
    c = _core(8, 6, seed, dense=seed % 2 == 0)
    before = c.copy()
    f = _fills(8, 6, n, seed + 2, dup_ids=True)
    status = np.zeros(n, np.int8)
    bad, _ = c.apply_fills(f, status, atomic=True)
    if bad >= 0:
        assert status[bad] != ks.OK
        assert c.arrays_equal(before)
    else:
        assert (status == ks.OK).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 50))
def test_apply_cash_twin_and_rollback(seed, n):
    rng = np.random.default_rng(seed)
    port = rng.integers(0, 3, n).astype(np.int32)
    ccy = rng.integers(0, 2, n).astype(np.int32)
    amount = rng.uniform(-600, 300, n)
    check = amount < 0
    cash = np.zeros((3, 2, 2))
    cash[:, :, 0] = 1000.0
    cash[:, :, 1] = 100.0
    a, b = cash.copy(), cash.copy()
    sa, sb = np.zeros(n, np.int8), np.zeros(n, np.int8)
    ra = ks.apply_cash(port, ccy, amount, check, sa, False, a, np.empty(n))
    rb = ks.apply_cash.py_func(port, ccy, amount, check, sb, False, b, np.empty(n))
    assert ra == rb == -1
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)
    ref = cash.copy()  # independent: a plain loop with the rule written out
    for r in range(n):
        new = ref[port[r], ccy[r], 0] + amount[r]
        if check[r] and new < ref[port[r], ccy[r], 1] - 1e-9 * abs(amount[r]):
            assert sa[r] == ks.REJ_CASH
            continue
        ref[port[r], ccy[r], 0] = new
    np.testing.assert_allclose(a, ref, rtol=0, atol=1e-9)
    c = cash.copy()
    st_ = np.zeros(n, np.int8)
    undo = np.empty(n)
    bad = ks.apply_cash(port, ccy, amount, check, st_, True, c, undo)
    if bad >= 0:
        ks.undo_cash(bad, port, ccy, st_, c, undo)
        np.testing.assert_array_equal(c, cash)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n_p=st.integers(1, 20))
def test_gather_twin_and_numpy(seed, n_p):
    c = _core(n_p, 7, seed)
    ports = np.arange(n_p, dtype=np.int64)
    off, slot = ks.gather(ports, c.head, c.s_int, c.s_num, c.s_status, True)
    off2, slot2 = ks.gather.py_func(ports, c.head, c.s_int, c.s_num, c.s_status, True)
    np.testing.assert_array_equal(off, off2)
    np.testing.assert_array_equal(slot, slot2)
    n = c.n_slots  # numpy: sort the open slots by (portfolio, instrument)
    keep = np.flatnonzero(c.s_status[:n] != ks.CLOSED)
    order = keep[np.lexsort((c.s_int[1, keep], c.s_int[0, keep]))]
    np.testing.assert_array_equal(slot, order)
    np.testing.assert_array_equal(np.diff(off), np.bincount(c.s_int[0, keep], minlength=n_p))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.integers(0, 4), i=st.integers(0, 5),
       dq=st.sampled_from([-3.0, -1.0, 2.0, 5.0]), px=st.floats(5, 25))
def test_apply_one_equals_batch_and_values_by_value_book(seed, p, i, dq, px):
    a, b = _core(5, 6, seed), _core(5, 6, seed)
    a.reserve(1, 1)
    groups = np.zeros((1, 6), np.int32)
    groups[0] = np.arange(6) % 2
    out = np.empty(ks.I_GROUPS + 2)
    scale = a.scale()
    si, sf = a.state_tuples()
    prices_before = a.prices.copy()
    ks.apply_one(p, i, dq, px, 0.5, 0, ks.T_TRADE, 99, True, 7, True, groups, np.array([2]), a.fx, scale,
                 si, sf, a.s_int, a.s_num, a.s_status, a.s_opened, a.ids, out)
    f = {"port": np.array([p], np.int32), "inst": np.array([i], np.int32), "qty": np.array([dq]),
         "price": np.array([px]), "fee": np.array([0.5]), "fee_ccy": np.array([0], np.int32),
         "ttype": np.array([ks.T_TRADE], np.int8), "ts": np.array([7], np.int64), "fid": np.array([99], np.int64)}
    status = np.zeros(1, np.int8)
    b.apply_fills(f, status, atomic=True)
    assert int(out[ks.I_CODE]) == status[0]
    assert a.arrays_equal(b)
    if status[0] != ks.OK:
        return
    # equity after the fill, by the foundation's value_book over the same portfolio
    ports, offsets, slot = b.gather(np.array([p]), skip_closed=True)
    cash = np.empty((1, 2))
    kv.cash_in_base(np.array([0, 2]), np.array([0, 1], np.int32), b.cash[p], b.fx, cash)
    vals = np.empty((1, kv.N_FIELDS))
    prices = np.where(np.isnan(prices_before), 1.0, b.prices)
    prices[i] = b.prices[i]
    kv.value_book(offsets, b.s_int[1, slot].astype(np.int32), b.s_num[slot, 0], b.s_num[slot, 1], prices,
                  b.multiplier * b.fx[b.inst_ccy], cash, b.is_margin[[p]], vals)
    assert out[ks.I_EQ1] == pytest.approx(vals[0, kv.EQUITY], nan_ok=True)
