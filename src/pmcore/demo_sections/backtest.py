"""Demo section: a 50/30/20 portfolio of the three sample funds, rebalanced with costs, 2022-2024."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["sample_prices", "section"]

FUNDS = ("growth", "value", "macro")
TARGET = {"growth": 0.5, "value": 0.3, "macro": 0.2}


def sample_prices() -> pa.Table:
    """Daily prices (start 100) of the three bundled sample funds, 782 business days of 2022-2024.

    Built from the daily returns of :func:`pmcore.demo_sections.metrics.load_sample`.

    Examples
    --------
    >>> from pmcore.demo_sections.backtest import sample_prices
    >>> t = sample_prices()
    >>> t.num_rows, t.column_names
    (782, ['date', 'growth', 'value', 'macro'])
    """
    from .metrics import load_sample

    data = load_sample()
    return pa.table({"date": data.column("date"),
                     **{f: 100.0 * np.cumprod(1.0 + data.column(f).to_numpy()) for f in FUNDS}})


def section() -> str:
    """Return the backtest part of ``pmcore demo`` as text.

    Examples
    --------
    >>> from pmcore.demo_sections.backtest import section
    >>> text = section()
    >>> "monthly" in text and "Sharpe" in text
    True
    """
    from ..rebalance import backtest

    prices = sample_prices()
    runs = [
        ("buy and hold", backtest(prices, TARGET, frequency=len(prices) + 1, commission_bps=5, half_spread_bps=2)),
        ("monthly", backtest(prices, TARGET, frequency="monthly", commission_bps=5, half_spread_bps=2)),
        ("3 % band", backtest(prices, TARGET, frequency=None, threshold=0.03, commission_bps=5, half_spread_bps=2)),
        ("quarterly+2 %", backtest(prices, TARGET, frequency="quarterly", threshold=0.02, commission_bps=5,
                                   half_spread_bps=2, short_term_rate=0.37, long_term_rate=0.2)),
    ]
    names = [n for n, _ in runs]
    lines = [
        "Rebalancing backtest: 50 % growth / 30 % value / 20 % macro, 2022-01-03 to 2024-12-31",
        "(1,000,000 invested on day one; 5 bps commission + 2 bps half-spread on traded notional)",
        "",
        f"{'':<22}" + "".join(f"{n:>15}" for n in names),
    ]

    def row(label, values, spec):
        lines.append(f"{label:<22}" + "".join(f"{format(v, spec):>15}" for v in values))

    row("Final equity", [r.equity[-1] for _, r in runs], ",.0f")
    row("Rebalances", [r.n_rebalances - 1 for _, r in runs], "d")
    row("Turnover (one-way)", [r.total_turnover for _, r in runs], ".2%")
    row("Costs (with 1st buy)", [r.total_costs for _, r in runs], ",.0f")
    row("Realized gains", [r.realized_short_term.sum() + r.realized_long_term.sum() for _, r in runs], ",.0f")
    row("CAGR", [r.metrics["annual_return"] for _, r in runs], ".2%")
    row("Volatility (ann.)", [r.metrics["annual_volatility"] for _, r in runs], ".2%")
    row("Sharpe", [r.metrics["sharpe_ratio"] for _, r in runs], ".2f")
    row("Max drawdown", [r.metrics["max_drawdown"] for _, r in runs], ".2%")
    last = runs[-1][1]
    lines += [
        "",
        f"Tax estimate of the quarterly+2 % run (37 % short term, 20 % long term, average cost): "
        f"{last.tax:,.0f}",
        "End weights (monthly): " + ", ".join(f"{a} {w:.1%}" for a, w in zip(runs[1][1].assets,
                                                                             runs[1][1].weights[-1])),
    ]
    return "\n".join(lines)
