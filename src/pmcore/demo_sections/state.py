"""Demo section: the durable portfolio state engine on the bundled sample book."""

from __future__ import annotations

import datetime as dt
import tempfile

__all__ = ["section"]

_T0 = dt.datetime(2026, 11, 23, 14, 30, tzinfo=dt.timezone.utc)


def _at(minutes: int) -> dt.datetime:
    return _T0 + dt.timedelta(minutes=minutes)


def section() -> str:
    """Return the state-engine part of ``pmcore demo`` as text.

    Opens a :class:`~pmcore.state.PortfolioState` in a temporary directory
    from the sample book, applies fills and a deposit, prints an impact
    report, closes and reopens it (recovery from the journal) and shows a
    portfolio as of an earlier time.

    Examples
    --------
    >>> from pmcore.demo_sections.state import section
    >>> text = section()
    >>> "FillImpact" in text and "recovered" in text and "as of 14:29" in text
    True
    """
    from ..datasets import load_sample_book
    from ..report import format_table
    from ..state import PortfolioState

    s = load_sample_book()
    out = []
    with tempfile.TemporaryDirectory() as d:
        state = _open(d, s)
        out.append(f"{state!r}")
        out.append("")
        impact = state.apply_fill("T-1001", "GLOBAL-EQ", "NVDA", 200.0, 147.10, fee=4.5, timestamp=_at(0))
        out.append("Buy 200 NVDA for GLOBAL-EQ at 147.10 (fee 4.50):")
        out.append(_strip_time(repr(impact)))
        out.append("")
        impact = state.apply_fill("T-1002", "CRYPTO-PERP", "BTC-PERP", -1.0, 97_350.0, fee=12.0, timestamp=_at(1))
        out.append("Sell 1 BTC-PERP on the margin account at 97,350 (realized PnL booked to the wallet):")
        out.append(_strip_time(repr(impact)))
        out.append("")
        batch = state.apply_cash_flows({
            "portfolio_id": ["BALANCED", "GLOBAL-EQ"], "amount": [50_000.0, 2_000_000.0],
            "currency": ["USD", "USD"], "flow_type": ["deposit", "withdrawal"],
            "timestamp": [_at(2), _at(2)], "flow_id": ["D-1", "W-1"],
        }, atomic=False)
        out.append("A deposit and an oversized withdrawal in one batch, per-row rejections:")
        out.append(f"  {batch.n_applied} applied; rejected: "
                   + "; ".join(f"row {r['row']} ({r['id']}): {r['reason']}" for r in batch.rejections.to_pylist()))
        out.append("")
        state.close()

        state = PortfolioState.open(d)
        out.append(f"Closed and reopened: recovered {state.sequence} journaled updates ({state.recovery!r}).")
        values = state.value(portfolios=["GLOBAL-EQ", "BALANCED", "CRYPTO-PERP"])
        out.append(format_table(values, columns=["portfolio_id", "account_type", "cash", "equity",
                                                 "realized_pnl", "position_count"]))
        out.append("")
        past = state.as_of(_at(-1))
        pos = past.positions(portfolios=["GLOBAL-EQ"])
        nvda = [r for r in pos.to_pylist() if r["instrument_id"] == "NVDA"][0]
        now = [r for r in state.positions(portfolios=["GLOBAL-EQ"]).to_pylist() if r["instrument_id"] == "NVDA"][0]
        out.append(f"GLOBAL-EQ NVDA as of 14:29: {nvda['quantity']:,.0f} @ {nvda['avg_price']:.2f}; "
                   f"now: {now['quantity']:,.0f} @ {now['avg_price']:.2f}")
        cash_then = past.value(portfolios=["BALANCED"]).column("cash")[0].as_py()
        cash_now = state.value(portfolios=["BALANCED"]).column("cash")[0].as_py()
        out.append(f"BALANCED cash before the deposit: {cash_then:,.2f}; now: {cash_now:,.2f}")
        state.close()
    return "\n".join(out)


def _open(d, s):
    from ..book import Book
    from ..state import PortfolioState

    book = Book.from_frames(s.positions, s.instruments, cash=s.cash, accounts=s.accounts)
    return PortfolioState.open(d, book, s.prices, s.fx, limits={"sector": {"Technology": 0.4}})


def _strip_time(text: str) -> str:
    """Drop the processing-time line (it changes from run to run)."""
    lines = text.splitlines()
    return "\n".join(line for line in lines if "processed in" not in line) + ")"
