"""Print the rebalancing ratio table (pmcore vs pandas) at the issue's size: 100,000 accounts x 50 assets.

    python benchmarks/report_rebalance.py            # 100,000 accounts x 50 assets (about a minute)
    python benchmarks/report_rebalance.py --small    # quick check
    python benchmarks/report_rebalance.py --write    # also docs/_generated/rebalance.rst and the README
                                                     # section between <!-- bench:rebalance --> markers
    python benchmarks/report_rebalance.py --write --no-readme  # the docs table only

Workload: drift of every account from a 50-asset model (cash target 2 %),
the 5-point threshold trigger, and the trade list to target of the accounts
that trigger (lots, commission and spread, buys scaled to the cash floor).
Times are the best of several runs after a warm-up (compile time excluded),
one process, the same data for both implementations, which take turns so
that they share whatever else runs on the machine. CPU times (this process)
are printed too: they do not count time spent waiting for a core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_tables as rt  # noqa: E402

COLUMNS = ("workload", "time", "ratio")




def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    rt.add_write_options(parser, "rebalance")
    args = parser.parse_args()
    if not args.small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    import rebalance_data as rd

    from pmcore.rebalance import CostModel, check_triggers, drift, trade_list

    size = rd.sizes()
    d = rd.make_data(**size)
    pandas_in = rd.pandas_inputs(d)
    decision, plan = rd.run_pmcore(d)
    rd.check_same(decision, plan, *rd.run_pandas(pandas_in))
    costs = CostModel(commission_bps=rd.COMMISSION_BPS, half_spread_bps=rd.HALF_SPREAD_BPS)
    dr = drift(d["positions"], d["targets"], prices=d["prices"], cash=d["cash"])

    def step_drift():
        return drift(d["positions"], d["targets"], prices=d["prices"], cash=d["cash"])

    def step_trigger():
        return check_triggers(dr, threshold=rd.THRESHOLD)

    def step_trades():
        return trade_list(dr, decision=decision, instruments=d["instruments"], costs=costs)

    calls = {"pm": (rd.run_pmcore, (d,)), "pd": (rd.run_pandas, (pandas_in,))}
    wall = rt.interleaved_fixed(calls, repeat=5)
    cpu = rt.interleaved_fixed(calls, repeat=3, clock=time.process_time)
    steps = rt.interleaved_fixed({"drift": (step_drift, ()), "trigger": (step_trigger, ()), "trades": (step_trades, ())},
                        clock=time.process_time)
    one = rd.make_data(1, 50, seed=5)
    t_one = rt.median_call(rd.run_pmcore, one, n=2000)

    n_a, n_i = size["n_accounts"], size["n_assets"]
    rows = [
        ("drift + trigger + trade list (public calls, pyarrow in)", wall["pm"], "1.0 (reference)"),
        ("pandas: same merges, group-bys and rounding, vectorised", wall["pd"],
         f"pmcore {wall['pd'] / wall['pm']:.1f}x faster"),
        ("CPU time: pmcore", cpu["pm"], f"{cpu['pd'] / cpu['pm']:.1f}x less CPU than pandas"),
        ("CPU time: pandas", cpu["pd"], "-"),
        ("CPU time: drift (positions, prices, cash -> weights, drift)", steps["drift"], "-"),
        ("CPU time: trigger decision (5-point band)", steps["trigger"], "-"),
        ("CPU time: trade list of the accounts that trigger", steps["trades"], "-"),
        ("one account of 50 positions, whole pipeline (median per call)", t_one, "-"),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = (f"{n_a:,} accounts x {n_i} assets ({n_a * n_i:,} positions), {int(decision.rebalance.sum()):,} "
              f"accounts trigger, {plan.n_trades:,} trades; {os.cpu_count()} cores, load average {load:.1f}")
    table = [(name, rt.shown(t), ratio) for name, t, ratio in rows]
    rt.publish(args, "rebalance", "report_rebalance.py", "Rebalancing benchmarks", header, table, columns=COLUMNS,
               reproduce=False)


if __name__ == "__main__":
    main()
