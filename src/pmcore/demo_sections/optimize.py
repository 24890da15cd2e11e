"""Demo section: minimum variance, maximum Sharpe, risk parity and HRP on a bundled sample."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["load_sample", "SECTORS", "section"]

SECTORS = {
    "TECH_A": "Tech", "TECH_B": "Tech", "TECH_C": "Tech", "HLTH_A": "Health", "HLTH_B": "Health",
    "FIN_A": "Financials", "FIN_B": "Financials", "ENGY_A": "Energy", "ENGY_B": "Energy",
    "UTIL_A": "Utilities", "CONS_A": "Consumer", "CONS_B": "Consumer",
}


def load_sample() -> pa.Table:
    """The bundled sample: daily returns of 12 stocks in 6 sectors, 2022-2024.

    Columns ``date`` and one per stock (see ``SECTORS``); 756 business days
    from 2022-01-03, synthetic (a fat-tailed market factor, sector factors,
    idiosyncratic noise; deterministic).

    Examples
    --------
    >>> from pmcore.demo_sections.optimize import load_sample
    >>> t = load_sample()
    >>> t.num_rows, t.num_columns
    (756, 13)
    """
    path = resources.files("pmcore") / "data" / "optimize_returns.csv"
    with resources.as_file(path) as p:
        return pacsv.read_csv(p)


def _table(title: str, assets, rows: list[tuple[str, np.ndarray]]) -> list[str]:
    head = f"{'':<10}" + "".join(f"{name:>12}" for name, _ in rows)
    out = [title, head]
    for i, a in enumerate(assets):
        out.append(f"{a:<10}" + "".join(f"{w[i] * 100:>11.1f}%" for _, w in rows))
    return out


def section() -> str:
    """Return the optimization part of ``pmcore demo`` as text.

    Examples
    --------
    >>> from pmcore.demo_sections.optimize import section
    >>> text = section()
    >>> "Max Sharpe" in text and "HRP" in text and "TECH_A" in text
    True
    """
    from pmcore import optimize as po

    table = load_sample().drop_columns(["date"])
    mu = po.mean_returns(table)
    cov = po.ledoit_wolf(table)
    assets = table.column_names
    groups = [SECTORS[a] for a in assets]
    mv = po.min_variance(cov, mu, upper=0.25)
    ms = po.max_sharpe(mu, cov, risk_free=0.03, upper=0.25, groups=groups, group_upper=0.35)
    rp = po.risk_parity(cov, mu)
    hr = po.hrp(cov, mu)
    lines = ["Portfolio optimization (12 stocks, 2022-2024, Ledoit-Wolf covariance)", ""]
    lines += _table("Weights", assets, [("Min var", mv.x), ("Max Sharpe", ms.x), ("Risk parity", rp.x),
                                          ("HRP", hr.x)])
    lines.append("")
    lines.append(f"{'':<10}" + "".join(f"{h:>12}" for h in ("Min var", "Max Sharpe", "Risk parity", "HRP")))
    for label, attr in (("return", "expected_return"), ("volatility", "volatility")):
        lines.append(f"{label:<10}" + "".join(f"{getattr(r, attr) * 100:>11.1f}%" for r in (mv, ms, rp, hr)))
    lines.append(f"{'sharpe':<10}" + "".join(f"{(r.expected_return - 0.03) / r.volatility:>12.2f}"
                                                for r in (mv, ms, rp, hr)))
    lines.append("")
    lines.append("Max Sharpe: at most 25 % per stock and 35 % per sector (risk-free 3 %); "
                 f"binding: {', '.join(ms.binding) or 'none'}")
    lines.append(f"Risk parity: risk contributions {rp.risk_contributions.min() * 100:.4f}% .. "
                 f"{rp.risk_contributions.max() * 100:.4f}% (equal to 1e-8)")
    return "\n".join(lines)
