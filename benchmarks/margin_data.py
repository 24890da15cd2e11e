"""Generated data and the pandas peer for the margin benchmarks (suite and report share them).

The pandas implementation computes the same formulas as :func:`pmcore.margin.margin_state`
the way a pandas user would: joins, numpy ``searchsorted`` for the tier of each
notional, ``groupby().transform`` for the cross-margin sums, and the exchange's
procedure for the liquidation tier (compute with the current tier, substitute the
tier at the liquidation notional, recompute until it stays put).
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

FULL = os.environ.get("PMCORE_BENCH_FULL", "") not in ("", "0")


def sizes() -> dict:
    if FULL:
        return {"n_positions": 1_000_000, "n_accounts": 100_000, "n_instruments": 500}
    return {"n_positions": 20_000, "n_accounts": 2_000, "n_instruments": 100}


def make_data(n_positions: int, n_accounts: int, n_instruments: int, seed: int = 7) -> dict:
    """Margin accounts with ~10 positions each, 30 % isolated, tiered brackets on 80 % of instruments."""
    rng = np.random.default_rng(seed)
    per = n_positions // n_accounts
    inst = np.concatenate([rng.choice(n_instruments, per, replace=False) for _ in range(n_accounts)])
    acct = np.repeat(np.arange(n_accounts), per)
    n = len(inst)
    price = np.round(rng.uniform(1, 2000, n_instruments), 2)
    qty = np.round(rng.normal(0, 1, n) * 20000 / price[inst], 3)
    entry = np.round(price[inst] * rng.uniform(0.8, 1.2, n), 2)
    lev = rng.choice([1.0, 2.0, 5.0, 10.0, 20.0, 50.0], n)
    isolated = rng.random(n) < 0.3
    iso_margin = np.where(isolated, np.abs(qty) * entry / lev * rng.uniform(1.0, 1.5, n), np.nan)
    inst_ids = np.array([f"I{i:05d}" for i in range(n_instruments)], dtype=object)
    acct_ids = np.array([f"A{p:06d}" for p in range(n_accounts)], dtype=object)
    positions = pa.table({
        "portfolio_id": pa.array(acct_ids[acct], pa.string()),
        "instrument_id": pa.array(inst_ids[inst], pa.string()),
        "quantity": qty, "avg_price": entry,
    })
    instruments = pa.table({"instrument_id": pa.array(inst_ids, pa.string()),
                            "currency": ["USDT"] * n_instruments})
    prices = pa.table({"instrument_id": pa.array(inst_ids, pa.string()), "price": price})
    cash = pa.table({"portfolio_id": pa.array(acct_ids, pa.string()), "currency": ["USDT"] * n_accounts,
                     "amount": np.round(rng.uniform(5e3, 2e5, n_accounts), 2)})
    accounts = pa.table({"portfolio_id": pa.array(acct_ids, pa.string()), "account_type": ["margin"] * n_accounts})
    floors = np.array([0, 5e4, 2.5e5, 1e6, 1e7, 2e7, 5e7, 1e8])
    rates = np.array([0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15])
    b_ids, b_floor, b_rate = [], [], []
    for i in range(n_instruments):
        if rng.random() < 0.8:
            k = int(rng.integers(3, 9))
            scale = rng.choice([0.02, 0.1, 1.0])
            b_ids += [inst_ids[i]] * k
            b_floor += (floors[:k] * scale).tolist()
            b_rate += (rates[:k] * rng.uniform(1, 2)).tolist()
    brackets = pa.table({"instrument_id": pa.array(b_ids, pa.string()), "notional_floor": b_floor,
                         "maintenance_rate": b_rate})
    return {"positions": positions, "instruments": instruments, "prices": prices, "cash": cash,
            "accounts": accounts, "brackets": brackets, "leverage": lev, "isolated": isolated,
            "isolated_margin": iso_margin}


def prepare(d: dict):
    """(book, pmcore call kwargs, pandas inputs) from the same data; not timed."""
    import pandas as pd

    import pmcore as pm
    from pmcore.margin.brackets import align_brackets
    from pmcore.market import align_prices

    book = pm.Book.from_frames(d["positions"], d["instruments"], cash=d["cash"], accounts=d["accounts"],
                               base_currency="USDT")
    rows = book.source_row  # book order -> input row
    price = align_prices(book, d["prices"])[0]
    kwargs = {"leverage": d["leverage"][rows], "margin_mode": d["isolated"][rows],
              "isolated_margin": d["isolated_margin"][rows], "brackets": d["brackets"]}
    account = np.repeat(np.arange(book.n_portfolios), np.diff(book.offsets))
    pos = pd.DataFrame({
        "account": account, "instrument": book.instrument, "quantity": book.quantity,
        "entry": book.avg_price, "leverage": kwargs["leverage"], "isolated": kwargs["margin_mode"],
        "iso_margin": kwargs["isolated_margin"],
    })
    inst = pd.DataFrame({"price": price, "scale": book.multiplier})
    br_off, br, _ = align_brackets(book, d["brackets"])
    counts = np.diff(br_off)
    brackets = pd.DataFrame({"instrument": np.repeat(np.arange(book.n_instruments), counts),
                             "floor": br[:, 0], "rate": br[:, 1], "amount": br[:, 2]})
    cash = pd.Series(book.cash_amounts[:, 0], index=np.repeat(np.arange(book.n_portfolios), np.diff(book.cash_offsets)))
    pandas_in = {"pos": pos, "inst": inst, "brackets": brackets, "cash": cash.groupby(level=0).sum(),
                 "n_accounts": book.n_portfolios}
    return book, price, kwargs, pandas_in


def run_pmcore(book, price, kwargs):
    from pmcore.margin import margin_state

    return margin_state(book, price, None, **kwargs)


def _tier_tables(brackets, n_instruments):
    """Padded per-instrument tier matrices (floor = inf past the last tier)."""
    counts = brackets.groupby("instrument").size().reindex(range(n_instruments), fill_value=0)
    width = max(int(counts.max()), 1)
    pos_in = brackets.groupby("instrument").cumcount().to_numpy()
    inst = brackets["instrument"].to_numpy()
    floor = np.full((n_instruments, width), np.inf)
    rate = np.zeros((n_instruments, width))
    amount = np.zeros((n_instruments, width))
    floor[inst, pos_in] = brackets["floor"].to_numpy()
    rate[inst, pos_in] = brackets["rate"].to_numpy()
    amount[inst, pos_in] = brackets["amount"].to_numpy()
    return floor, rate, amount, counts.to_numpy() > 0


def _tier(tables, instrument, notional, lev, default_fraction=0.5):
    """Rate and amount of the tier of each notional (default flat rate without tiers)."""
    floor, rate, amount, has = tables
    j = np.maximum((floor[instrument] <= notional[:, None]).sum(axis=1) - 1, 0)
    h = has[instrument]
    return (np.where(h, rate[instrument, j], default_fraction / lev),
            np.where(h, amount[instrument, j], 0.0))


def run_pandas(p: dict):
    """The same margin state with pandas: per-position and per-account frames."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _run_pandas(p)


def _run_pandas(p: dict):
    import pandas as pd

    pos, inst, brackets = p["pos"], p["inst"], p["brackets"]
    df = pos.join(inst, on="instrument")
    tables = _tier_tables(brackets, len(inst))
    size = df["quantity"].abs() * df["scale"]
    notional = size * df["price"]
    instrument = df["instrument"].to_numpy()
    lev = df["leverage"].to_numpy()
    rate, amount = _tier(tables, instrument, notional.to_numpy(), lev)
    df["notional"] = notional
    df["initial_margin"] = notional / df["leverage"]
    df["maintenance_margin"] = np.where(df["quantity"] != 0, notional * rate - amount, 0.0)
    df["upnl"] = df["quantity"] * (df["price"] - df["entry"]) * df["scale"]
    cross = ~df["isolated"]
    g = df.assign(cmm=df["maintenance_margin"].where(cross, 0.0), cup=df["upnl"].where(cross, 0.0),
                  iso=df["iso_margin"].fillna(0.0)).groupby("account")
    cross_mm = g["cmm"].transform("sum")
    cross_up = g["cup"].transform("sum")
    iso_total = g["iso"].transform("sum")
    wallet = p["cash"].reindex(df["account"]).to_numpy()
    c = np.where(df["isolated"], df["iso_margin"],
                 wallet - iso_total - (cross_mm - df["maintenance_margin"]) + (cross_up - df["upnl"]))
    side = np.sign(df["quantity"].to_numpy())
    s = size.to_numpy()
    e = df["entry"].to_numpy()
    lp = (c + amount - side * s * e) / (s * (rate - side))
    for _ in range(8):  # substitute the tier at the liquidation notional until it stays put
        r2, a2 = _tier(tables, instrument, np.maximum(lp, 0.0) * s, lev)
        if np.array_equal(r2, rate):
            break
        rate, amount = r2, a2
        lp = (c + amount - side * s * e) / (s * (rate - side))
    df["liquidation_price"] = np.where(side != 0, np.maximum(lp, 0.0), np.nan)
    df["distance"] = side * (df["price"] - df["liquidation_price"]) / df["price"]
    acc = df.groupby("account").agg(upnl=("upnl", "sum"), used=("initial_margin", "sum"),
                                    maint=("maintenance_margin", "sum"), gross=("notional", "sum"))
    acc = acc.reindex(range(p["n_accounts"]), fill_value=0.0)
    acc["wallet"] = p["cash"].reindex(acc.index).fillna(0.0)
    acc["equity"] = acc["wallet"] + acc["upnl"]
    acc["free_margin"] = acc["equity"] - acc["used"]
    acc["margin_level_pct"] = (100 * acc["equity"] / acc["used"]).where(acc["used"] > 0, np.inf)
    acc["margin_ratio"] = acc["maint"] / acc["equity"]
    acc["excess_liquidity"] = acc["equity"] - acc["maint"]
    return pd.DataFrame(df), acc


def pandas_pre_trade(positions, prices, wallet: float, instrument: str, quantity: float, *,
                     leverage: float = 10.0, buffer: float = 0.05) -> tuple[str, float]:
    """One account's pre-trade check with pandas, from its positions frame (the peer of the latency row).

    ``positions``: the account's rows (instrument_id, quantity, avg_price);
    ``prices``: mark prices indexed by instrument_id. Free margin = wallet +
    unrealized PnL - sum of notional / leverage; the opening part of the order
    needs notional / leverage of the free margin less the buffer; otherwise the
    largest size that fits. Returns (decision, quantity).
    """
    px = prices.reindex(positions["instrument_id"]).to_numpy()
    q = positions["quantity"].to_numpy()
    equity = wallet + float((q * (px - positions["avg_price"].to_numpy())).sum())
    free = equity - float((abs(q) * px / leverage).sum())
    available = free * (1.0 - buffer) if free > 0.0 else free
    price = float(prices.loc[instrument])
    q0 = float(positions.loc[positions["instrument_id"] == instrument, "quantity"].sum())
    closing = min(abs(quantity), abs(q0)) if q0 * quantity < 0.0 else 0.0
    opening = abs(quantity) - closing
    if opening == 0.0 or opening * price / leverage <= available:
        return "approve", quantity
    fits = max(available, 0.0) * leverage / price
    side = 1.0 if quantity > 0 else -1.0
    return ("reduce", side * (closing + fits)) if closing + fits > 0.0 else ("reject", 0.0)
