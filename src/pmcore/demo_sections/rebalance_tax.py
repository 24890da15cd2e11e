"""Demo section: tax lots, a wash-sale check, a liquidity schedule, sleeve netting, optimal rebalancing."""

from __future__ import annotations

__all__ = ["section"]


def section() -> str:
    """Return the tax-aware rebalancing part of ``pmcore demo`` as text.

    Small literal inputs: one account with three lots of ``X``, a sale by
    every lot-selection method, a buy blocked by the wash-sale rule, a trade
    split across days at 10 % of ADV, three sleeves netted, and the no-trade
    band of optimal rebalancing (skipped with a note when cvxpy, the
    ``optimize`` extra, is missing).

    Examples
    --------
    >>> from pmcore.demo_sections.rebalance_tax import section
    >>> text = section()
    >>> "min_tax" in text and "wash sale" in text and "Netting" in text
    True
    """
    import numpy as np

    from ..rebalance import liquidity, netting, optimal, tax, wash

    lots = {"portfolio_id": ["A"] * 3, "instrument_id": ["X"] * 3, "lot_id": ["L1", "L2", "L3"],
            "acquired": ["2022-03-01", "2024-02-15", "2024-10-01"],
            "quantity": [100.0, 50.0, 80.0], "unit_cost": [40.0, 90.0, 45.0]}
    sale = {"portfolio_id": ["A"], "instrument_id": ["X"], "date": ["2024-12-02"],
            "quantity": [120.0], "price": [70.0]}
    out = ["Sell 120 X at 70 on 2024-12-02 from lots L1 (100 @ 40, 2022), L2 (50 @ 90), L3 (80 @ 45)",
           "(tax 37 % short-term, 20 % long-term):", ""]
    out.append(f"  {'method':8} {'lots sold':24} {'short-term':>11} {'long-term':>10} {'tax':>9}")
    results = {}
    for method in ("fifo", "lifo", "hifo", "min_tax"):
        r = tax.select_lots(lots, sale, method=method)
        results[method] = r
        sold = ", ".join(f"{q:g} {lot}" for lot, q in zip(r.realized.column("lot_id").to_pylist(),
                                                           r.realized.column("quantity").to_pylist()))
        out.append(f"  {method:8} {sold:24} {r.short_term_gain:>11,.2f} {r.long_term_gain:>10,.2f} {r.tax:>9,.2f}")
    buys = {"portfolio_id": ["A", "A"], "instrument_id": ["X", "Y"], "date": ["2024-12-23", "2024-12-23"],
            "quantity": [40.0, 25.0]}
    check = wash.avoid_wash_sales(buys, results["min_tax"])
    out += ["", "Proposed buys after the min_tax sale (wash sale window 30 days):"]
    for r in check.buys.to_pylist():
        verdict = "blocked: " + r["reason"] if r["blocked"] else "allowed"
        out.append(f"  buy {r['quantity']:g} {r['instrument_id']}: {verdict}")
    trades = {"portfolio_id": ["A", "B"], "instrument_id": ["X", "X"], "quantity": [-30_000.0, 10_000.0]}
    plan = liquidity.liquidity_schedule(trades, {"instrument_id": ["X"], "adv": [150_000.0]})
    out += ["", "Liquidity: 40,000 X against an ADV of 150,000 at 10 % participation:"]
    sch = plan.schedule.to_pylist()
    for r in plan.trades.to_pylist():
        parts = [f"{s['quantity']:,.0f}" for s in sch if s["portfolio_id"] == r["portfolio_id"]]
        out.append(f"  {r['portfolio_id']}: {r['quantity']:>9,.0f} over {r['days_needed']} days: {' / '.join(parts)}")
    sleeves = {"portfolio_id": ["A"] * 3, "sleeve": ["growth", "value", "income"], "instrument_id": ["X"] * 3,
               "quantity": [300.0, -200.0, 100.0]}
    n = netting.net_sleeves(sleeves, prices={"instrument_id": ["X"], "price": [50.0]})
    out += ["", f"Netting three sleeves of A in X at 50: one order of {n.net_quantity:g} instead of "
                f"{n.gross_quantity:g} units, {n.notional_avoided:,.0f} notional avoided "
                f"({n.savings_ratio:.0%})"]
    for r in n.allocations.to_pylist():
        out.append(f"  {r['sleeve']:7} {r['quantity']:>6g} = {r['crossed_quantity']:>6g} crossed "
                   f"+ {r['market_quantity']:>5g} from the market")
    out += ["", "Optimal rebalancing (vol 20 % / 30 % and cash, costs 10 / 20 bp, risk aversion 1):"]
    try:
        cov = np.diag([0.04, 0.09, 0.0])
        r = optimal.optimal_rebalance([0.52, 0.25, 0.23], [0.5, 0.3, 0.2], cov, costs=[0.001, 0.002, 0.0])
        small = optimal.optimal_rebalance([0.51, 0.295, 0.195], [0.5, 0.3, 0.2], cov, costs=[0.001, 0.002, 0.0])
    except ImportError as exc:
        out.append(f"  skipped: {exc}")
        return "\n".join(out)
    out.append(f"  current 52 / 25 / 23 %, target 50 / 30 / 20 % -> {' / '.join(f'{w:.2%}' for w in r.weights)}"
               f" (tracking error {r.tracking_error_before:.2%} -> {r.tracking_error_after:.2%}, "
               f"cost {r.cost * 1e4:.2f} bp)")
    out.append(f"  current 51 / 29.5 / 19.5 %: inside the no-trade band, turnover {small.turnover:g}")
    return "\n".join(out)
