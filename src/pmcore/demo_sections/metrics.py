"""Demo section: performance metrics of three funds against their benchmark, 2022-2024."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["load_sample", "section"]


def load_sample() -> pa.Table:
    """The bundled sample: daily returns of three funds and their benchmark.

    Columns ``date``, ``growth``, ``value``, ``macro`` and ``benchmark``;
    782 business days from 2022-01-03 to 2024-12-31 (synthetic but
    realistic: fat tails, a volatile mid-2022, deterministic).

    Examples
    --------
    >>> from pmcore.demo_sections.metrics import load_sample
    >>> t = load_sample()
    >>> t.num_rows, t.column_names
    (782, ['date', 'growth', 'value', 'macro', 'benchmark'])
    """
    path = resources.files("pmcore") / "data" / "metrics_daily_returns.csv"
    with resources.as_file(path) as p:
        return pacsv.read_csv(p)


def section() -> str:
    """Return the metrics part of ``pmcore demo`` as text.

    Examples
    --------
    >>> from pmcore.demo_sections.metrics import section
    >>> text = section()
    >>> "Sharpe" in text and "growth" in text
    True
    """
    from .. import metrics as pm

    data = load_sample()
    funds = data.select(["date", "growth", "value", "macro"])
    bench = data.column("benchmark").to_numpy()
    names = funds.column_names[1:]

    def row(result) -> list[float]:
        return [float(result.column(n)[0].as_py()) for n in names]

    alpha, beta = pm.alpha_beta(funds, bench)
    details = pm.drawdown_details(funds)
    rows = [
        ("Total return", row(pm.total_return(funds)), "pct"),
        ("CAGR", row(pm.annual_return(funds)), "pct"),
        ("Volatility (ann.)", row(pm.annual_volatility(funds)), "pct"),
        ("Sharpe", row(pm.sharpe_ratio(funds)), "num"),
        ("Sortino", row(pm.sortino_ratio(funds)), "num"),
        ("Max drawdown", row(pm.max_drawdown(funds)), "pct"),
        ("Calmar", row(pm.calmar_ratio(funds)), "num"),
        ("Omega", row(pm.omega_ratio(funds)), "num"),
        ("95% VaR (1 day)", row(pm.value_at_risk(funds)), "pct"),
        ("95% CVaR (1 day)", row(pm.conditional_value_at_risk(funds)), "pct"),
        ("Alpha (ann.)", row(alpha), "pct"),
        ("Beta", row(beta), "num"),
        ("Information ratio", row(pm.information_ratio(funds, bench)), "num"),
    ]

    def fmt(v: float, kind: str) -> str:
        if not np.isfinite(v):
            return f"{v:>10}"
        if kind == "pct":
            return f"{round(v * 100, 2) + 0.0:>9.2f}%"
        return f"{round(v, 2) + 0.0:>10.2f}"

    lines = [
        "Metrics: three funds vs their benchmark, daily returns 2022-01-03 to 2024-12-31",
        "(252 periods a year, risk-free 0; the defaults reproduce empyrical)",
        "",
        f"{'':<20}" + "".join(f"{n:>10}" for n in names),
    ]
    for label, values, kind in rows:
        lines.append(f"{label:<20}" + "".join(fmt(v, kind) for v in values))
    lines.append("")
    lines.append("Worst drawdown of each fund (peak -> trough -> recovery):")
    for name, depth, peak, trough, rec in zip(details.names, details.max_drawdown, details.peak,
                                               details.trough, details.recovery):
        lines.append(f"  {name:<8}{depth * 100:>8.2f}%  {peak} -> {trough} -> {rec or 'not yet'}")
    yearly = pm.period_returns(funds, period="yearly")
    lines.append("")
    lines.append("Calendar-year returns:")
    lines.append(f"  {'year':<8}" + "".join(f"{n:>10}" for n in names))
    for i in range(yearly.num_rows):
        year = yearly.column("period")[i].as_py().year
        lines.append(f"  {year:<8}" + "".join(fmt(yearly.column(n)[i].as_py(), "pct") for n in names))
    return "\n".join(lines)
