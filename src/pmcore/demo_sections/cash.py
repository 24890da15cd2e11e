"""Demo section: an exact cash ledger on the sample portfolios."""

from __future__ import annotations

__all__ = ["section"]


def _fmt(d) -> str:
    return f"{d:,.2f}"


def section() -> str:
    """Return the cash part of ``pmcore demo`` as text.

    A ledger opened from the sample book's cash (settled), then deposits,
    a withdrawal refused with its reason, an FX conversion, settlement by value
    date, balances per currency in USD, and an allocation across strategies.

    Examples
    --------
    >>> from pmcore.demo_sections.cash import section
    >>> text = section()
    >>> "refused" in text and "Allocation" in text
    True
    """
    from ..cash import (
        BusinessCalendar,
        Ledger,
        Limits,
        apply_allocation,
        currency_exposure,
        plan_allocation,
    )
    from ..datasets import load_sample_book
    from ..errors import ValidationError

    sample = load_sample_book()
    ticks = iter(range(1, 10**9))
    led = Ledger(calendar=BusinessCalendar(holidays=["2026-11-26"]), settlement_days=2,
                 limits=Limits(max_transaction={"USD": 1_000_000, "EUR": 1_000_000},
                               max_daily_withdrawal={"USD": 200_000}, reserve_ratio=0.10),
                 clock=lambda: next(ticks) * 10**9)
    lines = ["Cash ledger (exact, int64 fixed point at 8 decimals; T+2, holiday 2026-11-26)", ""]
    for row in sample.cash.to_pylist():
        if row["amount"] > 0 and row["portfolio_id"] in ("GLOBAL-EQ", "EU-INCOME", "BALANCED"):
            led.deposit(row["portfolio_id"], row["currency"], str(row["amount"]), trade_date="2026-11-20",
                        status="settled", actor="onboarding", memo="opening balance")
    d1 = led.deposit("BALANCED", "USD", "25000.00", trade_date="2026-11-24", actor="client")
    d2 = led.deposit("EU-INCOME", "EUR", "10000.00", trade_date="2026-11-24", actor="client")
    lines.append(f"deposits {d1} (BALANCED, USD 25,000.00) and {d2} (EU-INCOME, EUR 10,000.00), "
                 "trade date 2026-11-24, value date 2026-11-27 (T+2 over the holiday)")
    try:
        led.withdraw("BALANCED", "USD", "95000.00", trade_date="2026-11-24", actor="client")
    except ValidationError as exc:
        lines.append(f"withdrawal of USD 95,000.00 from BALANCED: {exc.args[0].split(': ', 2)[-1]}")
    w = led.withdraw("BALANCED", "USD", "40000.00", trade_date="2026-11-24", actor="client")
    lines.append(f"withdrawal {w} of USD 40,000.00 from BALANCED accepted (pending)")
    fx = led.convert("GLOBAL-EQ", "EUR", "USD", "20000.00", "1.0478", spread="0.0010",
                     trade_date="2026-11-24", actor="treasury")
    lines.append(f"FX {fx}: GLOBAL-EQ sells EUR 20,000.00 at 1.0478 (10 bp spread)")
    for day in ("2026-11-26", "2026-11-27"):
        settled = led.settle_due(day, actor="settlement")
        lines.append(f"settle_due({day}): {', '.join(settled) if settled else 'nothing due'}")
    lines += ["", f"{'portfolio':<11} {'ccy':<4} {'settled':>14} {'available':>14} {'USD value':>14}"]
    bal = led.balances()
    exposure = currency_exposure(bal, sample.fx, amount="settled")
    usd = {(r["portfolio_id"], r["currency"]): r["base_value"] for r in exposure.to_pylist()}
    for r in bal.to_pylist():
        lines.append(f"{r['portfolio_id']:<11} {r['currency']:<4} {_fmt(r['settled']):>14} "
                     f"{_fmt(r['available']):>14} {_fmt(usd[(r['portfolio_id'], r['currency'])]):>14}")
    plan = plan_allocation(led, "GLOBAL-EQ", "USD", ["default", "trend", "carry"], method="target",
                           targets=[0.6, 0.25, 0.15])
    apply_allocation(led, plan, trade_date="2026-11-27", actor="pm")
    lines += ["", repr(plan), "",
              (f"audit trail: {led.audit().num_rows} events; replay matches: "
               f"{led.replay().balances() == led.balances()}")]
    return "\n".join(lines)
