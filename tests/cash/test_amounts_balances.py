"""Fixed-point amounts and frame balances against Decimal/Fraction recomputations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmcore.cash import cash_balances, from_units, projected_cash, to_units
from pmcore.cash.amounts import INT64_MAX, units_column, units_to_arrow
from pmcore.errors import ValidationError
from pmcore.frames import frame_kind, from_arrow

decimals8 = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=8,
                        allow_nan=False, allow_infinity=False)


@given(decimals8)
def test_units_round_trip(d):
    assert from_units(to_units(d)) == d
    assert units_column(pa.table({"a": [str(d)]}), "t", "a", 8).tolist() == [to_units(d)]
    assert units_to_arrow(np.array([to_units(d)], np.int64), 8).to_pylist() == [d]


def test_units_refuse_rather_than_round():
    for bad in ("0.000000001", 1e-9, float("inf"), "x", 10**11, Fraction(1, 3)):
        with pytest.raises(ValidationError):
            to_units(bad)
    with pytest.raises(ValidationError, match="row 1"):
        units_column(pa.table({"a": ["1", "1e12"]}), "t", "a", 8)
    with pytest.raises(ValidationError, match="row 1"):
        units_column(pa.table({"a": [1.5, 0.1 + 0.2]}), "t", "a", 8)
    with pytest.raises(ValidationError, match="row 0"):
        units_column(pa.table({"a": pa.array([None, 1.0])}), "t", "a", 8)
    assert units_column(pa.table({"a": [0.1, 2.675, -1e10]}), "t", "a", 8).tolist() == \
        [10_000_000, 267_500_000, -10**18]
    dec = pa.array([Decimal("1.23")], pa.decimal128(10, 2))
    assert units_column(pa.table({"a": dec}), "t", "a", 8).tolist() == [123_000_000]
    assert units_column(pa.table({"a": dec}), "t", "a", 12).tolist() == [1_230_000_000_000]


rows = st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["x", "y"]),
                          st.sampled_from(["USD", "EUR"]),
                          st.sampled_from(["pending", "settled", "failed", "cancelled"]), decimals8),
                min_size=1, max_size=80)


@given(rows)
def test_balances_equal_decimal_recomputation(data):
    t = pa.table({"portfolio_id": [r[0] for r in data], "strategy": [r[1] for r in data],
                  "currency": [r[2] for r in data], "status": [r[3] for r in data],
                  "amount": pa.array([r[4] for r in data], pa.decimal128(38, 8))})
    ref = {}
    for p, s, c, status, a in data:
        b = ref.setdefault((p, s, c), [Decimal(0)] * 3)
        if status == "settled":
            b[0] += a
        elif status == "pending":
            b[1 if a >= 0 else 2] += abs(a)
    out = {(r["portfolio_id"], r["strategy"], r["currency"]): r for r in cash_balances(t).to_pylist()}
    assert set(out) == set(ref)
    for k, (s, pin, pout) in ref.items():
        assert (out[k]["settled"], out[k]["pending_in"], out[k]["pending_out"]) == (s, pin, pout)
        assert out[k]["total"] == s + pin - pout
    # permutation invariance and dictionary (categorical) keys give the same answer
    perm = np.random.default_rng(len(data)).permutation(len(data))
    shuffled = t.take(pa.array(perm))
    shuffled = shuffled.set_column(0, "portfolio_id", shuffled.column(0).dictionary_encode())
    again = {(r["portfolio_id"], r["strategy"], r["currency"]): r for r in cash_balances(shuffled).to_pylist()}
    assert again == out


def test_many_lines_to_the_last_unit():
    # 200,000 lines of 0.1 + 0.2 - 0.3 (float sums drift; exact sums are zero)
    n = 200_000
    amounts = pa.array(np.tile(["0.1", "0.2", "-0.3"], n // 3 + 1)[:n - n % 3])
    t = pa.table({"portfolio_id": pa.array(["P"] * len(amounts)), "currency": ["USD"] * len(amounts),
                  "status": ["settled"] * len(amounts), "amount": amounts})
    assert cash_balances(t).column("settled").to_pylist() == [Decimal(0)]
    assert np.sum(np.tile([0.1, 0.2, -0.3], n // 3)) != 0  # the float sum is off


def test_overflow_raises():
    t = pa.table({"portfolio_id": ["P", "P"], "currency": ["USD", "USD"], "status": ["settled"] * 2,
                  "amount": pa.array([INT64_MAX // 10**8, INT64_MAX // 10**8])})
    with pytest.raises(ValidationError, match="overflows"):
        cash_balances(t)


def test_bad_input_named():
    t = pa.table({"portfolio_id": ["P"], "currency": ["USD"], "status": ["done"], "amount": ["1"]})
    with pytest.raises(ValidationError, match="unknown status; got 'done'"):
        cash_balances(t)
    with pytest.raises(ValidationError, match="missing column 'amount'"):
        cash_balances(t.drop_columns(["amount"]))


def test_backends(backend):
    t = pa.table({"portfolio_id": ["P", "Q"], "currency": ["USD", "USD"], "status": ["settled"] * 2,
                  "amount": pa.array([Decimal("1.5"), Decimal(2)], pa.decimal128(20, 4)),
                  "value_date": [dt.date(2026, 11, 20)] * 2})
    frame = from_arrow(t, backend)
    assert frame_kind(cash_balances(frame)) == backend
    assert frame_kind(projected_cash(frame, ["2026-11-20"])) == backend
    got = from_arrow(t, "arrow") if backend == "arrow" else t
    assert cash_balances(got).column("total").to_pylist() == [Decimal("1.5"), Decimal(2)]


def test_projected_by_value_date_hand_worked():
    d = dt.date
    t = pa.table({"portfolio_id": ["P"] * 4, "currency": ["USD"] * 4,
                  "status": ["settled", "pending", "pending", "failed"],
                  "amount": ["100", "-30", "20", "1000"],
                  "value_date": [d(2026, 11, 30), d(2026, 11, 23), d(2026, 11, 25), d(2026, 11, 23)]})
    p = projected_cash(t, ["2026-11-20", "2026-11-23", "2026-11-24", "2026-11-25"])
    assert p.column("projected").to_pylist() == [Decimal(x) for x in ("100", "70", "70", "90")]
    with pytest.raises(ValidationError, match="strictly increasing"):
        projected_cash(t, ["2026-11-23", "2026-11-20"])


def test_sparse_key_space_gives_the_same_balances(monkeypatch):
    import pmcore.cash.balances as b

    rng = np.random.default_rng(3)
    n = 500
    t = pa.table({"portfolio_id": [f"P{i}" for i in rng.integers(0, 40, n)],
                  "strategy": [f"S{i}" for i in rng.integers(0, 5, n)],
                  "currency": rng.choice(["USD", "EUR", "JPY"], n).tolist(),
                  "status": rng.choice(["pending", "settled", "failed"], n).tolist(),
                  "amount": pa.array(rng.integers(-10**9, 10**9, n))})
    dense = b.cash_balances(t)
    monkeypatch.setattr(b, "_DENSE_LIMIT", 10)
    sparse = b.cash_balances(t)
    key = lambda r: (r["portfolio_id"], r["strategy"], r["currency"])
    assert sorted(dense.to_pylist(), key=key) == sorted(sparse.to_pylist(), key=key)


def _balances_of(seed):
    rng = np.random.default_rng(seed)
    t = pa.table({"portfolio_id": rng.choice(["A", "B"], 100).tolist(), "currency": ["USD"] * 100,
                  "status": ["settled"] * 100, "amount": pa.array(rng.integers(0, 10**6, 100))})
    return cash_balances(t).column("total").to_pylist()


def test_thread_and_process_pools():
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    expected = [_balances_of(s) for s in range(4)]
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(_balances_of, range(4))) == expected
    with ProcessPoolExecutor(2) as pool:
        assert list(pool.map(_balances_of, range(4))) == expected
