"""The ``pmcore`` command line: ``pmcore demo`` runs the library on the bundled sample book."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["main"]

AS_OF = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.timezone.utc)


def _valuation_section() -> str:
    import pmcore as pm
    from pmcore.datasets import load_sample_book
    from pmcore.market import align_fx, align_prices
    from pmcore.report import format_table

    s = load_sample_book()
    book = pm.Book.from_frames(s.positions, s.instruments, cash=s.cash, accounts=s.accounts)
    out = [f"Sample book: {book!r}", ""]

    values = pm.value(book, s.prices, s.fx, max_age=dt.timedelta(hours=36), as_of=AS_OF)
    out.append(format_table(
        values,
        columns=["portfolio_id", "account_type", "cash", "market_value", "unrealized_pnl",
                 "equity", "gross_exposure", "leverage", "position_count", "stale_count"],
        title="Portfolio summary (USD, prices as of 2026-11-20 close, stale = older than 36 h)",
    ))
    total = pc.sum(values.column("equity")).as_py()
    out += ["", f"Total equity across the book: {total:,.2f} USD", ""]

    pos = pm.positions(book, s.prices, s.fx, max_age=dt.timedelta(hours=36), as_of=AS_OF)
    stale = pos.filter(pos.column("stale"))
    if stale.num_rows:
        out.append(format_table(
            stale, columns=["portfolio_id", "instrument_id", "price", "price_age_s"], digits=0,
            title="Stale prices (reported, not silently used)",
        ))
        out.append("")
    top = pos.filter(pc.equal(pos.column("portfolio_id"), "GLOBAL-EQ"))
    top = top.take(pc.sort_indices(top, sort_keys=[("weight", "descending")]))
    top = top.set_column(top.column_names.index("weight"), "weight", pc.multiply(top.column("weight"), 100.0))
    out.append(format_table(
        top, columns=["instrument_id", "currency", "quantity", "price", "fx_rate",
                      "market_value", "unrealized_pnl", "weight"],
        title="GLOBAL-EQ positions by weight (weight in % of equity)",
    ))
    out.append("")

    sector = pm.exposures(book, s.prices, s.fx, by="sector", limits=0.25)
    breaches = sector.filter(sector.column("breach"))
    out.append(format_table(
        breaches, columns=["portfolio_id", "sector", "long_pct", "short_pct", "gross_pct",
                           "limit_pct", "utilization"],
        title="Sector exposure limit 25 % of equity (gross): breaches",
    ))
    out.append("")
    ccy = pm.exposures(book, s.prices, s.fx, by="currency")
    out.append(format_table(
        ccy, columns=["portfolio_id", "currency", "net_exposure", "net_pct", "gross_pct"],
        title="Currency exposure of positions (percent of equity)",
    ))
    out.append("")

    # hot path: revalue the prepared book with a new price vector
    rng = np.random.default_rng(7)
    base = align_prices(book, s.prices)[0]
    fx_vec = align_fx(book, s.fx)
    book.revalue(base, fx_vec)
    n = 2000
    shocks = 1.0 + 0.001 * rng.standard_normal((n, base.size))
    ticks = base * shocks
    t0 = time.perf_counter()
    for k in range(n):
        v = book.revalue(ticks[k], fx_vec)
    per_call = (time.perf_counter() - t0) / n * 1e6
    out.append(f"Revalued the prepared book {n} times on ticking prices: {per_call:.1f} us per call "
               f"(last equity total {v.equity.sum():,.2f} USD)")
    return "\n".join(out)


# (title, module under pmcore.demo_sections with a ``section() -> str``), in demo order
SECTIONS = [
    ("Portfolio state engine: fills, cash flows, journal, recovery", "state"),
    ("Margin, sizing and allocation limits", "margin"),
    ("Performance metrics", "metrics"),
    ("Performance attribution", "attribution"),
    ("Portfolio optimization", "optimize"),
    ("Rebalancing: drift, triggers, trade lists", "rebalance"),
    ("Tax-aware rebalancing, liquidity, netting, optimal rebalancing", "rebalance_tax"),
    ("Rebalancing backtest", "backtest"),
    ("Cash management", "cash"),
]


def demo() -> str:
    """Run every capability on the bundled sample data and return the report text."""
    import importlib

    sections = [("Valuation and exposures", _valuation_section)]
    for title, module in SECTIONS:
        sections.append((title, importlib.import_module(f"pmcore.demo_sections.{module}").section))
    parts = []
    for title, fn in sections:
        parts.append("=" * 78)
        parts.append(title)
        parts.append("=" * 78)
        parts.append(fn())
        parts.append("")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pmcore`` console script."""
    parser = argparse.ArgumentParser(prog="pmcore", description="pmcore: portfolio analytics")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="value the bundled sample book and print a report")
    args = parser.parse_args(argv)
    if args.command == "demo":
        sys.stdout.write(demo() + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
