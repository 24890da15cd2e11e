"""Generated data for the valuation benchmarks (shared by the pytest-benchmark suite and the report)."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

FULL = os.environ.get("PMCORE_BENCH_FULL", "") not in ("", "0")

CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "HKD", "SEK", "NOK", "SGD", "USDT"]
RATES = [1.0, 1.08, 1.27, 0.0067, 1.13, 0.73, 0.66, 0.128, 0.095, 0.093, 0.74, 0.9998]


def sizes() -> dict:
    if FULL:
        return {"n_positions": 1_000_000, "n_portfolios": 10_000, "n_instruments": 20_000}
    return {"n_positions": 20_000, "n_portfolios": 200, "n_instruments": 1_000}


def make_book(n_positions: int, n_portfolios: int, n_instruments: int, seed: int = 42) -> dict:
    """Positions over portfolios and instruments in 12 currencies with 3 grouping columns."""
    rng = np.random.default_rng(seed)
    per = n_positions // n_portfolios
    # each portfolio holds `per` distinct instruments
    inst = np.concatenate([rng.choice(n_instruments, per, replace=False) for _ in range(n_portfolios)])
    port = np.repeat(np.arange(n_portfolios), per)
    shuffle = rng.permutation(len(inst))
    inst, port = inst[shuffle], port[shuffle]
    inst_ids = np.array([f"INST{i:06d}" for i in range(n_instruments)], dtype=object)
    port_ids = np.array([f"PF{p:05d}" for p in range(n_portfolios)], dtype=object)
    n = len(inst)
    positions = pa.table({
        "portfolio_id": pa.array(port_ids[port], pa.string()),
        "instrument_id": pa.array(inst_ids[inst], pa.string()),
        "quantity": np.round(rng.normal(50, 400, n), 0),
        "avg_price": np.round(rng.uniform(5, 500, n), 2),
    })
    instruments = pa.table({
        "instrument_id": pa.array(inst_ids, pa.string()),
        "currency": pa.array(np.array(CURRENCIES, dtype=object)[rng.integers(0, 12, n_instruments)], pa.string()),
        "multiplier": rng.choice([1.0, 1.0, 1.0, 10.0, 50.0], n_instruments),
        "sector": pa.array(np.array([f"S{k:02d}" for k in range(11)], dtype=object)[rng.integers(0, 11, n_instruments)], pa.string()),
        "country": pa.array(np.array([f"C{k:02d}" for k in range(30)], dtype=object)[rng.integers(0, 30, n_instruments)], pa.string()),
        "asset_class": pa.array(np.array(["equity", "bond", "future", "crypto"], dtype=object)[rng.integers(0, 4, n_instruments)], pa.string()),
    })
    prices = pa.table({"instrument_id": instruments.column("instrument_id"),
                       "price": np.round(rng.uniform(5, 500, n_instruments), 2)})
    fx = pa.table({"currency": CURRENCIES, "rate": RATES})
    cash = pa.table({
        "portfolio_id": pa.array(port_ids, pa.string()),
        "currency": pa.array(np.array(CURRENCIES, dtype=object)[rng.integers(0, 12, n_portfolios)], pa.string()),
        "amount": np.round(rng.normal(1e6, 2e5, n_portfolios), 2),
    })
    return {"positions": positions, "instruments": instruments, "prices": prices, "fx": fx, "cash": cash}


def run_pmcore(d: dict):
    """End to end from frames: prepare, value, exposures by sector."""
    import pmcore as pm

    book = pm.Book.from_frames(d["positions"], d["instruments"], cash=d["cash"])
    return pm.value(book, d["prices"], d["fx"]), pm.exposures(book, d["prices"], d["fx"], by="sector")


def run_polars(d: dict):
    """The same joins and group-bys in polars (lazy, all threads)."""
    import polars as pl

    pos, inst, px, fx, cash = (d[k] for k in ("positions", "instruments", "prices", "fx", "cash"))
    m = (pos.lazy().join(inst.lazy(), on="instrument_id").join(px.lazy(), on="instrument_id")
         .join(fx.lazy(), on="currency")
         .with_columns(mv=pl.col("quantity") * pl.col("price") * pl.col("multiplier") * pl.col("rate"),
                       upnl=pl.col("quantity") * (pl.col("price") - pl.col("avg_price"))
                       * pl.col("multiplier") * pl.col("rate")))
    c = (cash.lazy().join(fx.lazy(), on="currency")
         .group_by("portfolio_id").agg(cash=(pl.col("amount") * pl.col("rate")).sum()))
    pv = (m.group_by("portfolio_id").agg(
            long_value=pl.col("mv").filter(pl.col("quantity") > 0).sum(),
            short_value=pl.col("mv").filter(pl.col("quantity") < 0).sum(),
            market_value=pl.col("mv").sum(), unrealized_pnl=pl.col("upnl").sum(),
            gross_exposure=pl.col("mv").abs().sum())
          .join(c, on="portfolio_id", how="full", coalesce=True)
          .with_columns(equity=pl.col("cash") + pl.col("market_value"))
          .with_columns(leverage=pl.col("gross_exposure") / pl.col("equity")))
    ex = (m.group_by("portfolio_id", "sector").agg(
            long_exposure=pl.col("mv").filter(pl.col("quantity") > 0).sum(),
            short_exposure=pl.col("mv").filter(pl.col("quantity") < 0).sum(),
            gross_exposure=pl.col("mv").abs().sum(), net_exposure=pl.col("mv").sum())
          .join(pv.select("portfolio_id", "equity"), on="portfolio_id")
          .with_columns(gross_pct=100 * pl.col("gross_exposure") / pl.col("equity")))
    return pl.collect_all([pv, ex])


def run_pandas(d: dict):
    """The same joins and group-bys in pandas."""
    pos, inst, px, fx, cash = (d[k] for k in ("positions", "instruments", "prices", "fx", "cash"))
    m = pos.merge(inst, on="instrument_id").merge(px, on="instrument_id").merge(fx, on="currency")
    m["mv"] = m.quantity * m.price * m.multiplier * m.rate
    m["upnl"] = m.quantity * (m.price - m.avg_price) * m.multiplier * m.rate
    m["long"] = m.mv.where(m.quantity > 0, 0.0)
    m["short"] = m.mv.where(m.quantity < 0, 0.0)
    m["gross"] = m.mv.abs()
    c = cash.merge(fx, on="currency")
    c["cash"] = c.amount * c.rate
    pv = m.groupby("portfolio_id")[["long", "short", "mv", "upnl", "gross"]].sum()
    pv = pv.join(c.groupby("portfolio_id")[["cash"]].sum(), how="outer")
    pv["equity"] = pv.cash + pv.mv
    pv["leverage"] = pv.gross / pv.equity
    ex = m.groupby(["portfolio_id", "sector"])[["long", "short", "gross", "mv"]].sum().reset_index()
    ex = ex.merge(pv[["equity"]].reset_index(), on="portfolio_id")
    ex["gross_pct"] = 100 * ex.gross / ex.equity
    return pv, ex


def numpy_pass(book, prices, fx, pcode):
    """One numpy pass over the same columns: market value per portfolio."""
    scale = book.multiplier * fx[book.instrument_currency]
    return np.bincount(pcode, book.quantity * prices[book.instrument] * scale[book.instrument],
                       book.n_portfolios)


def categorical(d: dict) -> dict:
    """The same data with dictionary-encoded id columns (as Parquet's ``read_dictionary`` gives)."""
    import pyarrow.compute as pc

    out = dict(d)
    pos = d["positions"]
    for name in ("portfolio_id", "instrument_id"):
        pos = pos.set_column(pos.column_names.index(name), name, pc.dictionary_encode(pos.column(name)))
    out["positions"] = pos
    return out
