"""Print the valuation ratio table (pmcore vs polars, pandas, numpy) at the issue's sizes.

    python benchmarks/report_valuation.py            # 1,000,000 positions (about a minute)
    python benchmarks/report_valuation.py --small    # quick check
    python benchmarks/report_valuation.py --write    # also docs/_generated/valuation.rst and the README
                                                     # section between <!-- bench:valuation --> markers
    python benchmarks/report_valuation.py --write --no-readme  # the docs table only

Times are the best of several runs after a warm-up, one process, same data for everyone;
the end-to-end contenders take turns (round robin), so that load from other processes
falls on all of them alike.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_tables as rt  # noqa: E402

COLUMNS = ("workload", "time", "ratio")


def best(fn, *args, repeat: int = 7) -> float:
    fn(*args)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def interleaved(calls: dict, rounds: int = 7) -> tuple[dict, dict]:
    """Best wall time and best CPU time (all threads) of each call over ``rounds`` round-robin rounds.

    Taking turns (after one warm-up each) spreads the other load on the
    machine evenly over the contenders, so the ratios between them are fair
    even when absolute times drift; CPU time shows the work done regardless
    of how much of the machine the process got.
    """
    for fn, args in calls.values():
        fn(*args)
    wall: dict = {name: [] for name in calls}
    cpu: dict = {name: [] for name in calls}
    for _ in range(rounds):
        for name, (fn, args) in calls.items():
            c = time.process_time()
            t = time.perf_counter()
            fn(*args)
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return ({name: min(ts) for name, ts in wall.items()}, {name: min(ts) for name, ts in cpu.items()})



def fresh_process(code: str, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    rt.add_write_options(parser, "valuation")
    args = parser.parse_args()
    if not args.small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    import polars as pl

    import pmcore as pm
    import valuation_data as vd
    from pmcore.market import align_fx, align_prices

    size = vd.sizes() if not args.small else {"n_positions": 20_000, "n_portfolios": 200, "n_instruments": 1_000}
    d = vd.make_book(**size)
    dpl = {k: pl.from_arrow(v) for k, v in d.items()}
    dpd = {k: v.to_pandas() for k, v in d.items()}
    load = os.getloadavg()[0]
    e2e, e2e_cpu = interleaved({
        "pm": (vd.run_pmcore, (d,)), "pm_pl": (vd.run_pmcore, (dpl,)),
        "pm_cat": (vd.run_pmcore, (vd.categorical(d),)), "pl": (vd.run_polars, (dpl,)),
        "pd": (vd.run_pandas, (dpd,)),
    }, rounds=12)
    t_pm, t_pm_pl, t_pm_cat, t_pl, t_pd = (e2e[k] for k in ("pm", "pm_pl", "pm_cat", "pl", "pd"))

    book = pm.Book.from_frames(d["positions"], d["instruments"], cash=d["cash"])
    px, fx = align_prices(book, d["prices"])[0], align_fx(book, d["fx"])
    pcode = np.repeat(np.arange(book.n_portfolios), np.diff(book.offsets))
    t_rev = best(book.revalue, px, fx, repeat=20)
    t_np = best(vd.numpy_pass, book, px, fx, pcode, repeat=20)

    one = vd.make_book(100, 1, 100, seed=3)
    b1 = pm.Book.from_frames(one["positions"], one["instruments"], cash=one["cash"])
    p1, f1 = align_prices(b1, one["prices"])[0], align_fx(b1, one["fx"])
    t_one = rt.median_call(b1.revalue, p1, f1)

    t_import = fresh_process("import time; t = time.perf_counter(); import pmcore; print(time.perf_counter() - t)")
    t_first = fresh_process(
        "import time; t = time.perf_counter(); import pmcore as pm; from pmcore.datasets import load_sample_book;"
        "s = load_sample_book(); pm.value(s.positions, s.prices, s.fx, instruments=s.instruments, cash=s.cash);"
        "print(time.perf_counter() - t)"
    )

    n = size["n_positions"]
    rows = [
        ("end to end from frames (value + exposures by sector), pyarrow in", t_pm, "1.0 (reference)"),
        ("same, polars frames in", t_pm_pl, f"{t_pm_pl / t_pm:.2f}x of pmcore"),
        ("same, pyarrow with dictionary-encoded ids (Parquet read_dictionary)", t_pm_cat, f"{t_pm_cat / t_pm:.2f}x of pmcore"),
        ("polars: same joins and group-bys (lazy, all cores)", t_pl, f"pmcore {t_pl / t_pm:.1f}x faster"),
        ("pandas: same merges and group-bys", t_pd, f"pmcore {t_pd / t_pm:.1f}x faster"),
        ("CPU time (all threads): pmcore end to end, pyarrow in", e2e_cpu["pm"], "1.0 (reference)"),
        ("CPU time: polars", e2e_cpu["pl"], f"pmcore {e2e_cpu['pl'] / e2e_cpu['pm']:.1f}x less CPU"),
        ("CPU time: pandas", e2e_cpu["pd"], f"pmcore {e2e_cpu['pd'] / e2e_cpu['pm']:.1f}x less CPU"),
        ("Book.revalue with a new price vector", t_rev, f"{t_rev / t_np:.2f}x one numpy pass; "
         f"{t_pl / t_rev:.0f}x faster than polars end to end"),
        ("one numpy pass over the same columns", t_np, "-"),
        ("one portfolio of 100 positions, Book.revalue (median per call)", t_one, "-"),
        ("import pmcore (fresh process, warm caches)", t_import, "-"),
        ("import + first pm.value on the sample book (fresh process, warm cache)", t_first, "-"),
    ]
    header = (f"{n:,} positions, {size['n_portfolios']:,} portfolios, {size['n_instruments']:,} "
              f"instruments, 12 currencies, 3 grouping columns; {os.cpu_count()} cores, load average "
              f"{load:.1f} at the start (ratios taken in the same interleaved run)")
    table = [(name, rt.shown(t), ratio) for name, t, ratio in rows]
    rt.publish(args, "valuation", "report_valuation.py", "Valuation benchmarks", header, table, columns=COLUMNS,
               reproduce=False)


if __name__ == "__main__":
    main()
