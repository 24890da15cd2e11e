"""Generated accounts and the pandas peer for the rebalancing benchmarks (suite and report share them).

Workload: drift of every account from a 50-asset model portfolio (with a 2 %
cash target), the threshold trigger (5 percentage points), and the trade list
to target of the accounts that trigger (lots of 1 share, commission and half
spread, buys scaled down where the costs would break the cash floor).

The pandas implementation computes the same thing the way a pandas user would:
merges for prices and targets (a cross join of accounts and the model, outer-
merged with the holdings), ``groupby`` sums for values and per-account tests,
and vectorised lot rounding and cash scaling.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa

FULL = os.environ.get("PMCORE_BENCH_FULL", "") not in ("", "0")
THRESHOLD = 0.05
COMMISSION_BPS, HALF_SPREAD_BPS = 1.0, 2.0


def sizes() -> dict:
    if FULL:
        return {"n_accounts": 100_000, "n_assets": 50}
    return {"n_accounts": 2_000, "n_assets": 50}


def make_data(n_accounts: int, n_assets: int, seed: int = 11) -> dict:
    """Accounts holding the model's assets (rows grouped by account), drifted; about 1 in 4 triggers."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"A{i:03d}" for i in range(n_assets)], dtype=object)
    price = np.round(rng.uniform(10, 400, n_assets), 2)
    tw = rng.dirichlet(np.full(n_assets, 2.0)) * 0.98
    value = rng.lognormal(12, 1, n_accounts)
    w = tw[None, :] * np.exp(rng.normal(0, 0.12, (n_accounts, n_assets)))
    hot = rng.random(n_accounts) < 0.25  # a large move in one asset
    w[np.flatnonzero(hot), rng.integers(0, n_assets, int(hot.sum()))] += rng.uniform(0.06, 0.15, int(hot.sum()))
    qty = np.floor(w * value[:, None] / price[None, :])
    cash = np.round(value * rng.uniform(0.0, 0.05, n_accounts), 2)
    pid = np.repeat(np.arange(n_accounts, dtype=np.int64), n_assets)
    iid = pa.DictionaryArray.from_arrays(pa.array(np.tile(np.arange(n_assets, dtype=np.int32), n_accounts)),
                                         pa.array(ids, pa.string()))
    return {
        "positions": pa.table({"portfolio_id": pid, "instrument_id": iid, "quantity": qty.ravel()}),
        "prices": pa.table({"instrument_id": pa.array(ids, pa.string()), "price": price}),
        "cash": pa.table({"portfolio_id": np.arange(n_accounts, dtype=np.int64), "amount": cash}),
        "targets": pa.table({"instrument_id": pa.array(list(ids) + ["CASH"], pa.string()),
                             "target_weight": np.append(tw, 1.0 - tw.sum())}),
        "instruments": pa.table({"instrument_id": pa.array(ids, pa.string()), "lot_size": np.ones(n_assets)}),
    }


def pandas_inputs(d: dict) -> dict:
    """The same data as pandas frames (categorical instrument ids, as read from Parquet)."""
    return {k: v.to_pandas() for k, v in d.items()}


def run_pmcore(d: dict):
    from pmcore.rebalance import CostModel, check_triggers, drift, trade_list

    dr = drift(d["positions"], d["targets"], prices=d["prices"], cash=d["cash"])
    decision = check_triggers(dr, threshold=THRESHOLD)
    plan = trade_list(dr, decision=decision, instruments=d["instruments"],
                      costs=CostModel(commission_bps=COMMISSION_BPS, half_spread_bps=HALF_SPREAD_BPS))
    return decision, plan


def run_pandas(d: dict) -> tuple[pd.Series, pd.DataFrame]:
    """Trigger per account (bool Series) and the trades (portfolio_id, instrument_id, quantity)."""
    pos, prices, cash, targets, inst = d["positions"], d["prices"], d["cash"], d["targets"], d["instruments"]
    pos = pos.assign(instrument_id=pos["instrument_id"].astype(str))
    m = pos.merge(prices, on="instrument_id", how="left")
    m["mv"] = m["quantity"] * m["price"]
    acct = m.groupby("portfolio_id", sort=True)["mv"].sum().to_frame()
    acct["cash"] = cash.groupby("portfolio_id")["amount"].sum().reindex(acct.index, fill_value=0.0)
    acct["value"] = acct["mv"] + acct["cash"]
    model = targets[targets["instrument_id"] != "CASH"]
    cash_target = 1.0 - model["target_weight"].sum()
    grid = pd.DataFrame({"portfolio_id": acct.index}).merge(model, how="cross")
    full = grid.merge(m[["portfolio_id", "instrument_id", "quantity", "mv"]], on=["portfolio_id", "instrument_id"],
                      how="outer").fillna({"quantity": 0.0, "mv": 0.0, "target_weight": 0.0})
    full = full.merge(prices, on="instrument_id", how="left").merge(acct[["value"]], left_on="portfolio_id",
                                                                   right_index=True)
    full["drift"] = full["mv"] / full["value"] - full["target_weight"]
    cash_drift = (acct["cash"] / acct["value"] - cash_target).abs()
    breach = full["drift"].abs().groupby(full["portfolio_id"]).max().combine(cash_drift, max) > THRESHOLD
    # trade list of the accounts that trigger
    t = full[full["portfolio_id"].map(breach)].merge(inst, on="instrument_id", how="left")
    tsum = 1.0 - cash_target
    scale = (1.0 - cash_target) / tsum
    delta = t["target_weight"] * scale * t["value"] / t["price"] - t["quantity"]
    lot = t["lot_size"].to_numpy()
    delta = np.where(delta < 0, -np.ceil(-delta / lot - 1e-9) * lot, np.floor(delta / lot + 1e-9) * lot)
    delta = np.where(t["target_weight"] == 0, -t["quantity"], delta)
    delta = np.where((delta < 0) & (-delta > t["quantity"]), -t["quantity"], delta)
    t["delta"] = delta
    rate = (COMMISSION_BPS + HALF_SPREAD_BPS) * 1e-4
    t["notional"] = t["delta"].abs() * t["price"]
    t["fee"] = t["notional"] * rate
    sell = t["delta"] < 0
    g = t.assign(sells=t["notional"].where(sell, 0.0), buys=t["notional"].where(~sell, 0.0),
                 fee_sell=t["fee"].where(sell, 0.0), fee_buy=t["fee"].where(~sell, 0.0),
                 g_nobuy=((t["quantity"] + t["delta"].where(sell, 0.0)).abs() * t["price"])
                 ).groupby("portfolio_id")[["sells", "buys", "fee_sell", "fee_buy", "g_nobuy"]].sum()
    g = g.join(acct[["cash", "value"]])
    floor = cash_target * g["value"]
    cash_after = g["cash"] + g["sells"] - g["buys"] - g["fee_sell"] - g["fee_buy"]
    gross_after = g["g_nobuy"] + g["buys"]
    tol = 1e-9 * g["value"]
    equity_after = g["value"] - g["fee_sell"] - g["fee_buy"]
    ok = (g["buys"] == 0) | ((cash_after >= floor - tol) & (gross_after <= equity_after + tol))
    s_cash = (g["cash"] + g["sells"] - g["fee_sell"] - floor) / (g["buys"] + g["fee_buy"])
    s_lev = ((g["value"] - g["fee_sell"]) - g["g_nobuy"]) / (g["buys"] + g["fee_buy"])
    s = np.where(ok, 1.0, np.clip(np.minimum(np.minimum(s_cash, s_lev), 0.999999), 0.0, None))
    s = pd.Series(s, index=g.index)
    ts = t["portfolio_id"].map(s).to_numpy()
    buy = t["delta"].to_numpy() > 0
    scaled = np.where(buy & (ts < 1.0), np.floor(t["delta"].to_numpy() * ts / lot + 1e-9) * lot, t["delta"])
    t["delta"] = scaled
    trades = t.loc[t["delta"] != 0, ["portfolio_id", "instrument_id", "delta"]].rename(columns={"delta": "quantity"})
    return breach, trades


def check_same(decision, plan, breach, trades) -> None:
    """pmcore and pandas agree on the decisions and on every trade quantity."""
    assert np.array_equal(decision.rebalance, breach.sort_index().to_numpy()), "trigger decisions differ"
    got = plan.to_pandas()
    got = got[got["quantity"] != 0]
    got = got.assign(instrument_id=got["instrument_id"].astype(str)).set_index(["portfolio_id", "instrument_id"])
    ref = trades.set_index(["portfolio_id", "instrument_id"])["quantity"]
    assert len(got) == len(ref), (len(got), len(ref))
    np.testing.assert_allclose(got["quantity"].reindex(ref.index).to_numpy(), ref.to_numpy(), rtol=0, atol=1e-9)
