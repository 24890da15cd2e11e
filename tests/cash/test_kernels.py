"""Cash kernels against plain-Python twins (exact integer arithmetic)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st

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
