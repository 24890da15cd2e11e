"""Print the backtest ratio table: pmcore vs bt, cvxportfolio and vectorbt (issue 8's workload).

    python benchmarks/report_backtest.py            # 500 assets x 5,040 dates, monthly, 15 bps
    python benchmarks/report_backtest.py --small    # quick check (60 assets x 504 dates)
    python benchmarks/report_backtest.py --write    # also docs/_generated/backtest.rst and the README
                                                    # section between <!-- bench:backtest --> markers
    python benchmarks/report_backtest.py --write --no-readme  # the docs table only

pmcore and vectorbt take turns (best of several runs after a warm-up, compile
time excluded). bt runs once at full size (minutes). cvxportfolio needs far
longer (about 0.1 s per date at 500 assets), so it runs once on the first
``--cvx-dates`` and twice as many dates, with pmcore timed on exactly the
same data: that ratio is measured, not extrapolated. Its full-size time is
then scaled from the two runs, linearly in dates, which the printed scaling
check (time ratio of the two runs vs 2.0) shows to hold or not. Every peer's
curve is checked against pmcore's before its time is used. Wall and CPU times
(this process) are both printed: on a shared machine CPU time is the steadier.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_tables as rt  # noqa: E402

COLUMNS = ("implementation", "wall time", "CPU time", "ratio")


def timed(fn, *args, repeat: int = 1):
    """(best wall, best CPU, last result) over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), out


def fmt(t: float) -> str:
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--cvx-dates", type=int, default=None, help="dates of the first cvxportfolio run")
    rt.add_write_options(parser, "backtest")
    args = parser.parse_args()
    import backtest_data as bd

    n_dates, n_assets = (504, 60) if args.small else (5040, 500)
    cvx_dates = args.cvx_dates or (126 if args.small else 252)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    def prepared(n):
        df = bd.make_prices(n_dates, n_assets).iloc[:n]
        target = bd.target_weights(df.columns)
        prices = np.ascontiguousarray(df.to_numpy())
        return df, target, prices, np.array([target[c] for c in df.columns])

    df, target, prices, w = prepared(n_dates)
    dates = df.index.values
    ref = bd.run_pmcore(prices, dates, w)
    ref_cash = bd.run_pmcore(prices, dates, w, "cash")
    size = bd.vbt_inputs(df, target, ref_cash.rebalanced)
    bd.run_vbt(df, size)
    pm_w, pm_c, vb_w, vb_c = [], [], [], []
    for _ in range(5):  # taking turns
        a, b, _ = timed(bd.run_pmcore, prices, dates, w)
        pm_w.append(a), pm_c.append(b)
        a, b, value = timed(bd.run_vbt, df, size)
        vb_w.append(a), vb_c.append(b)
    np.testing.assert_allclose(value, ref_cash.equity, rtol=1e-2)
    t_pm, c_pm, t_vb, c_vb = min(pm_w), min(pm_c), min(vb_w), min(vb_c)
    t_bt, c_bt, equity = timed(bd.run_bt, df, target)
    np.testing.assert_allclose(equity, ref.equity, rtol=1e-8)

    cvx = []
    for n in (cvx_dates, 2 * cvx_dates):
        d2, t2, p2, w2 = prepared(n)
        r2 = bd.run_pmcore(p2, d2.index.values, w2, "cash")
        tp, cp, _ = timed(bd.run_pmcore, p2, d2.index.values, w2, "cash", repeat=5)
        tc, cc, v = timed(bd.run_cvx, *bd.cvx_inputs(d2, t2, r2.rebalanced))
        np.testing.assert_allclose(v[1:], (r2.equity + r2.costs)[1:len(v)], rtol=1e-8)
        cvx.append((n, tp, cp, tc, cc))
    (n1, _, _, tc1, cc1), (n2, tp2, cp2, tc2, cc2) = cvx
    scaling = cc2 / cc1
    c_cvx_full = cc2 * n_dates / n2
    t_cvx_full = tc2 * n_dates / n2

    rows = [
        ("pmcore.rebalance.backtest", t_pm, c_pm, "1.0 (reference)"),
        ("vectorbt Portfolio.from_orders (targetpercent)", t_vb, c_vb,
         f"pmcore {c_vb / c_pm:.0f}x less CPU, {t_vb / t_pm:.0f}x faster (target: at least 1x)"),
        ("bt (RunMonthly, WeighSpecified, Rebalance), one run", t_bt, c_bt,
         f"pmcore {c_bt / c_pm:.0f}x less CPU, {t_bt / t_pm:.0f}x faster (target: 5x)"),
        (f"cvxportfolio MarketSimulator, {n2:,} dates (measured; pmcore {fmt(tp2)} on the same data)", tc2, cc2,
         f"pmcore {cc2 / cp2:.0f}x less CPU, {tc2 / tp2:.0f}x faster (target: 5x)"),
        (f"cvxportfolio at {n_dates:,} dates, scaled from {n2:,} (x{n_dates / n2:.0f}; "
         f"{n1:,} -> {n2:,} dates took {scaling:.2f}x the CPU)", t_cvx_full, c_cvx_full,
         f"pmcore ~{c_cvx_full / c_pm:.0f}x less CPU (scaled, not measured)"),
    ]
    header = (f"{n_assets} assets x {n_dates:,} business days (generated prices), monthly rebalancing "
              f"({ref.n_rebalances} rebalances), 10 bps commission + 5 bps half-spread; each curve checked "
              f"against pmcore's; {os.cpu_count()} cores shared with other work, load average {load:.1f} "
              f"at the start: ratios taken in the same run")
    table = [(name, fmt(t), fmt(c), ratio) for name, t, c, ratio in rows]
    rt.publish(args, "backtest", "report_backtest.py", "Backtest benchmarks", header, table, columns=COLUMNS,
               align="lrrl", reproduce=False)


if __name__ == "__main__":
    main()
