"""Pre-trade check, position sizing, withdrawal, mode switch, alerts, funding and borrowing."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow
from pmcore.margin import (
    borrowing_cost,
    check_margin_mode_switch,
    funding_payments,
    margin_alerts,
    margin_state,
    max_withdrawal,
    position_size,
    pre_trade_check,
)

INST = pa.table({"instrument_id": ["BTC", "ETH", "ES"], "currency": ["USD", "USD", "USD"],
                 "multiplier": [1.0, 1.0, 50.0]})
PRICES = pa.table({"instrument_id": ["BTC", "ETH", "ES"], "price": [60000.0, 3000.0, 5000.0]})


def state(quantity=(0.1, -2.0), cash=20000.0, locked=0.0, kind="arrow", **kw):
    pos = pa.table({"portfolio_id": ["F", "F"], "instrument_id": ["BTC", "ETH"],
                    "quantity": list(quantity), "avg_price": [60000.0, 3000.0]})
    c = pa.table({"portfolio_id": ["F", "G"], "currency": ["USD", "USD"], "amount": [cash, 100.0],
                  "locked": [locked, 0.0]})
    kw.setdefault("leverage", 10)
    return margin_state(from_arrow(pos, kind), PRICES, instruments=INST, cash=c,
                        accounts={"F": "margin", "G": "cash"}, **kw)


# ----------------------------------------------------------------------------- pre-trade


def test_pre_trade_approve_reduce_reject():
    s = state()  # equity 20,000, IM 600 + 600, free 18,800, available 17,860
    ok = pre_trade_check(s, "F", "BTC", 1.0)
    assert ok.decision == "approve" and ok.quantity == 1.0 and ok.required_margin == 6000.0
    assert ok.free_margin == 18800.0 and ok.available_margin == pytest.approx(17860.0)
    big = pre_trade_check(s, "F", "BTC", 5.0)
    assert big.decision == "reduce" and big.quantity == pytest.approx(17860.0 / 6000.0)
    assert pre_trade_check(s, "F", "BTC", big.quantity).decision == "approve"
    short = pre_trade_check(s, "F", "BTC", -5.0)  # closes 0.1 for free, then opens
    assert short.decision == "reduce" and short.quantity == pytest.approx(-(0.1 + 17860.0 / 6000.0))
    broke = state(cash=1000.0)  # free margin -200
    no = pre_trade_check(broke, "F", "ETH", -1.0)
    assert no.decision == "reject" and no.quantity == 0.0
    assert no.reason.startswith("Insufficient margin")


def test_pre_trade_fee_and_buffer():
    s = state()
    # 2.9 BTC: margin 17,400 fits 17,860 alone, not with a 0.1 % fee on 174,000 (174)
    assert pre_trade_check(s, "F", "BTC", 2.9).decision == "approve"
    c = pre_trade_check(s, "F", "BTC", 2.98, fee_rate=0.001)
    assert c.decision == "reduce" and c.fee == pytest.approx(2.98 * 60000 * 0.001)
    assert c.quantity == pytest.approx(17860.0 / (60000 * (0.1 + 0.001)))
    assert pre_trade_check(s, "F", "BTC", 3.1, buffer=0.0).decision == "approve"
    assert pre_trade_check(s, "F", "BTC", 3.1, buffer=0.05).decision == "reduce"


def test_pre_trade_reducing_order_always_passes():
    broke = state(cash=1000.0)
    c = pre_trade_check(broke, "F", "ETH", 1.5)  # short 2 ETH, buy back 1.5
    assert c.decision == "approve" and c.reason == "reduces the position"
    flip = pre_trade_check(broke, "F", "ETH", 3.0)  # closes 2, cannot open 1
    assert flip.decision == "reduce" and flip.quantity == 2.0


def test_pre_trade_lot_size_price_and_leverage():
    s = state()
    c = pre_trade_check(s, "F", "ETH", -100.0, lot_size=0.01)
    assert c.quantity == pytest.approx(-((17860.0 / 300.0) // 0.01 * 0.01), abs=1e-9)
    assert pre_trade_check(s, "F", "BTC", 1.0, price=30000.0).required_margin == 3000.0
    assert pre_trade_check(s, "F", "BTC", 1.0, leverage=20).required_margin == 3000.0
    with pytest.raises(pm.ValidationError, match="leverage"):
        pre_trade_check(s, "F", "BTC", 1.0, leverage=150)


def test_pre_trade_tier_leverage_cap():
    brackets = pa.table({"instrument_id": ["BTC", "BTC"], "notional_floor": [0.0, 50000.0],
                         "maintenance_rate": [0.004, 0.005], "max_leverage": [125.0, 20.0]})
    s = state(brackets=brackets, leverage=50)
    c = pre_trade_check(s, "F", "BTC", 1.0)  # 66,000 notional: tier 2 allows 20x only
    assert c.decision == "reduce" and "allows at most 50,000.00" in c.reason
    assert abs(c.quantity + 0.1) * 60000.0 <= 50000.0
    assert pre_trade_check(s, "F", "BTC", c.quantity).decision == "approve"


@pytest.mark.parametrize("args, kw, message", [
    (("F", "BTC", 0.0), {}, "non-zero"),
    (("F", "BTC", float("nan")), {}, "non-zero"),
    (("F", "DOGE", 1.0), {}, "not an instrument"),
    (("Z", "BTC", 1.0), {}, "not a portfolio"),
    (("G", "BTC", 1.0), {}, "cash account"),
    (("F", "BTC", 1.0), {"fee_rate": -0.1}, "out of range"),
    (("F", "BTC", 1.0), {"buffer": 1.0}, "out of range"),
    (("F", "BTC", 1.0), {"price": -5.0}, "positive"),
])
def test_pre_trade_bad_input(args, kw, message):
    with pytest.raises(pm.ValidationError, match=message):
        pre_trade_check(state(), *args, **kw)


# ----------------------------------------------------------------------------- sizing


def test_sizing_worked_example_and_caps():
    s = state(quantity=(0.0, 0.0), cash=100000.0, leverage=5)
    size = position_size(s, "F", "ETH", stop=2900.0, risk=0.01, max_allocation=1.0)
    # risk 1,000 / (3,000 - 2,900) = 10 ETH, no cap binds
    assert size.decision == "trade" and size.quantity == 10.0 and size.caps == {}
    capped = position_size(s, "F", "ETH", stop=2900.0, risk=0.01)  # 10 % of 100,000 = 3.33 ETH
    assert capped.quantity == pytest.approx(10000.0 / 3000.0) and list(capped.caps) == ["max_allocation"]
    short = position_size(s, "F", "ETH", stop=3100.0, max_allocation=1.0)
    assert short.side == "short" and short.quantity == -10.0
    # free-margin cap: free x 0.95 x leverage / entry
    tight = position_size(s, "F", "ES", stop=4999.0, risk=0.05, max_allocation=100.0)
    assert "free_margin" in tight.caps
    assert abs(tight.quantity) == pytest.approx(100000 * 0.95 * 5 / (5000 * 50), rel=1e-9)


def test_sizing_minimum_and_rejection():
    s = state(quantity=(0.0, 0.0), cash=100000.0)
    tiny = position_size(s, "F", "BTC", stop=50000.0, risk=0.00001)  # 1 of risk: 0.0001 BTC = 6
    assert tiny.decision == "no_trade" and tiny.quantity == 0.0 and "minimum" in tiny.caps
    broke = state(cash=1000.0)
    no = position_size(broke, "F", "BTC", stop=59000.0)
    assert no.decision == "reject" and "Insufficient margin" in no.reason


@pytest.mark.parametrize("kw, message", [
    ({"stop": 3000.0}, "equals the entry"),
    ({"stop": 3100.0, "side": "long"}, "wrong side"),
    ({"stop": 2900.0, "side": "short"}, "wrong side"),
    ({"stop": -1.0}, "positive"),
    ({"stop": 2900.0, "risk": 1.5}, "out of range"),
    ({"stop": 2900.0, "side": "up"}, "not a side"),
])
def test_sizing_bad_input(kw, message):
    with pytest.raises(pm.ValidationError, match=message):
        position_size(state(), "F", "ETH", **kw)


@given(cash=st.floats(500.0, 2e6), q_btc=st.floats(-3, 3), q_eth=st.floats(-50, 50),
       stop_frac=st.floats(0.001, 0.5), risk=st.floats(0.001, 0.2), lev=st.sampled_from([1, 3, 10, 125]),
       fee=st.sampled_from([0.0, 0.0004, 0.01]), inst=st.sampled_from(["BTC", "ETH", "ES"]),
       short=st.booleans(), lot=st.sampled_from([None, 0.001, 1.0]))
def test_sizing_never_fails_the_pre_trade_check(cash, q_btc, q_eth, stop_frac, risk, lev, fee, inst,
                                                short, lot):
    s = state(quantity=(q_btc, q_eth), cash=cash, leverage=lev)
    px = float(s.price[s.instrument_code(inst)])
    stop = px * (1 + stop_frac) if short else px * (1 - stop_frac)
    size = position_size(s, "F", inst, stop=stop, risk=risk, fee_rate=fee, max_allocation=5.0,
                         lot_size=lot)
    if size.decision == "trade":
        check = pre_trade_check(s, "F", inst, size.quantity, fee_rate=fee)
        assert check.decision == "approve", (size, check)
    else:
        assert size.quantity == 0.0


# ----------------------------------------------------------------------------- withdrawal


def test_max_withdrawal_rules(backend):
    s = state(cash=20000.0, locked=19000.0, kind=backend)
    out = max_withdrawal(s)
    assert frame_kind(out) == backend
    row = from_arrow_rows(out)[0]
    assert row["limited_by"] == "reserve" and row["max_withdrawal"] == 0.0  # 1,000 free < 2,000 reserve
    row = from_arrow_rows(max_withdrawal(state(cash=20000.0)))[0]  # keeps 10 % of 20,000
    assert row["max_withdrawal"] == pytest.approx(18000.0) and row["limited_by"] == "reserve"
    row = from_arrow_rows(max_withdrawal(state(cash=20000.0), reserve=0.0))[0]
    assert row["max_withdrawal"] == pytest.approx(18800.0) and row["limited_by"] == "free_margin"
    row = from_arrow_rows(max_withdrawal(state(cash=20000.0), min_level_pct=1000))[0]
    assert row["max_withdrawal"] == pytest.approx(20000.0 - 10 * 1200.0) and row["limited_by"] == "level"
    row = from_arrow_rows(max_withdrawal(state(cash=1000.0)))[0]
    assert row["max_withdrawal"] == 0.0


def from_arrow_rows(frame):
    return pm.frames.to_arrow(frame, "out").to_pylist()


@given(cash=st.floats(0.0, 1e5), q=st.floats(-5, 5), reserve=st.floats(0, 0.9))
def test_withdrawing_the_maximum_keeps_every_rule(cash, q, reserve):
    s = state(quantity=(q, 1.0), cash=cash)
    w = from_arrow_rows(max_withdrawal(s, reserve=reserve, min_level_pct=150))[0]["max_withdrawal"]
    after = state(quantity=(q, 1.0), cash=cash - w)
    if w > 0:
        assert after.free_margin[0] >= -1e-6
        assert after.margin_level_pct[0] >= 150 - 1e-6
        assert cash - w >= reserve * cash - 1e-6


# ----------------------------------------------------------------------------- mode switch


def test_mode_switch():
    s = state()
    no = check_margin_mode_switch(s, "F", "isolated", instrument_id="BTC")
    assert not no.allowed and "open cross position" in no.reason
    assert check_margin_mode_switch(s, "F", "isolated", instrument_id="ES").allowed
    assert not check_margin_mode_switch(s, "F", "cross").allowed
    assert check_margin_mode_switch(s, "F", "cross").reason == "already in cross mode"
    flat = state(quantity=(0.0, 0.0), locked=5.0)
    assert check_margin_mode_switch(flat, "F", "isolated").reason.startswith("open orders")
    assert check_margin_mode_switch(state(quantity=(0.0, 0.0)), "F", "isolated").allowed
    with pytest.raises(pm.ValidationError, match="margin mode"):
        check_margin_mode_switch(s, "F", "portfolio")


# ----------------------------------------------------------------------------- alerts


def test_alert_levels_and_actions():
    # IM 600 + 600 = 1,200; equity = cash; levels 250 %, 180 %, 120 %, 100 %
    levels = {}
    for cash in (3000.0, 2160.0, 1440.0, 1200.0):
        a = margin_alerts(state(cash=cash))
        levels[cash] = (a.status_names[0], a.margin_level_pct[0], a.funds_needed[0])
    assert levels[3000.0][0] == "ok" and levels[3000.0][2] == 0.0
    assert levels[2160.0][0] == "warning" and levels[2160.0][2] == pytest.approx(2400 - 2160)
    assert levels[1440.0][0] == "liquidation_risk" and levels[1440.0][2] == pytest.approx(1800 - 1440)
    assert levels[1200.0][0] == "liquidation" and levels[1200.0][2] == pytest.approx(1320 - 1200)
    a = margin_alerts(state(cash=1200.0))
    assert a.close_count[0] == 1 and a.level_after_pct[0] == pytest.approx(200.0)
    assert "close 1 position" in a.actions()[0] and "liquidation" in repr(a)
    custom = margin_alerts(state(cash=3000.0), warning_pct=300, risk_pct=260, liquidation_pct=255)
    assert custom.status_names == ["liquidation"] and custom.threshold_pct[0] == 255
    assert "all ok" in repr(margin_alerts(state(cash=1e6)))


def test_close_plan_most_losing_first():
    pos = pa.table({"portfolio_id": ["F"] * 3, "instrument_id": ["BTC", "ETH", "ES"],
                    "quantity": [0.1, 1.0, 1.0], "avg_price": [70000.0, 3100.0, 5000.0]})
    c = pa.table({"portfolio_id": ["F"], "currency": ["USD"], "amount": [1500.0]})
    s = margin_state(pos, PRICES, instruments=INST, cash=c, accounts={"F": "margin"}, leverage=10)
    a = margin_alerts(s, restore_pct=150)
    # upnl: BTC -1,000, ETH -100, ES 0; IM 600, 300, 25,000; equity 400
    assert a.positions_to_close.column("instrument_id").to_pylist() == ["BTC", "ETH", "ES"]
    assert a.frame.column("positions_to_close").to_pylist() == [3]


def test_alerts_bad_thresholds():
    with pytest.raises(pm.ValidationError, match="decrease"):
        margin_alerts(state(), warning_pct=100, risk_pct=150)
    with pytest.raises(pm.ValidationError, match="percent"):
        margin_alerts(state(), liquidation_pct=-1)
    with pytest.raises(pm.ValidationError, match="MarginState"):
        margin_alerts("state")


# ----------------------------------------------------------------------------- funding, borrowing


def test_funding_sign_interval_and_accounts():
    s = state()
    out = funding_payments(s, pa.table({"instrument_id": ["BTC", "ETH"], "funding_rate": [0.0001, -0.0002]}),
                           hours=20)
    rows = out.to_pylist()
    assert [r["payments"] for r in rows] == [2, 2]
    assert rows[0]["funding"] == pytest.approx(-6000 * 0.0001 * 2)  # long pays a positive rate
    assert rows[1]["funding"] == pytest.approx(-6000 * 0.0002 * 2)  # short pays a negative rate
    acc = funding_payments(s, {"BTC": 0.0001}, hours=8, by="account").to_pylist()
    assert acc == [{"portfolio_id": "F", "funding": pytest.approx(-0.6)}]
    with pytest.raises(pm.ValidationError, match="not in the book"):
        funding_payments(s, {"DOGE": 0.1})


def test_borrowing_cost():
    s = state(cash=-5000.0)
    rows = borrowing_cost(s, annual_rate=0.08, days=30, day_count=360).to_pylist()
    assert rows == [{"portfolio_id": "F", "debt": 5000.0, "cost": pytest.approx(5000 * 0.08 * 30 / 360)}]
    assert borrowing_cost(state(), annual_rate=0.08, days=30).column("cost").to_pylist() == [0.0]
    with pytest.raises(pm.ValidationError, match="rate"):
        borrowing_cost(s, annual_rate=-0.1, days=30)


def test_single_account_call_from_threads():
    from concurrent.futures import ThreadPoolExecutor

    s = state()
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda q: pre_trade_check(s, "F", "BTC", q).quantity, [0.5, 1, 5, 10] * 10))
    assert got[:4] == [0.5, 1.0, pytest.approx(17860 / 6000), pytest.approx(17860 / 6000)]
    assert not math.isnan(sum(got)) and np.isfinite(got).all()


def _check_in_child(quantity):
    """Run in a worker process: build a state and check an order (module level: picklable)."""
    return pre_trade_check(state(), "F", "BTC", quantity).quantity


def test_from_a_process_pool():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        got = list(pool.map(_check_in_child, [0.5, 10.0]))
    assert got == [0.5, pytest.approx(17860 / 6000)]
