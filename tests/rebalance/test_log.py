"""Rebalancing log: planned vs filled, efficiency by hand, finish and roll back plans, bad fills."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow, to_arrow
from pmcore.kernels import rebalance_trades as kr
from pmcore.rebalance import CostModel, check_triggers, drift, rebalance_log, trade_list

from .test_trades import CASH, MODEL, POS, PRICES, random_book


def planned(backend="arrow", **kw):
    d = drift(from_arrow(POS, backend), from_arrow(MODEL, backend), prices=from_arrow(PRICES, backend),
              cash=from_arrow(CASH, backend))
    return trade_list(d, **kw)


def test_executed_as_planned_matches_the_plan():
    plan = planned(costs=CostModel(commission_bps=2.0))
    log = rebalance_log(plan)
    assert log.complete
    acc = log.to_arrow().to_pylist()[0]
    plan_acc = plan.to_arrow("accounts").to_pylist()[0]
    assert acc["cash_after"] == pytest.approx(plan_acc["cash_after"])
    assert acc["remaining_drift"] == pytest.approx(plan_acc["total_drift_after"], abs=1e-12)
    assert acc["actual_cost"] == pytest.approx(plan_acc["estimated_cost"])
    assert acc["trades"] == acc["filled"] == 2 and acc["failed"] == 0
    alloc = log.to_arrow("allocation").to_pylist()
    assert {r["instrument_id"] for r in alloc} == {"SPY", "AGG", "CASH"}
    assert "1 accounts traded; 2 filled" in repr(log)


def test_partial_and_failed_fills_by_hand():
    # plan: sell 15 SPY, buy 120 AGG (value 105,000). Fills: SPY -10 in two prints at 601 and 598, AGG nothing.
    fills = pa.table({"portfolio_id": ["A", "A"], "instrument_id": ["SPY", "SPY"],
                      "filled_quantity": [-4.0, -6.0], "fill_price": [601.0, 598.0], "cost": [1.0, 1.5]})
    log = rebalance_log(planned(), fills)
    tr = {r["instrument_id"]: r for r in log.to_arrow("trades").to_pylist()}
    assert tr["SPY"]["status"] == "partial" and tr["AGG"]["status"] == "failed"
    assert tr["SPY"]["fill_price"] == pytest.approx((4 * 601 + 6 * 598) / 10)  # volume-weighted
    assert tr["SPY"]["actual_cost"] == 2.5 and tr["SPY"]["remaining_quantity"] == -5.0
    acc = log.to_arrow().to_pylist()[0]
    cash = 3000 + 4 * 601 + 6 * 598 - 2.5
    assert acc["cash_after"] == pytest.approx(cash)
    # weights after at the plan's prices: SPY 110 x 600, AGG 300 x 100, cash
    value = 66000 + 30000 + cash
    want = abs(66000 / value - 0.6) + abs(30000 / value - 0.4) + cash / value
    assert acc["remaining_drift"] == pytest.approx(want)
    assert acc["efficiency"] == pytest.approx(want / (72000 / 105000 - 0.6 + 0.4 - 30000 / 105000 + 3000 / 105000))
    assert acc["partial"] == 1 and acc["failed"] == 1 and not log.complete
    finish = {r["instrument_id"]: r for r in log.finish().to_pylist()}
    assert finish["SPY"]["quantity"] == -5.0 and finish["AGG"]["quantity"] == 120.0
    assert finish["SPY"]["wave"] == 1 and finish["AGG"]["wave"] == 2  # cash 8,985.5 < 12,000 of buys
    back = log.rollback().to_pylist()
    assert [(r["instrument_id"], r["quantity"], r["price"]) for r in back] == [("SPY", 10.0, pytest.approx(599.2))]


def test_default_cost_is_the_estimate_in_proportion():
    plan = planned(costs=CostModel(commission_bps=10.0))
    fills = pa.table({"portfolio_id": ["A"], "instrument_id": ["AGG"], "filled_quantity": [30.0]})
    tr = {r["instrument_id"]: r for r in rebalance_log(plan, fills).to_arrow("trades").to_pylist()}
    assert tr["AGG"]["actual_cost"] == pytest.approx(tr["AGG"]["estimated_cost"] * 30 / tr["AGG"]["planned_quantity"])


def test_reasons_from_the_decision_and_backends(backend):
    plan = planned(backend)
    dec = check_triggers(plan.drift)
    log = rebalance_log(plan, decision=dec)
    out = log.to_frame()
    assert frame_kind(out) == backend and frame_kind(log.finish()) == backend
    assert to_arrow(out, "x").column("reason")[0].as_py().startswith("rebalance: AGG drift -11.43 pp")
    assert to_arrow(log.finish(), "x").num_rows == 0 and to_arrow(log.rollback(), "x").num_rows == 2


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 5), n_i=st.integers(1, 5))
def test_fills_then_finish_reach_the_planned_state(seed, n_p, n_i):
    """Property: executing part of the plan and then the finishing trades = executing the plan."""
    pos, prices, cash, targets, inst, _ = random_book(seed, n_p, n_i, True, False)
    plan = trade_list(drift(pos, targets, prices=prices, cash=cash), instruments=inst)
    rng = np.random.default_rng(seed)
    t = plan.to_arrow()
    live = t.filter(pa.array(np.asarray(t.column("quantity")) != 0))
    share = rng.choice([0.0, 0.5, 1.0], live.num_rows)
    fills = pa.table({"portfolio_id": live.column("portfolio_id"), "instrument_id": live.column("instrument_id"),
                      "filled_quantity": np.asarray(live.column("quantity")) * share})
    log = rebalance_log(plan, fills)
    full = rebalance_log(plan)
    finish = log.finish()
    # apply the finishing trades to the state after the fills
    rest = {(r["portfolio_id"], r["instrument_id"]): r["quantity"] for r in finish.to_pylist()}
    tr = log.to_arrow("trades").to_pylist()
    for r in tr:
        assert r["filled_quantity"] + rest.get((r["portfolio_id"], r["instrument_id"]), 0.0) == pytest.approx(
            r["planned_quantity"])
    back = {(r["portfolio_id"], r["instrument_id"]): r["quantity"] for r in log.rollback().to_pylist()}
    for r in tr:
        assert back.get((r["portfolio_id"], r["instrument_id"]), 0.0) == -r["filled_quantity"]
    np.testing.assert_allclose(full.remaining_drift[plan.status == 0],
                               plan.account[plan.status == 0, kr.A_TOTAL_AFTER], atol=1e-9)


@pytest.mark.parametrize("fills, message", [
    (pa.table({"portfolio_id": ["A"], "instrument_id": ["GLD"], "filled_quantity": [1.0]}),
     "not in the plan \\(account 'A', instrument 'GLD'\\)"),
    (pa.table({"portfolio_id": ["Z"], "instrument_id": ["SPY"], "filled_quantity": [1.0]}), "account 'Z'"),
    (pa.table({"portfolio_id": ["A"], "instrument_id": ["SPY"], "filled_quantity": [5.0]}),
     "other side, for account 'A', instrument 'SPY'"),
    (pa.table({"portfolio_id": ["A"], "instrument_id": ["AGG"], "filled_quantity": [121.0]}), "more than planned"),
    (pa.table({"portfolio_id": ["A"], "instrument_id": ["AGG"], "filled_quantity": [1.0], "fill_price": [0.0]}),
     "price <= 0 for account 'A', instrument 'AGG'"),
    (pa.table({"portfolio_id": ["A"], "instrument_id": ["AGG"], "qty": [1.0]}), "filled_quantity"),
])
def test_bad_fills(fills, message):
    with pytest.raises(pm.ValidationError, match=message):
        rebalance_log(planned(), fills)
    with pytest.raises(pm.ValidationError, match="TradeList"):
        rebalance_log(fills)
