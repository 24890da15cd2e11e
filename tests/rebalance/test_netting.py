"""Multi-strategy netting of sleeve trades (pmcore.rebalance.netting).

Source of the expected figures: the pro-rata crossing worked by hand below
(net order N, same-side total S, each same-side sleeve gets N q / S from the
market and crosses the rest), and a plain-Python per-account loop.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow
from pmcore.rebalance.netting import net_sleeves

TRADES = pa.table({
    "portfolio_id": ["A", "A", "A", "A", "A", "B"],
    "sleeve": ["growth", "value", "income", "growth", "value", "growth"],
    "instrument_id": ["X", "X", "X", "Y", "Y", "X"],
    "quantity": [300.0, -200.0, 100.0, 40.0, -40.0, -10.0],
})
PRICES = pa.table({"instrument_id": ["X", "Y"], "price": [50.0, 20.0]})
POSITIONS = pa.table({"portfolio_id": ["A", "A", "A", "B"], "sleeve": ["growth", "value", "cash", "growth"],
                      "instrument_id": ["X", "X", "Z", "X"], "quantity": [1000.0, 500.0, 7.0, 10.0]})


def test_hand_worked_netting():
    n = net_sleeves(TRADES, prices=PRICES, positions=POSITIONS)
    orders = n.orders.to_pylist()
    # A/X: 300 - 200 + 100 = 200 buy; A/Y: 40 - 40 = 0 (nothing goes out); B/X: -10 sell
    assert [(o["portfolio_id"], o["instrument_id"], o["side"], o["net_quantity"]) for o in orders] == [
        ("A", "X", "buy", 200.0), ("A", "Y", "none", 0.0), ("B", "X", "sell", -10.0)]
    # gross 600 + 80 + 10 = 690 units; net 200 + 0 + 10 = 210; notional 600x50 + 80x20 + 10x50 = 32,100
    assert (n.gross_quantity, n.net_quantity) == (690.0, 210.0)
    assert n.gross_notional == 32_100.0 and n.net_notional == 10_500.0 and n.notional_avoided == 21_600.0
    assert n.savings_ratio == pytest.approx(21_600 / 32_100)
    # S = 400 on the buy side: growth 200 x 300/400 = 150 from the market, 150 crossed; income 50 / 50
    a = n.allocations.to_pylist()
    assert [(r["crossed_quantity"], r["market_quantity"]) for r in a] == [
        (150.0, 150.0), (-200.0, 0.0), (50.0, 50.0), (40.0, 0.0), (-40.0, 0.0), (0.0, -10.0)]
    assert [r["filled_quantity"] for r in a] == TRADES.column("quantity").to_pylist()
    pos = {(r["portfolio_id"], r["sleeve"], r["instrument_id"]): r for r in n.positions.to_pylist()}
    assert pos[("A", "growth", "X")]["position_after"] == 1300.0
    assert pos[("A", "value", "X")]["position_after"] == 300.0
    assert pos[("A", "income", "X")]["position_after"] == 100.0  # no position before
    assert pos[("A", "cash", "Z")]["position_after"] == 7.0  # untouched sleeve
    assert pos[("B", "growth", "X")]["position_after"] == 0.0


def test_partial_fill_is_shared_by_the_order_side():
    fills = pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "filled_quantity": [120.0]})
    n = net_sleeves(TRADES, fills=fills)
    a = n.allocations.to_pylist()[:3]
    # 120 of 200 filled: growth 120 x 0.75 = 90 (+150 crossed), income 30 (+50); value crosses in full
    assert [r["filled_quantity"] for r in a] == [240.0, -200.0, 80.0]
    assert [r["unfilled_quantity"] for r in a] == [60.0, 0.0, 20.0]
    assert n.savings_ratio == pytest.approx((690 - 210) / 690)  # units without prices
    assert np.isnan(n.gross_notional)


@pytest.mark.parametrize("kw, message", [
    ({"fills": {"portfolio_id": ["A"], "instrument_id": ["X"], "filled_quantity": [-5.0]}},
     "account 'A', instrument 'X'; got -5.0"),
    ({"fills": {"portfolio_id": ["A"], "instrument_id": ["X"], "filled_quantity": [201.0]}}, "between 0 and 200"),
    ({"fills": {"portfolio_id": ["A"], "instrument_id": ["Y"], "filled_quantity": [1.0]}}, "instrument 'Y'"),
    ({"prices": {"instrument_id": ["X"], "price": [50.0]}}, "no price for account 'A', instrument 'Y'"),
    ({"prices": {"instrument_id": ["X", "Y"], "price": [50.0, -1.0]}}, "prices: column 'price', row 1"),
    ({"positions": pa.concat_tables([POSITIONS, POSITIONS.slice(0, 1)])}, "repeats a sleeve of account 'A'"),
    ({"sleeve_column": "strategy"}, "missing column 'strategy'"),
])
def test_bad_input(kw, message):
    with pytest.raises(pm.ValidationError, match=message):
        net_sleeves(TRADES, **kw)


def test_missing_sleeve_and_bad_quantity():
    with pytest.raises(pm.ValidationError, match="trades: column 'sleeve', row 1: has a missing id"):
        net_sleeves(TRADES.set_column(1, "sleeve", pa.array(["a", None, "b", "c", "d", "e"])))
    with pytest.raises(pm.ValidationError, match="trades: column 'quantity', row 0"):
        net_sleeves(TRADES.set_column(3, "quantity", pa.array([float("nan")] + [1.0] * 5)))


def test_sleeve_column_option_and_backends(backend):
    renamed = TRADES.rename_columns(["portfolio_id", "strategy", "instrument_id", "quantity"])
    n = net_sleeves(from_arrow(renamed, backend), prices=from_arrow(PRICES, backend), sleeve_column="strategy")
    assert frame_kind(n.orders) == backend and frame_kind(n.allocations) == backend
    assert n.to_arrow().column("net_quantity").to_pylist() == [200.0, 0.0, -10.0]
    assert "strategy" in n.to_arrow("allocations").column_names
    assert "Netting(" in repr(n) and n.positions is None
    with pytest.raises(pm.ValidationError, match="part"):
        n.to_arrow("bogus")


def _reference(rows):
    """Plain-Python: per (account, instrument) net, gross and each row's fill when fully filled."""
    net: dict = {}
    gross: dict = {}
    for a, _, i, q in rows:
        net[(a, i)] = net.get((a, i), 0.0) + q
        gross[(a, i)] = gross.get((a, i), 0.0) + abs(q)
    return net, gross


case = st.lists(st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(["s1", "s2", "s3"]),
                          st.sampled_from(["X", "Y"]), st.integers(-1000, 1000).map(float)),
                min_size=1, max_size=15)


@given(case, st.floats(0, 1))
def test_netting_preserves_each_sleeve(rows, fill_fraction):
    T = pa.table({"portfolio_id": [r[0] for r in rows], "sleeve": [r[1] for r in rows],
                  "instrument_id": [r[2] for r in rows], "quantity": [r[3] for r in rows]})
    pos = pa.table({"portfolio_id": ["A", "B"], "sleeve": ["s1", "s2"], "instrument_id": ["X", "Y"],
                    "quantity": [5.0, -3.0]})
    n = net_sleeves(T, positions=pos)
    net, gross = _reference(rows)
    o = n.orders.to_pydict()
    assert dict(zip(zip(o["portfolio_id"], o["instrument_id"]), o["net_quantity"])) == pytest.approx(net)
    assert dict(zip(zip(o["portfolio_id"], o["instrument_id"]), o["gross_quantity"])) == pytest.approx(gross)
    a = n.allocations.to_pydict()
    # each sleeve's trade is filled exactly: resulting position = before + its own trade
    assert a["filled_quantity"] == a["quantity"]
    p = n.positions.to_pydict()
    assert p["position_after"] == p["target"]
    # crosses match within each (account, instrument); market shares sum to the order
    for key, value in net.items():
        idx = [k for k in range(len(rows)) if (rows[k][0], rows[k][2]) == key]
        assert sum(a["crossed_quantity"][k] for k in idx) == pytest.approx(0.0, abs=1e-9)
        assert sum(a["market_quantity"][k] for k in idx) == pytest.approx(value, abs=1e-9)
        # no sleeve trades against the order's direction in the market
        assert all(a["market_quantity"][k] * value >= 0 for k in idx)
    # partial fills: allocated market shares add up to the fill and never exceed the request
    fills = pa.table({"portfolio_id": o["portfolio_id"], "instrument_id": o["instrument_id"],
                      "filled_quantity": [v * fill_fraction for v in o["net_quantity"]]})
    part = net_sleeves(T, fills=fills).allocations.to_pydict()
    for k in range(len(rows)):
        f, q = part["filled_quantity"][k], part["quantity"][k]
        assert f * q >= 0 and abs(f) <= abs(q) + 1e-9
    for key, value in net.items():
        idx = [k for k in range(len(rows)) if (rows[k][0], rows[k][2]) == key]
        assert sum(part["market_quantity"][k] for k in idx) == pytest.approx(value * fill_fraction, abs=1e-9)
