"""Demo section: margin state, an alert, a pre-trade check and a position size on the sample book."""

from __future__ import annotations

__all__ = ["section"]


def section() -> str:
    """Return the margin part of ``pmcore demo`` as text.

    Runs on :func:`pmcore.datasets.load_sample_book` (margin accounts
    MACRO-FUT and CRYPTO-PERP) at 10x leverage with the bundled bracket table.

    Examples
    --------
    >>> from pmcore.demo_sections.margin import section
    >>> text = section()
    >>> "MACRO-FUT" in text and "liquidation" in text and "Pre-trade" in text
    True
    """
    from ..book import Book
    from ..datasets import load_sample_book
    from ..margin import (
        margin_alerts,
        margin_state,
        position_size,
        pre_trade_check,
        sample_margin_brackets,
    )

    s = load_sample_book()
    book = Book.from_frames(s.positions, s.instruments, cash=s.cash, accounts=s.accounts)
    st = margin_state(book, s.prices, s.fx, leverage=10, brackets=sample_margin_brackets())
    out = ["Margin accounts at 10x leverage (USD):", ""]
    out.append(f"{'account':12} {'equity':>13} {'margin used':>13} {'free margin':>13} "
               f"{'level':>8} {'maint.':>11}")
    for r in st.to_arrow().to_pylist():
        out.append(f"{r['portfolio_id']:12} {r['equity']:>13,.2f} {r['margin_used']:>13,.2f} "
                   f"{r['free_margin']:>13,.2f} {r['margin_level_pct']:>7.1f}% "
                   f"{r['maintenance_margin']:>11,.2f}")
    out += ["", "Liquidation prices (cross mode):"]
    for r in st.to_arrow("positions").to_pylist():
        lp = r["liquidation_price"]
        where = "none above 0" if lp == 0.0 else f"{lp:,.2f} ({r['distance_to_liquidation']:.1%} away)"
        out.append(f"  {r['portfolio_id']:12} {r['instrument_id']:9} {r['quantity']:>7g} "
                   f"at {r['mark_price']:>10,.2f}: {where}")
    alerts = margin_alerts(st)
    out += ["", "Monitoring (warning < 200 %, liquidation risk < 150 %, liquidation < 110 %):"]
    for pid, name, action in zip(alerts.portfolio_ids.to_pylist(), alerts.status_names, alerts.actions()):
        out.append(f"  {pid:12} {name:17} {action}".rstrip())
    check = pre_trade_check(st, "MACRO-FUT", "ESZ6", 2.0, fee_rate=0.0002, lot_size=1.0)
    out += ["", "Pre-trade check: buy 2 ESZ6 in MACRO-FUT (fee 0.02 %)",
            f"  {check.decision}: {check.quantity:g} contract(s); {check.reason}"]
    size = position_size(st, "CRYPTO-PERP", "ETH-PERP", stop=3600.0, risk=0.01, max_allocation=0.5,
                         lot_size=0.01)
    out += ["", "Position size: short ETH-PERP in CRYPTO-PERP, stop 3,600, 1 % of equity at risk",
            f"  {size.decision}: {size.quantity:g} ETH (risk {size.risk_amount:,.2f}; "
            f"uncapped {size.risk_quantity:.2f}; caps that bound: {', '.join(size.caps) or 'none'})"]
    return "\n".join(out)
