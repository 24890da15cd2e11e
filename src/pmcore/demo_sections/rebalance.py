"""Demo section: drift by asset class, trigger decisions and a trade list on the sample book."""

from __future__ import annotations

__all__ = ["section", "sample_inputs"]

#: asset-class targets of the sample book's three long-only cash accounts
CLASS_TARGETS = {
    "GLOBAL-EQ": {"equity": 0.92, "cash": 0.08},
    "EU-INCOME": {"equity": 0.70, "fixed_income": 0.20, "cash": 0.10},
    "BALANCED": {"equity": 0.40, "fixed_income": 0.45, "commodity": 0.10, "cash": 0.05},
}
#: the BALANCED account's model portfolio, per instrument
BALANCED_MODEL = {"AAPL": 0.10, "JNJ": 0.10, "PG": 0.10, "XOM": 0.10, "IEF": 0.25, "LQD": 0.20, "GLD": 0.10,
                  "CASH": 0.05}


def sample_inputs() -> dict:
    """Frames for the rebalancing demo and guide, from :func:`pmcore.datasets.load_sample_book`.

    Returns
    -------
    dict
        ``weights`` (portfolio_id, instrument_id, weight, with a ``CASH``
        row per account; cash accounts only), ``instruments`` (with
        ``asset_class``, ``CASH`` included), ``class_targets`` (per account),
        and for the BALANCED account ``positions``, ``prices`` (USD per
        unit), ``cash`` (USD) and ``model``.

    Examples
    --------
    >>> from pmcore.demo_sections.rebalance import sample_inputs
    >>> sorted(sample_inputs())
    ['cash', 'class_targets', 'instruments', 'model', 'positions', 'prices', 'weights']
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..datasets import load_sample_book
    from ..valuation import positions, value

    s = load_sample_book()
    accounts = list(CLASS_TARGETS)
    pos = positions(s.positions, s.prices, s.fx, instruments=s.instruments, cash=s.cash)
    pos = pos.filter(pc.is_in(pos.column("portfolio_id"), value_set=pa.array(accounts)))
    val = value(s.positions, s.prices, s.fx, instruments=s.instruments, cash=s.cash)
    val = val.filter(pc.is_in(val.column("portfolio_id"), value_set=pa.array(accounts)))
    cash_w = pc.divide(val.column("cash"), val.column("equity"))
    weights = pa.concat_tables([
        pos.select(["portfolio_id", "instrument_id", "weight"]),
        pa.table({"portfolio_id": val.column("portfolio_id"), "instrument_id": ["CASH"] * val.num_rows,
                  "weight": cash_w}),
    ])
    inst = s.instruments.select(["instrument_id", "asset_class"])
    inst = pa.concat_tables([inst, pa.table({"instrument_id": ["CASH"], "asset_class": ["cash"]})])
    rows = [(p, c, w) for p, t in CLASS_TARGETS.items() for c, w in t.items()]
    class_targets = pa.table({"portfolio_id": [r[0] for r in rows], "asset_class": [r[1] for r in rows],
                              "target_weight": [r[2] for r in rows]})
    bal = pos.filter(pc.equal(pos.column("portfolio_id"), "BALANCED"))
    unit = np.asarray(bal.column("price")) * np.asarray(bal.column("multiplier")) * np.asarray(bal.column("fx_rate"))
    bal_cash = val.filter(pc.equal(val.column("portfolio_id"), "BALANCED")).column("cash")
    return {
        "weights": weights,
        "instruments": inst,
        "class_targets": class_targets,
        "positions": bal.select(["portfolio_id", "instrument_id", "quantity"]),
        "prices": pa.table({"instrument_id": bal.column("instrument_id"), "price": unit}),
        "cash": pa.table({"portfolio_id": ["BALANCED"], "amount": bal_cash}),
        "model": pa.table({"instrument_id": list(BALANCED_MODEL), "target_weight": list(BALANCED_MODEL.values())}),
    }


def section() -> str:
    """Return the rebalancing part of ``pmcore demo`` as text.

    Runs on :func:`pmcore.datasets.load_sample_book`: drift of the three cash
    accounts from their asset-class targets, the 5/25 trigger, and the trade
    list that brings the BALANCED account back to its model.

    Examples
    --------
    >>> from pmcore.demo_sections.rebalance import section
    >>> text = section()
    >>> "BALANCED" in text and "Trigger" in text and "Trade list" in text
    True
    """
    import pyarrow as pa

    from ..rebalance import CostModel, check_triggers, drift, trade_list

    x = sample_inputs()
    d = drift(x["weights"], x["class_targets"], by="asset_class", instruments=x["instruments"])
    out = ["Drift from asset-class targets (percentage points):", ""]
    for r in d.to_arrow().to_pylist():
        out.append(f"  {r['portfolio_id']:10} {r['asset_class']:13} {r['current_weight']:7.2%} "
                   f"vs {r['target_weight']:6.2%}  {r['drift'] * 100:+6.2f}")
    dec = check_triggers(d, threshold=0.05, relative_band=0.25)
    out += ["", "Trigger (5 points or 25 % of the target, whichever is tighter):"]
    for pid, reason in zip(d.portfolio_ids.to_pylist(), dec.reasons()):
        out.append(f"  {pid:10} {reason}")
    md = drift(x["positions"], x["model"], prices=x["prices"], cash=x["cash"])
    inst = pa.table({"instrument_id": x["prices"].column("instrument_id"),
                     "lot_size": [1.0] * x["prices"].num_rows})
    plan = trade_list(md, instruments=inst, costs=CostModel(commission_per_share=0.005, min_commission=1.0,
                                                            half_spread_bps=2.0))
    out += ["", "Trade list: BALANCED back to its model (whole shares; $0.005 a share, $1 minimum, "
                "2 bp half spread):"]
    for r in plan.to_arrow().to_pylist():
        out.append(f"  {r['side']:4} {abs(r['quantity']):>6g} {r['instrument_id']:5} {r['notional']:>11,.2f} USD"
                   f"  est. cost {r['estimated_cost']:6.2f}  wave {r['wave']}  ({r['reason']})")
    a = plan.to_arrow("accounts").to_pylist()[0]
    out.append(f"  cash {a['cash_before']:,.2f} -> {a['cash_after']:,.2f}; largest drift "
               f"{a['max_drift_before']:.2%} -> {a['max_drift_after']:.2%}; turnover {a['turnover']:.2%}")
    return "\n".join(out)
