"""Participation caps against average daily volume (pmcore.rebalance.liquidity).

Source of the expected figures: the participation-rate schedule worked by hand
(days = ceil(total / (rate x ADV)), each full day at the cap, the rest on the
last day), written next to each assertion, and a day-by-day plain-Python
simulation of the same rule.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow
from pmcore.rebalance.liquidity import liquidity_schedule

TRADES = pa.table({"portfolio_id": ["A", "B", "A", "C"], "instrument_id": ["X", "X", "Y", "Z"],
                   "quantity": [-30_000.0, 10_000.0, 500.0, 0.0], "note": ["a", "b", "c", "d"]})
ADV = pa.table({"instrument_id": ["X", "Y", "Z"], "adv": [150_000.0, 1_000_000.0, 0.0]})


def test_hand_worked_schedule():
    s = liquidity_schedule(TRADES, ADV)
    # X: 30,000 + 10,000 = 40,000 units against 10 % x 150,000 = 15,000 a day: ceil(2.67) = 3 days,
    # 15,000 / 40,000 = 37.5 % of each trade on days 0 and 1, the other 25 % on day 2.
    rows = s.schedule.to_pylist()
    assert [(r["trade"], r["day"], r["quantity"]) for r in rows] == [
        (0, 0, -11_250.0), (0, 1, -11_250.0), (0, 2, -7_500.0),
        (1, 0, 3_750.0), (1, 1, 3_750.0), (1, 2, 2_500.0),
        (2, 0, 500.0)]
    # participation: 15,000 / 150,000 on full days, 10,000 / 150,000 on the last, 500 / 1e6 for Y
    assert [r["participation"] for r in rows] == pytest.approx([0.1, 0.1, 10_000 / 150_000] * 2 + [0.0005])
    t = s.trades.to_pylist()
    assert [r["days_needed"] for r in t] == [3, 3, 1, 0]
    assert [r["note"] for r in t] == ["a", "b", "c", "d"]
    assert [r["unscheduled_quantity"] for r in t] == [0.0, 0.0, 0.0, 0.0]
    assert s.n_days == 3


def test_max_days_zero_adv_and_per_instrument_rate():
    s = liquidity_schedule(TRADES, ADV, max_days=2)
    t = s.trades.to_pylist()
    assert t[0]["scheduled_quantity"] == -22_500.0 and t[0]["unscheduled_quantity"] == -7_500.0
    halted = pa.table({"instrument_id": ["X"], "quantity": [100.0]})
    out = liquidity_schedule(halted, ADV.set_column(1, "adv", pa.array([0.0, 1.0, 1.0])))
    assert out.trades.column("days_needed").to_pylist() == [None]
    assert out.schedule.num_rows == 0 and out.trades.column("unscheduled_quantity").to_pylist() == [100.0]
    per = ADV.append_column("max_participation", pa.array([0.25, 0.1, 0.1]))
    # 25 % x 150,000 = 37,500 a day: 40,000 takes 2 days
    assert liquidity_schedule(TRADES, per).trades.column("days_needed").to_pylist()[:2] == [2, 2]
    # exactly at the cap is one day, not two (rounding guard)
    assert liquidity_schedule({"instrument_id": ["X"], "quantity": [15_000.0]}, ADV).n_days == 1


@pytest.mark.parametrize("args, kw, message", [
    ((pa.table({"instrument_id": ["Q"], "quantity": [1.0]}), ADV), {}, "trades instrument 'Q', which has no ADV"),
    ((TRADES, ADV.set_column(1, "adv", pa.array([-1.0, 1.0, 1.0]))), {}, "adv: column 'adv', row 0"),
    ((TRADES, pa.concat_tables([ADV, ADV.slice(0, 1)])), {}, "repeats an instrument"),
    ((TRADES, ADV), {"max_participation": 1.5}, "max_participation"),
    ((TRADES, ADV), {"max_participation": 0.0}, "max_participation"),
    ((TRADES, ADV), {"max_days": 0}, "max_days"),
    ((TRADES.drop_columns(["quantity"]), ADV), {}, "missing column 'quantity'"),
    ((pa.table({"instrument_id": ["X"], "quantity": [1e12]}), ADV), {}, "pass max_days"),
])
def test_bad_input(args, kw, message):
    with pytest.raises(pm.ValidationError, match=message):
        liquidity_schedule(*args, **kw)


def test_backends_mirror(backend):
    s = liquidity_schedule(from_arrow(TRADES, backend), from_arrow(ADV, backend))
    assert frame_kind(s.schedule) == backend and frame_kind(s.trades) == backend
    assert s.to_arrow().column("quantity").to_pylist()[:3] == [-11_250.0, -11_250.0, -7_500.0]
    assert "LiquiditySchedule(" in repr(s)


def _simulate(qty, inst, volume, rate):
    """Day-by-day reference: each day the instrument's capacity goes pro rata to what is left."""
    rem = [abs(q) for q in qty]
    out = {}
    day = 0
    while any(r > 1e-9 * (1 + abs(q)) for r, q in zip(rem, qty)):
        for i in set(inst):
            members = [t for t in range(len(qty)) if inst[t] == i and rem[t] > 1e-9 * (1 + abs(qty[t]))]
            left = sum(rem[t] for t in members)
            if not members:
                continue
            cap = rate * volume[i]
            share = min(1.0, cap / left)
            for t in members:
                take = rem[t] * share
                out[(t, day)] = math.copysign(take, qty[t])
                rem[t] -= take
        day += 1
    return out


case = st.tuples(
    st.lists(st.tuples(st.integers(0, 2), st.floats(-5e4, 5e4, allow_nan=False).filter(lambda q: abs(q) > 1)),
             min_size=1, max_size=8),
    st.lists(st.floats(2e3, 1e6), min_size=3, max_size=3),
    st.floats(0.01, 1.0),
)


@given(case)
def test_cap_respected_and_quantities_conserved(c):
    trades, volume, rate = c
    inst = [i for i, _ in trades]
    qty = [q for _, q in trades]
    T = pa.table({"instrument_id": [f"I{i}" for i in inst], "quantity": qty})
    A = pa.table({"instrument_id": ["I0", "I1", "I2"], "adv": volume})
    s = liquidity_schedule(T, A, max_participation=rate)
    sch = s.schedule.to_pydict()
    per_day: dict = {}
    for t, d, q in zip(sch["trade"], sch["day"], sch["quantity"]):
        key = (inst[t], d)
        per_day[key] = per_day.get(key, 0.0) + abs(q)
    for (i, _), used in per_day.items():
        assert used <= rate * volume[i] * (1 + 1e-9)
    t = s.trades.to_pydict()
    assert t["scheduled_quantity"] == qty
    sums = np.bincount(sch["trade"], weights=sch["quantity"], minlength=len(qty))
    np.testing.assert_allclose(sums, qty, rtol=1e-9, atol=1e-6)
    for k, need in enumerate(t["days_needed"]):  # fewest days: one day fewer cannot hold the total
        total = sum(abs(q) for i, q in trades if i == inst[k])
        assert (need - 1) * rate * volume[inst[k]] < total * (1 + 1e-9)
    ref = _simulate(qty, inst, volume, rate)
    got = {(tr, d): q for tr, d, q in zip(sch["trade"], sch["day"], sch["quantity"])}
    assert got.keys() == ref.keys()
    for key, q in ref.items():
        assert got[key] == pytest.approx(q, rel=1e-9, abs=1e-6)
