"""Trade lists: hand-worked accounts, a pandas reference, limits as properties, kernel vs twin, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow
from pmcore.kernels import rebalance_trades as kr
from pmcore.rebalance import CostModel, check_triggers, drift, trade_list
from pmcore.rebalance.trades import ACCOUNT_STATUSES

POS = pa.table({"portfolio_id": ["A", "A"], "instrument_id": ["SPY", "AGG"], "quantity": [120.0, 300.0]})
PRICES = pa.table({"instrument_id": ["SPY", "AGG"], "price": [600.0, 100.0]})
CASH = pa.table({"portfolio_id": ["A"], "amount": [3000.0]})
MODEL = pa.table({"instrument_id": ["SPY", "AGG"], "target_weight": [0.6, 0.4]})
LOTS = pa.table({"instrument_id": ["SPY", "AGG"], "lot_size": [1.0, 1.0]})


def plan(pos=POS, targets=MODEL, cash=CASH, prices=PRICES, **kw):
    return trade_list(drift(pos, targets, prices=prices, cash=cash), **kw)


def trades_of(tl):
    return {r["instrument_id"]: r for r in tl.to_arrow().to_pylist()}


# ----------------------------------------------------------------------------- hand-worked accounts


def test_to_target_hand_worked():
    # value 72,000 + 30,000 + 3,000 = 105,000; SPY 0.6 -> 63,000 = 105 sh (sell 15); AGG 42,000 = 420 (buy 120)
    tl = plan(instruments=LOTS)
    t = trades_of(tl)
    assert t["SPY"]["quantity"] == -15.0 and t["AGG"]["quantity"] == 120.0
    assert t["SPY"]["side"] == "sell" and t["SPY"]["wave"] == 1
    assert t["AGG"]["wave"] == 2  # 3,000 of cash does not cover 12,000 of buys: after the sells
    acc = tl.to_arrow("accounts").to_pylist()[0]
    assert acc["status"] == "traded" and acc["cash_after"] == pytest.approx(0.0, abs=1e-9)
    assert acc["max_drift_after"] == pytest.approx(0.0, abs=1e-12)
    assert acc["turnover"] == pytest.approx((9000 + 12000) / 2 / 105000)


def test_cash_reserve_scales_targets_and_lots_round_sells_up_buys_down():
    # reserve 5 %: SPY 0.6 * 0.95 * 105,000 = 59,850 = 99.75 sh -> sell 20.25, rounded up to 21;
    # AGG 0.4 * 0.95 * 105,000 = 39,900 = 399 sh -> buy 99; cash 3,000 + 12,600 - 9,900 = 5,700 >= 5,250
    tl = plan(instruments=LOTS, cash_reserve=0.05)
    t = trades_of(tl)
    assert t["SPY"]["quantity"] == -21.0 and t["AGG"]["quantity"] == 99.0
    assert t["AGG"]["wave"] == 2  # cash above the reserve, 3,000 - 5,250, does not cover 9,900 of buys
    acc = tl.to_arrow("accounts").to_pylist()[0]
    assert acc["cash_after"] == pytest.approx(5700.0)


def test_band_mode_trades_to_the_nearest_edge():
    # w_SPY = 72,000 / 105,000 = 0.6857 > 0.6 + 0.05 -> to 0.65: 68,250 = 113.75 sh -> sell 6.25 -> 7 (lots)
    # w_AGG = 0.2857 < 0.4 - 0.05 -> to 0.35: 36,750 = 367.5 sh -> buy 67.5 -> 67
    tl = plan(instruments=LOTS, mode="band", threshold=0.05)
    t = trades_of(tl)
    assert t["SPY"]["quantity"] == -7.0 and t["AGG"]["quantity"] == 67.0
    assert t["SPY"]["reason"] == "to band edge"
    # inside the band: nothing to trade
    calm = plan(pos=POS.set_column(2, "quantity", pa.array([100.0, 400.0])), instruments=LOTS, mode="band")
    assert calm.n_trades == 0 and ACCOUNT_STATUSES[calm.status[0]] == "nothing to trade"


def test_close_position_min_notional_and_lot_skip():
    pos = pa.table({"portfolio_id": ["A"] * 3, "instrument_id": ["SPY", "AGG", "GLD"],
                    "quantity": [105.0, 419.0, 3.3]})
    prices = pa.table({"instrument_id": ["SPY", "AGG", "GLD"], "price": [600.0, 100.0, 200.0]})
    # value 63,000 + 41,900 + 660 + 440 = 106,000: SPY -> 63,600 = 106 sh (+1 = 600 < 1,000 min notional)
    # AGG -> 42,400 = 424 sh (+5 lots of 10 -> 0: less than one lot); GLD not in the model: close 3.3 exactly
    inst = pa.table({"instrument_id": ["SPY", "AGG", "GLD"], "lot_size": [1.0, 10.0, 1.0],
                     "min_notional": [1000.0, 0.0, 0.0]})
    tl = plan(pos=pos, prices=prices, cash=pa.table({"portfolio_id": ["A"], "amount": [440.0]}), instruments=inst)
    t = trades_of(tl)
    assert t["GLD"]["quantity"] == -3.3 and t["GLD"]["reason"] == "close position"
    assert t["SPY"]["quantity"] == 0.0 and t["SPY"]["reason"] == "skipped: below minimum notional"
    assert t["AGG"]["quantity"] == 0.0 and t["AGG"]["reason"] == "skipped: less than one lot"
    assert tl.n_trades == 1


def test_costs_are_estimated_and_buys_trimmed_to_cash():
    # no spare cash: buying to target would overdraw by the costs, so the buys are scaled down
    cm = CostModel(commission_bps=10.0, half_spread_bps=5.0)
    tl = plan(costs=cm)
    t = trades_of(tl)
    sell_cost = 9000.0 * 15e-4
    assert t["SPY"]["estimated_cost"] == pytest.approx(sell_cost)
    assert t["AGG"]["reason"] == "trimmed: cash or leverage"
    assert t["AGG"]["estimated_cost"] == pytest.approx(t["AGG"]["notional"] * 15e-4)
    cash_after = 3000.0 + 9000.0 - t["AGG"]["notional"] - sell_cost - t["AGG"]["estimated_cost"]
    assert cash_after >= -1e-6 and cash_after < 1.0  # uses the cash, not more
    acc = tl.to_arrow("accounts").to_pylist()[0]
    assert acc["cash_after"] == pytest.approx(cash_after) and acc["estimated_cost"] == pytest.approx(
        sell_cost + t["AGG"]["estimated_cost"])


def test_leverage_cap():
    levered = pa.table({"instrument_id": ["SPY", "AGG", "CASH"], "target_weight": [0.9, 0.5, -0.4]})
    tl = plan(targets=levered, max_leverage=1.5)
    acc = tl.to_arrow("accounts").to_pylist()[0]
    assert acc["leverage_after"] == pytest.approx(1.4) and acc["cash_after"] == pytest.approx(-0.4 * 105000)
    with pytest.raises(pm.ValidationError, match="leverage cap for account 'A' \\(largest: 'SPY'"):
        plan(targets=levered)
    # costs would push leverage over the cap: buys are trimmed to stay within it
    tl = plan(targets=levered, max_leverage=1.4, costs=CostModel(commission_bps=20.0))
    acc = tl.to_arrow("accounts").to_pylist()[0]
    assert acc["leverage_after"] <= 1.4 + 1e-9 and acc["buy_scale"] < 1.0


def test_cost_benefit_with_covariance_shows_the_estimate():
    cov = pa.table({"SPY": [0.04, 0.005], "AGG": [0.005, 0.0025]})  # annual
    cm = CostModel(commission_bps=5.0, half_spread_bps=5.0)
    tl = plan(costs=cm, covariance=cov, risk_aversion=2.0)
    acc = tl.to_arrow("accounts").to_pylist()[0]
    # independent figure: the drift before, from the weights, and d' S d in numpy
    d = np.array([72000 / 105000 - 0.6, 30000 / 105000 - 0.4])
    s = np.array([[0.04, 0.005], [0.005, 0.0025]])
    assert acc["tracking_error_before"] == pytest.approx(math.sqrt(d @ s @ d), rel=1e-12)
    assert acc["benefit"] == pytest.approx(0.5 * 2.0 * (d @ s @ d - acc["tracking_error_after"] ** 2) * 105000)
    assert acc["status"] == "traded" and acc["benefit"] > acc["estimated_cost"]
    tiny = plan(pos=POS.set_column(2, "quantity", pa.array([106.0, 410.0])), costs=cm, covariance=cov,
                cash=pa.table({"portfolio_id": ["A"], "amount": [400.0]}))
    acc = tiny.to_arrow("accounts").to_pylist()[0]
    assert acc["status"] == "cost exceeds benefit" and acc["benefit"] < acc["estimated_cost"]
    assert tiny.n_trades == 0


def test_only_triggered_accounts_are_planned():
    pos = pa.concat_tables([POS, pa.table({"portfolio_id": ["B", "B"], "instrument_id": ["SPY", "AGG"],
                                           "quantity": [100.0, 400.0]})])
    cash = pa.table({"portfolio_id": ["A", "B"], "amount": [3000.0, 5000.0]})
    d = drift(pos, MODEL, prices=PRICES, cash=cash)
    dec = check_triggers(d, threshold=0.05)
    tl = trade_list(d, decision=dec)
    assert dec.rebalance.tolist() == [True, False]
    assert [ACCOUNT_STATUSES[s] for s in tl.status] == ["traded", "not triggered"]
    assert set(tl.to_arrow().column("portfolio_id").to_pylist()) == {"A"}
    assert "1 traded, 1 not triggered" in repr(tl)


def test_pandas_reference_to_target():
    """A pandas implementation of the same rule (no lots, no costs) gives the same quantities."""
    rng = np.random.default_rng(3)
    n_p, n_i = 30, 8
    ids = [f"I{i}" for i in range(n_i)]
    price = rng.uniform(5, 300, n_i)
    pos = pd.DataFrame({"portfolio_id": np.repeat([f"P{p:02d}" for p in range(n_p)], n_i),
                        "instrument_id": ids * n_p, "quantity": rng.uniform(0, 100, n_p * n_i).round()})
    prices = pd.DataFrame({"instrument_id": ids, "price": price})
    cash = pd.DataFrame({"portfolio_id": [f"P{p:02d}" for p in range(n_p)], "amount": rng.uniform(0, 5000, n_p)})
    tw = rng.dirichlet(np.ones(n_i)) * 0.97
    targets = pd.DataFrame({"instrument_id": ids + ["CASH"], "target_weight": list(tw) + [0.03]})
    out = trade_list(drift(pos, targets, prices=prices, cash=cash)).to_frame()
    assert frame_kind(out) == "pandas"
    # reference
    m = pos.merge(prices, on="instrument_id")
    value = (m["quantity"] * m["price"]).groupby(m["portfolio_id"]).sum() + cash.set_index("portfolio_id")["amount"]
    m = m.merge(targets, on="instrument_id").merge(value.rename("value"), left_on="portfolio_id", right_index=True)
    m["trade"] = m["target_weight"] * m["value"] / m["price"] - m["quantity"]
    got = out.set_index(["portfolio_id", "instrument_id"])["quantity"]
    ref = m.set_index(["portfolio_id", "instrument_id"])["trade"]
    np.testing.assert_allclose(got.reindex(ref.index).fillna(0.0), ref, rtol=1e-9, atol=1e-9)


def test_backends(backend):
    d = drift(from_arrow(POS, backend), from_arrow(MODEL, backend), prices=from_arrow(PRICES, backend),
              cash=from_arrow(CASH, backend))
    tl = trade_list(d, instruments=from_arrow(LOTS, backend))
    assert frame_kind(tl.to_frame()) == backend and frame_kind(tl.to_frame("accounts")) == backend
    assert tl.to_arrow().column("quantity").to_pylist() == [-15.0, 120.0]


@pytest.mark.parametrize("make, message", [
    (lambda: trade_list(drift(pa.table({"portfolio_id": ["A"], "instrument_id": ["SPY"], "weight": [1.0]}),
                              MODEL.slice(0, 1).set_column(1, "target_weight", pa.array([1.0])))),
     "Drift of positions"),
    (lambda: plan(mode="edge"), "mode"),
    (lambda: plan(mode="band", threshold=None), "needs a band"),
    (lambda: plan(cash_reserve=1.0), "cash_reserve"),
    (lambda: plan(max_leverage=0.0), "max_leverage"),
    (lambda: plan(instruments=pa.table({"instrument_id": ["SPY"], "lot_size": [-1.0]})), "lot_size"),
    (lambda: plan(costs=CostModel(commission_bps=-1.0)), "commission_bps"),
    (lambda: plan(prices=pa.table({"instrument_id": ["SPY", "AGG"], "price": [600.0, -1.0]})),
     "price <= 0 for instrument 'AGG'"),
    (lambda: plan(prices=PRICES.slice(0, 1)), "no price for account 'A', instrument_id 'AGG'"),
    (lambda: plan(targets=pa.table({"instrument_id": ["SPY", "TLT"], "target_weight": [0.6, 0.4]})),
     "no price for instrument_id 'TLT'"),
    (lambda: plan(targets=pa.table({"instrument_id": ["SPY", "AGG"], "target_weight": [0.6, 0.3]})),
     "do not sum to 1 for account 'A'"),
    (lambda: plan(pos=POS.set_column(1, "instrument_id", pa.array(["SPY", "CASH"]))), "cash id"),
    (lambda: trade_list(drift(POS, MODEL, prices=PRICES, cash=CASH), decision=np.array([1, 0])), "decision"),
    (lambda: drift(POS, MODEL, prices=PRICES, by="asset_class"), "must be 'instrument_id' with positions"),
    (lambda: plan(targets=pa.table({"instrument_id": ["SPY", "AGG", "CASH"], "target_weight": [1.2, -0.1, -0.1]})),
     "negative target for instrument_id 'AGG'"),
    (lambda: plan(cash=pa.table({"portfolio_id": [1], "amount": [1.0]})), "different id type"),
])
def test_bad_input(make, message):
    with pytest.raises(pm.ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


# ----------------------------------------------------------------------------- properties


def random_book(seed, n_p, n_i, lots, costs):
    rng = np.random.default_rng(seed)
    ids = [f"I{i}" for i in range(n_i)]
    price = rng.uniform(5, 500, n_i).round(2)
    rows = []
    for p in range(n_p):
        held = rng.choice(n_i, int(rng.integers(0, n_i + 1)), replace=False)
        rows += [(f"P{p}", ids[i], float(rng.integers(0, 400))) for i in held]
    pos = pa.table({"portfolio_id": pa.array([r[0] for r in rows], pa.string()),
                    "instrument_id": pa.array([r[1] for r in rows], pa.string()),
                    "quantity": pa.array([r[2] for r in rows], pa.float64())})
    cash = pa.table({"portfolio_id": [f"P{p}" for p in range(n_p)],
                     "amount": rng.uniform(-2000, 20000, n_p).round(2)})
    k = int(rng.integers(1, n_i + 1))
    tw = rng.dirichlet(np.ones(k + 1))
    targets = pa.table({"instrument_id": [ids[i] for i in range(k)] + ["CASH"], "target_weight": tw})
    inst = pa.table({"instrument_id": ids,
                     "lot_size": rng.choice([1.0, 10.0, 100.0, 0.5], n_i) if lots else np.zeros(n_i),
                     "min_notional": rng.choice([0.0, 0.0, 500.0], n_i) if lots else np.zeros(n_i),
                     "adv": rng.uniform(1e3, 1e5, n_i), "daily_volatility": rng.uniform(0.01, 0.04, n_i)})
    model = CostModel(commission_per_share=0.01, min_commission=1.0, half_spread_bps=3.0) if costs else None
    return pos, pa.table({"instrument_id": ids, "price": price}), cash, targets, inst, model


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 6), n_i=st.integers(1, 6), lots=st.booleans())
def test_rebalance_to_target_leaves_no_drift_beyond_lot_rounding(seed, n_p, n_i, lots):
    pos, prices, cash, targets, inst, _ = random_book(seed, n_p, n_i, lots, False)
    inst = inst.set_column(2, "min_notional", pa.array(np.zeros(n_i)))
    d = drift(pos, targets, prices=prices, cash=cash)
    tl = trade_list(d, instruments=inst)
    after = apply(d, tl)
    px = dict(zip(prices.column("instrument_id").to_pylist(), prices.column("price").to_pylist()))
    lot = dict(zip(inst.column("instrument_id").to_pylist(), inst.column("lot_size").to_pylist()))
    tw = dict(zip(targets.column("instrument_id").to_pylist(), targets.column("target_weight").to_pylist()))
    for p, (holdings, cash_after) in after.items():
        value = cash_after + sum(q * px[i] for i, q in holdings.items())
        if not value > 0:
            continue
        for i in set(holdings) | (set(tw) - {"CASH"}):
            w = holdings.get(i, 0.0) * px[i] / value
            assert abs(w - tw.get(i, 0.0)) <= lot[i] * px[i] / value + 1e-9, (p, i)


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 6), n_i=st.integers(1, 6),
       reserve=st.sampled_from([None, 0.0, 0.02, 0.1]), lev=st.sampled_from([1.0, 1.3, 2.0]),
       mode=st.sampled_from(["target", "band"]), costs=st.booleans())
def test_no_trade_list_breaks_a_limit_it_was_given(seed, n_p, n_i, reserve, lev, mode, costs):
    pos, prices, cash, targets, inst, model = random_book(seed, n_p, n_i, True, costs)
    d = drift(pos, targets, prices=prices, cash=cash)
    tl = trade_list(d, instruments=inst, costs=model, cash_reserve=reserve, max_leverage=lev, mode=mode,
                    relative_band=0.25)
    t = tl.to_arrow().to_pylist()
    lot = dict(zip(inst.column("instrument_id").to_pylist(), inst.column("lot_size").to_pylist()))
    min_n = dict(zip(inst.column("instrument_id").to_pylist(), inst.column("min_notional").to_pylist()))
    before = {(r["portfolio_id"], r["instrument_id"]): r["quantity"] for r in pos.to_pylist()}
    for r in t:
        q = r["quantity"]
        if q == 0:
            continue
        closes = q == -before.get((r["portfolio_id"], r["instrument_id"]), 0.0)
        assert closes or r["notional"] >= min_n[r["instrument_id"]] - 1e-9
        if not closes and lot[r["instrument_id"]] > 0:
            n_lots = abs(q) / lot[r["instrument_id"]]
            assert abs(n_lots - round(n_lots)) < 1e-6, r
        assert q > -before.get((r["portfolio_id"], r["instrument_id"]), 0.0) - 1e-9  # never sells short
    tw = dict(zip(targets.column("instrument_id").to_pylist(), targets.column("target_weight").to_pylist()))
    c_star = tw.get("CASH", 0.0) if reserve is None else max(tw.get("CASH", 0.0), reserve)
    px = dict(zip(prices.column("instrument_id").to_pylist(), prices.column("price").to_pylist()))
    after = apply(d, tl, costs=True)
    for p, (holdings, cash_after) in after.items():
        k = d.portfolio_ids.to_pylist().index(p)
        value, cash0 = d.value[k], d.cash[k]
        buys = any(r["quantity"] > 0 for r in t if r["portfolio_id"] == p)
        if not buys:
            continue
        equity = cash_after + sum(q * px[i] for i, q in holdings.items())
        gross = sum(abs(q) * px[i] for i, q in holdings.items())
        assert cash_after >= c_star * value - 1e-6 * value, (p, cash_after, c_star * value, cash0)
        assert gross <= lev * equity + 1e-6 * value


def apply(d, tl, costs=False):
    """Holdings and cash of each account after executing the trade list in full (from its rows only)."""
    out = {}
    for p, pid in enumerate(d.portfolio_ids.to_pylist()):
        lo, hi = d.offsets[p], d.offsets[p + 1]
        hold = {d.keys[int(d.code[j])].as_py(): d.quantity[j] for j in range(lo, hi) if d.code[j] != d.cash_code}
        out[pid] = [hold, d.cash[p]]
    for r in tl.to_arrow().to_pylist():
        h = out[r["portfolio_id"]]
        h[0][r["instrument_id"]] = h[0].get(r["instrument_id"], 0.0) + r["quantity"]
        h[1] -= r["quantity"] * r["price"] + (r["estimated_cost"] if costs else 0.0)
    return out


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 5), n_i=st.integers(1, 5), cb=st.booleans(),
       mode=st.sampled_from([0.0, 1.0]))
def test_plan_kernel_matches_twin(seed, n_p, n_i, cb, mode):
    pos, prices, cash, targets, inst, model = random_book(seed, n_p, n_i, True, True)
    d = drift(pos, targets, prices=prices, cash=cash)
    rng = np.random.default_rng(seed)
    lim = np.column_stack([np.append(inst.column("lot_size").to_numpy(), 0.0)[:len(d.keys)],
                           np.zeros(len(d.keys))])
    params = model.params(d.keys, inst)
    sett = np.array([mode, 0.03, 0.25, 0.02 if seed % 2 else -np.inf, 1.5, 1.0])
    if cb:
        a = rng.normal(size=(len(d.keys), len(d.keys)))
        cov, cov_index = a @ a.T / 50, np.arange(len(d.keys), dtype=np.int64)
        cov_index[d.cash_code] = -1
    else:
        cov, cov_index = np.zeros((0, 0)), np.full(len(d.keys), -1, np.int64)
    active = rng.random(d.n_accounts) < 0.8
    args = (d.offsets, d.code, d.quantity, d.target_weight, d.price, d.cash_code, d.account, active, lim, params,
            sett, cov_index, cov)
    got, twin = kr.plan_outputs(d.offsets, active), kr.plan_outputs(d.offsets, active)
    n_got, n_twin = kr.plan_trades(*args, *got), kr.plan_trades.py_func(*args, *twin)
    assert n_got == n_twin
    for g, w in zip(got[:5], twin[:5]):
        np.testing.assert_allclose(g[:n_got], w[:n_twin], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got[5], twin[5], rtol=1e-12, atol=1e-9)
    # without stored costs: the same rows, and the costs are those of the trades (TradeList.cost)
    lazy = kr.plan_outputs(d.offsets, active, store_cost=False)
    assert kr.plan_trades(*args, *lazy) == n_got and lazy[3].shape == (0, 3)
    for g, w in zip(got[:3] + got[4:5], lazy[:3] + lazy[4:5]):
        np.testing.assert_array_equal(g[:n_got], w[:n_got])
    code = d.code[got[0][:n_got]]
    np.testing.assert_array_equal(kr.trade_costs(got[1][:n_got], d.price[code], code, params), got[3][:n_got])
