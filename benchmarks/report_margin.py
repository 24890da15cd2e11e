"""Print the margin ratio table (pmcore vs pandas) at the issue's sizes, and the pre-trade latency.

    python benchmarks/report_margin.py            # 1,000,000 positions over 100,000 accounts
    python benchmarks/report_margin.py --small    # quick check
    python benchmarks/report_margin.py --write    # also docs/_generated/margin.rst and the README
                                                  # section between <!-- bench:margin --> markers
    python benchmarks/report_margin.py --write --no-readme  # the docs table only

Times are the best of several runs after a warm-up (compile time excluded), one
process, the same prepared data for both implementations, the implementations
taking turns so that they share whatever else runs on the machine. CPU times
(this process, all threads) are printed too: they do not count time spent
waiting for a core.
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

COLUMNS = ("workload", "time", "ratio")


def best(fn, *args, repeat: int = 5, clock=time.perf_counter) -> float:
    fn(*args)
    times = []
    for _ in range(repeat):
        t = clock()
        fn(*args)
        times.append(clock() - t)
    return min(times)



def cpu(fn, *args, repeat: int = 5) -> float:
    """Best CPU time of this process (all threads): robust to other processes on the machine."""
    return best(fn, *args, repeat=repeat, clock=time.process_time)



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    rt.add_write_options(parser, "margin")
    args = parser.parse_args()
    if not args.small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    import margin_data as md

    from pmcore.margin import margin_state, pre_trade_check

    size = md.sizes()
    book, price, kwargs, pandas_in = md.prepare(md.make_data(**size))
    state = md.run_pmcore(book, price, kwargs)
    positions, accounts = md.run_pandas(pandas_in)
    np.testing.assert_allclose(state.liquidation_price, positions["liquidation_price"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(state.free_margin, accounts["free_margin"], rtol=1e-9, atol=1e-6)
    from pmcore.kernels import margin as km

    table = km.instrument_table(np.column_stack([price, book.multiplier]), state.br_offsets, state.br)
    kernel_args = (book.offsets, book.instrument, state.pos, table, state.account, 0.5,
                   np.empty((book.n_positions, km.N_POS_FIELDS)), np.empty((book.n_portfolios, km.N_ACC_FIELDS)))
    wall = rt.interleaved_fixed({
        "pm": (md.run_pmcore, (book, price, kwargs)),
        "pd": (md.run_pandas, (pandas_in,)),
        "kernel": (km.margin_state, kernel_args),
        "kernel_par": (km.margin_state_parallel, kernel_args),
    }, repeat=7)
    t_pm, t_pd, t_kernel, t_kernel_par = wall["pm"], wall["pd"], wall["kernel"], wall["kernel_par"]
    c_kernel = cpu(km.margin_state, *kernel_args)
    c_pm = cpu(md.run_pmcore, book, price, kwargs)
    c_pd = cpu(md.run_pandas, pandas_in, repeat=3)

    one = md.make_data(10, 1, 10, seed=3)
    s1 = margin_state(one["positions"], one["prices"], instruments=one["instruments"], cash=one["cash"],
                      accounts=one["accounts"], brackets=one["brackets"], base_currency="USDT")
    pid = s1.portfolio_ids[0].as_py()
    iid = s1.book.instrument_ids[int(s1.book.instrument[0])].as_py()
    t_check = rt.median_call(pre_trade_check, s1, pid, iid, 0.5)
    t_reduce = rt.median_call(pre_trade_check, s1, pid, iid, 1e6)
    # the pandas peer checks the same order from the account's frames
    pos1 = one["positions"].to_pandas()
    px1 = one["prices"].to_pandas().set_index("instrument_id")["price"]
    wallet1 = float(one["cash"].column("amount")[0].as_py())
    for q_order in (0.5, 1e6):
        ours, theirs = pre_trade_check(s1, pid, iid, q_order), md.pandas_pre_trade(pos1, px1, wallet1, iid, q_order)
        assert ours.decision == theirs[0], (ours, theirs)
    t_check_pd = rt.median_call(md.pandas_pre_trade, pos1, px1, wallet1, iid, 0.5, n=2000)

    n, n_a = size["n_positions"], size["n_accounts"]
    rows = [
        ("margin_state (public call: validation + kernel)", t_pm, "1.0 (reference)"),
        ("pandas: same formulas, vectorised", t_pd, f"pmcore {t_pd / t_pm:.1f}x faster (target: 20x)"),
        ("kernel alone, one thread (kernels.margin.margin_state)", t_kernel,
         f"{t_pd / t_kernel:.1f}x faster than pandas"),
        ("kernel alone, all cores (kernels.margin.margin_state_parallel)", t_kernel_par,
         f"{t_pd / t_kernel_par:.1f}x faster than pandas"),
        ("CPU time: margin_state (public call, all threads)", c_pm,
         f"{c_pd / c_pm:.1f}x less CPU than pandas"),
        ("CPU time: kernel, one thread", c_kernel, f"{c_pd / c_kernel:.1f}x less CPU than pandas"),
        ("CPU time: pandas", c_pd, "-"),
        ("pre_trade_check, one account, approve (median per call)", t_check,
         "target: under 20 us"),
        ("pre_trade_check, one account, reduce (median per call)", t_reduce,
         "target: under 20 us"),
        ("pandas: same check from the account's frames (median per call)", t_check_pd,
         f"pmcore {t_check_pd / t_check:.0f}x faster"),
    ]
    header = (f"{n:,} positions over {n_a:,} accounts (30 % isolated), {size['n_instruments']:,} "
              f"instruments, 80 % with 3-8 tiers; {os.cpu_count()} cores, load average {load:.1f} at the start")
    table = [(name, rt.shown(t), ratio) for name, t, ratio in rows]
    rt.publish(args, "margin", "report_margin.py", "Margin benchmarks", header, table, columns=COLUMNS,
               reproduce=False)


if __name__ == "__main__":
    main()
