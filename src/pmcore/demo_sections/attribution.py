"""Demo section: a Brinson-Fachler table for a growth fund over the first quarter of 2025."""

from __future__ import annotations

from importlib import resources

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["load_sample", "section"]


def load_sample() -> pa.Table:
    """The bundled sample: two funds (GROWTH, VALUE) against one benchmark, 11 GICS sectors,
    month ends of 2025-01 to 2025-03 (synthetic but realistic, deterministic).

    Examples
    --------
    >>> from pmcore.demo_sections.attribution import load_sample
    >>> load_sample().num_rows
    66
    """
    path = resources.files("pmcore") / "data" / "attribution_sectors.csv"
    with resources.as_file(path) as p:
        return pacsv.read_csv(p)


def section() -> str:
    """Return the attribution part of ``pmcore demo`` as text.

    Examples
    --------
    >>> from pmcore.demo_sections.attribution import section
    >>> text = section()
    >>> "Brinson-Fachler" in text and "reconciles: True" in text
    True
    """
    from ..attribution import brinson, geometric_brinson

    data = load_sample()
    growth = data.filter(pc.equal(data.column("portfolio_id"), "GROWTH"))
    res = brinson(growth, by="sector", linking="carino", periods=True)
    linked = res.linked.to_pylist()
    tot = res.linked_totals.to_pylist()[0]
    last = res.effects.filter(pc.equal(res.effects.column("period"), growth.column("period")[0]))
    weights = {r["sector"]: (r["portfolio_weight"], r["benchmark_weight"]) for r in last.to_pylist()}

    def bp(x: float) -> str:
        return f"{x * 1e4:+7.1f}"

    lines = [
        "Attribution: Brinson-Fachler, GROWTH fund vs benchmark, 2025-01 to 2025-03,",
        "monthly effects linked with Carino (basis points; weights as of January)",
        "",
        f"{'sector':<24}{'fund wt':>8}{'bench wt':>9}{'alloc':>8}{'select':>8}{'interact':>9}{'total':>8}",
    ]
    for r in sorted(linked, key=lambda r: -abs(r["total"])):
        wp, wb = weights[r["sector"]]
        lines.append(
            f"{r['sector']:<24}{wp:>8.1%}{wb:>9.1%}{bp(r['allocation']):>8}{bp(r['selection']):>8}"
            f"{bp(r['interaction']):>9}{bp(r['total']):>8}"
        )
    lines += [
        f"{'total':<41}{bp(tot['allocation']):>8}{bp(tot['selection']):>8}{bp(tot['interaction']):>9}"
        f"{bp(tot['total']):>8}",
        "",
        f"fund {tot['portfolio_return']:+.2%}, benchmark {tot['benchmark_return']:+.2%}, "
        f"active {tot['active_return']:+.2%} over {tot['n_periods']} months; reconciles: {res.reconciles}",
    ]
    geo = geometric_brinson(growth, by="sector")
    g = geo.linked_totals.to_pylist()[0]
    lines.append(f"geometric: excess {g['excess_return']:+.2%} = allocation {g['allocation']:+.2%} "
                 f"compounded with selection {g['selection']:+.2%}; reconciles: {geo.reconciles}")
    return "\n".join(lines)
