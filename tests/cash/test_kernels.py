"""Cash kernels against plain-Python twins (exact integer arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmcore.kernels import cash as k

I64 = (1 << 63) - 1


def ref_balance_table(group, status, units, n_groups):
    out = [[0, 0, 0] for _ in range(n_groups)]
    for g, s, u in zip(group.tolist(), status.tolist(), units.tolist()):
        if s == 1:
            out[g][0] += u
        elif s == 0:
            out[g][1 if u >= 0 else 2] += abs(u)
    return out


def ref_projected(group, status, value_day, units, days, n_groups):
    out = [[0] * len(days) for _ in range(n_groups)]
    for g, s, v, u in zip(group.tolist(), status.tolist(), value_day.tolist(), units.tolist()):
        for j, d in enumerate(days.tolist()):
            if s == 1 or (s == 0 and v <= d):
                out[g][j] += u
    return out


ledgers = st.integers(0, 60).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 4), min_size=n, max_size=n),
    st.lists(st.integers(0, 3), min_size=n, max_size=n),
    st.lists(st.integers(-10**15, 10**15), min_size=n, max_size=n),
    st.lists(st.integers(0, 30), min_size=n, max_size=n)))


@given(ledgers)
def test_balance_table_matches_reference(data):
    g, s, u, _ = (np.array(x, np.int64) for x in data)
    s = s.astype(np.int8)
    for fn in (k.balance_table, k.balance_table.py_func):
        out = np.zeros((5, 3), np.int64)
        assert fn(g, s, u, out) == -1
        assert out.tolist() == ref_balance_table(g, s, u, 5)


@given(ledgers, st.lists(st.integers(0, 30), max_size=6, unique=True))
def test_projected_matches_reference(data, days):
    g, s, u, v = (np.array(x, np.int64) for x in data)
    s = s.astype(np.int8)
    days = np.array(sorted(days), np.int64)
    for fn in (k.projected_balances, k.projected_balances.py_func):
        out = np.zeros((5, len(days)), np.int64)
        assert fn(g, s, v, u, days, out) == -1
        assert out.tolist() == ref_projected(g, s, v, u, days, 5)


def test_overflow_is_detected_not_wrapped():
    g = np.zeros(3, np.int64)
    u = np.array([I64 - 5, 3, 10], np.int64)
    out = np.zeros((1, 3), np.int64)
    assert k.balance_table(g, np.ones(3, np.int8), u, out) == 2
    out1 = np.zeros(1, np.int64)
    assert k.group_sum(g, -u, out1) == 2
    # pending outflows are negated before adding: -(-2**63 + 1) fits, the next row overflows
    out = np.zeros((1, 3), np.int64)
    assert k.balance_table(g[:2], np.zeros(2, np.int8), np.array([-I64, -1], np.int64), out) == 1


@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(-10**12, 10**12)), max_size=50))
def test_group_sum_matches_reference(rows):
    g = np.array([r[0] for r in rows], np.int64)
    u = np.array([r[1] for r in rows], np.int64)
    ref = [sum(b for a, b in rows if a == j) for j in range(4)]
    for fn in (k.group_sum, k.group_sum.py_func):
        out = np.zeros(4, np.int64)
        assert fn(g, u, out) == -1
        assert out.tolist() == ref


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 20)), max_size=40),
       st.integers(0, 20))
def test_status_as_of_matches_reference(events, as_of):
    events = sorted(events, key=lambda e: e[2])
    txn = np.array([e[0] for e in events], np.int64)
    status = np.array([e[1] for e in events], np.int64)
    t = np.array([e[2] for e in events], np.int64)
    ref = [-1] * 5
    for a, b, c in events:
        if c <= as_of:
            ref[a] = b
    for fn in (k.status_as_of, k.status_as_of.py_func):
        out = np.full(5, -1, np.int64)
        fn(txn, status, t, np.int64(as_of), out)
        assert out.tolist() == ref


@given(st.lists(st.lists(st.integers(-50, 50), min_size=3, max_size=3), max_size=20),
       st.lists(st.integers(0, 100), min_size=3, max_size=3))
def test_first_short_day_matches_reference(flows, start):
    f = np.array(flows, np.float64).reshape(len(flows), 3)
    s = np.array(start, np.float64)
    ref = []
    for j in range(3):
        c, first = s[j], -1
        for t in range(len(flows)):
            c += f[t, j]
            if c < 0:
                first = t
                break
        ref.append(first)
    for fn in (k.first_short_day, k.first_short_day.py_func):
        out = np.zeros(3, np.int64)
        fn(s, f, out)
        assert out.tolist() == ref


def _ref_keyed(c0, c1, c2, n1, n2, status, units, n_groups):
    out = [[0, 0, 0, 0] for _ in range(n_groups)]
    for a, b, c, s, u in zip(c0, c1, c2, status, units):
        g = (a * n1 + b) * n2 + c
        out[g][3] += 1
        if s == 1:
            out[g][0] += u
        elif s == 0:
            out[g][1 if u >= 0 else 2] += abs(u)
    return out


@given(st.integers(0, 60).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 2), min_size=n, max_size=n), st.lists(st.integers(0, 1), min_size=n, max_size=n),
    st.lists(st.integers(0, 2), min_size=n, max_size=n), st.lists(st.integers(0, 3), min_size=n, max_size=n),
    st.lists(st.integers(-10**15, 10**15), min_size=n, max_size=n))))
def test_keyed_balances_matches_reference(data):
    c0, c1, c2 = (np.array(x, np.int32) for x in data[:3])
    sidx = np.array(data[3], np.int8)
    smap = np.array([1, 0, 3, 2], np.int8)  # a permuted status dictionary
    lo = np.array(data[4], np.int64)
    words = np.empty(2 * len(lo), np.int64)
    words[0::2], words[1::2] = lo, lo >> 63
    ref = _ref_keyed(c0.tolist(), c1.tolist(), c2.tolist(), 2, 3, smap[sidx].tolist(), lo.tolist(), 18)
    for fn in (k.keyed_balances, k.keyed_balances.py_func):
        out = np.zeros((18, 4), np.int64)
        assert fn(c0, c1, c2, np.int64(2), np.int64(3), sidx, smap, words[0::2], words[1::2], out) == -1
        assert out.tolist() == ref


def test_keyed_balances_range_and_overflow():
    one = np.zeros(2, np.int32)
    st_ = np.ones(2, np.int8)
    smap = np.arange(4, dtype=np.int8)
    out = np.zeros((1, 4), np.int64)
    lo, hi = np.array([5, 5], np.int64), np.array([0, 1], np.int64)  # row 1 is 2**64 + 5
    assert k.keyed_balances(one, one, one, np.int64(1), np.int64(1), st_, smap, lo, hi, out) == -3
    out = np.zeros((1, 4), np.int64)
    lo = np.array([I64, 1], np.int64)
    assert k.keyed_balances(one, one, one, np.int64(1), np.int64(1), st_, smap, lo, lo >> 63, out) == 1


def _arrow_parts(strings):
    import pyarrow as pa

    arr = pa.array(strings, pa.string())
    off = np.frombuffer(arr.buffers()[1], np.int32)[: len(arr) + 1]
    data = arr.buffers()[2]
    return off, np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)


@given(st.lists(st.text(alphabet="abc", max_size=3), max_size=30),
       st.lists(st.text(alphabet="abc", max_size=3), max_size=30))
def test_match_strings_matches_a_dict(ledger, statement):
    ref_err = [0, 0, 0]
    seen = {}
    for i, x in enumerate(ledger):
        if x in seen:
            ref_err = [1, i, seen[x]]
            break
        seen[x] = i
    ref_match = []
    if ref_err[0] == 0:
        sseen = {}
        for j, x in enumerate(statement):
            if x in sseen:
                ref_err = [2, j, sseen[x]]
                break
            sseen[x] = j
            ref_match.append(seen.get(x, -1))
    for fn in (k.match_strings, k.match_strings.py_func):
        match = np.full(len(statement), -7, np.int64)
        err = np.zeros(3, np.int64)
        fn(*_arrow_parts(ledger), *_arrow_parts(statement), match, err)
        assert err.tolist() == ref_err
        if ref_err[0] == 0:
            assert match.tolist() == ref_match


@pytest.mark.parametrize("seed", range(3))
def test_match_strings_many_partitions(seed):
    rng = np.random.default_rng(seed)
    ledger = [f"L{x}" for x in rng.permutation(30_000)]
    statement = [ledger[i] for i in rng.choice(30_000, 20_000, replace=False)] + \
        [f"X{i}" for i in range(500)]
    rng.shuffle(statement)
    seen = {x: i for i, x in enumerate(ledger)}
    match = np.empty(len(statement), np.int64)
    err = np.zeros(3, np.int64)
    k.match_strings(*_arrow_parts(ledger), *_arrow_parts(statement), match, err)
    assert err.tolist() == [0, 0, 0]
    assert match.tolist() == [seen.get(x, -1) for x in statement]
    # duplicates: the lowest repeating row is reported, with its first occurrence
    dup_ledger = ledger + [ledger[123], ledger[7]]
    k.match_strings(*_arrow_parts(dup_ledger), *_arrow_parts(statement), match, err)
    assert err.tolist() == [1, 30_000, 123]
    dup_statement = statement + [statement[5000], statement[10]]
    match = np.empty(len(dup_statement), np.int64)
    k.match_strings(*_arrow_parts(ledger), *_arrow_parts(dup_statement), match, err)
    assert err.tolist() == [2, len(statement), 5000]
