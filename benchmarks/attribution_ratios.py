"""Print the attribution speed table: pmcore beside vectorised pandas.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/attribution_ratios.py          # issue-7 sizes
    PYTHONPATH=src python benchmarks/attribution_ratios.py --small  # quick check
    PYTHONPATH=src python benchmarks/attribution_ratios.py --write  # also docs/_generated/attribution.rst
                                                                    # and README <!-- bench:attribution -->
    PYTHONPATH=src python benchmarks/attribution_ratios.py --write --no-readme  # the docs table only

Both implementations run Brinson-Fachler with Carino linking on the same
generated data in the same process, taking turns (so that they share whatever
else runs on the machine); pmcore's compile time is excluded by a warm-up
call; each figure is the best of ``--repeat`` runs (pandas: best of 2). pmcore
runs twice: on one thread (``threads=1``: the "under 1 s on one core" target,
read its CPU time on a shared machine) and with its default (whole portfolios
split over the cores the process may use), beside pandas, which is
single-threaded. Ratios: pandas wall time over pmcore's default wall time, and
pandas CPU time over pmcore's one-thread CPU time (one core against one core).
A third contestant only reads: it adds up once every column attribution must
read (keys, group codes, weights and returns), on pmcore's default threads,
prefetching as pmcore's kernels do. Pandas' time over that is the ceiling of
the ratio on this machine: no implementation that reads its input can beat it
by much.
The linked effects of pmcore and pandas are checked to agree.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_tables as rt  # noqa: E402

COLUMNS = ("workload", "rows", "pmcore, 1 thread", "pmcore", "pandas", "ratio", "CPU: pmcore, 1 thread",
           "CPU: pandas", "CPU ratio", "read once", "ratio ceiling")


def interleaved(calls: dict, repeat: int, repeat_slow: int = 2, slow=("pd",)):
    """Best (wall, CPU) time of each call, the calls taking turns; returns the last outputs too."""
    times = {name: [] for name in calls}
    outs = {}
    for r in range(repeat):
        for name, fn in calls.items():
            if name in slow and r >= repeat_slow:
                continue
            w, c = time.perf_counter(), time.process_time()
            outs[name] = fn()
            times[name].append((time.perf_counter() - w, time.process_time() - c))
    best = {k: (min(t[0] for t in v), min(t[1] for t in v)) for k, v in times.items()}
    return best, outs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--repeat", type=int, default=5)
    rt.add_write_options(parser, "attribution")
    args = parser.parse_args(argv)
    if not args.small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    import numpy as np

    import attribution_data as data
    from pmcore.attribution import brinson
    from pmcore.attribution.brinson_effects import _thread_count

    def brinson_threads(n_rows):  # the threads brinson's default uses on this input
        return _thread_count(None, n_rows, n_rows)

    cases = [
        ("group level", data.group_level, data.GROUP_LEVEL),
        ("security level", data.security_level, data.SECURITY_LEVEL),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"load average {load:.1f} at the start; {cores} cores available to this process\n")
    print(f"{'case':<16} {'rows':>11} {'pmcore 1 thr':>12} {'pmcore':>8} {'pandas':>8} {'ratio':>6}"
          f" {'cpu: pmcore 1 thr':>18} {'pandas':>7} {'ratio':>6} {'read once':>9} {'ceiling':>8}")
    rows = []
    for name, make, size in cases:
        table = make(**size)
        warm = {k: (v if k in ("n_groups", "n_securities") else 2) for k, v in size.items()}
        brinson(make(**warm), by="sector", linking="carino")
        df = table.to_pandas()
        floor = data.read_once(table, brinson_threads(table.num_rows))
        best, outs = interleaved({
            "read": floor,
            "pm1": lambda: brinson(table, by="sector", linking="carino", threads=1),
            "pm": lambda: brinson(table, by="sector", linking="carino"),
            "pd": lambda: data.pandas_brinson_fachler_carino(df),
        }, args.repeat)
        (t_pm1, c_pm1), (t_pm, _), (t_pd, c_pd) = best["pm1"], best["pm"], best["pd"]
        t_read = best["read"][0]
        res, (_, linked) = outs["pm"], outs["pd"]
        ours = res.linked.to_pandas().set_index(["portfolio_id", "sector"]).sort_index()
        theirs = linked.sort_index()
        for col in ("allocation", "selection", "interaction"):
            assert np.allclose(ours[col].to_numpy(), theirs[col].to_numpy(), atol=1e-12)
        assert res.reconciles and outs["pm1"].reconciles
        sizes = " x ".join(f"{v:,}" for v in size.values())
        print(f"{name:<16} {table.num_rows:>11,} {t_pm1:>12.3f} {t_pm:>8.4f} {t_pd:>8.2f} {t_pd / t_pm:>5.1f}x"
              f" {c_pm1:>18.3f} {c_pd:>7.2f} {c_pd / c_pm1:>5.0f}x {t_read:>9.3f} {t_pd / t_read:>7.0f}x"
              f"   ({sizes})")
        rows.append((f"{name}: {sizes}", table.num_rows, t_pm1, t_pm, t_pd, c_pm1, c_pd, t_read))
        del table, df, res, linked, outs
    print("\ntargets: pmcore under 1 s on one core (one thread; CPU column on a shared machine), "
          "at least 50x faster than pandas; read once: every input column read once (the ceiling "
          "of the ratio: pandas over it)")
    if args.write:
        write(rows, load, cores, readme=not args.no_readme)
    return 0


def write(rows, load, cores, readme: bool = True) -> None:
    """Write the table for the docs and the README (between its markers, if present)."""
    header = (f"Brinson-Fachler with Carino linking, best of several runs after a warm-up, pmcore and "
              f"pandas taking turns; {cores} cores, load average {load:.1f} at the start. Targets: under "
              f"1 s on one core, at least 50x faster than pandas. Ratio: pandas over pmcore (default "
              f"threads), wall time; CPU ratio: pandas over pmcore on one thread, CPU time; read once: "
              f"adding up once every column attribution reads, on the same threads and prefetching as pmcore "
              f"does (memory bandwidth); "
              f"ratio ceiling: pandas over that")
    table = [(name, f"{n:,}", f"{t_pm1 * 1e3:.0f} ms", f"{t_pm * 1e3:.1f} ms", f"{t_pd:.2f} s",
              f"{t_pd / t_pm:.1f}x", f"{c_pm1 * 1e3:.0f} ms", f"{c_pd:.2f} s", f"{c_pd / c_pm1:.0f}x",
              f"{t_read * 1e3:.1f} ms", f"{t_pd / t_read:.0f}x")
             for name, n, t_pm1, t_pm, t_pd, c_pm1, c_pd, t_read in rows]
    rt.write("attribution", "attribution_ratios.py", header, table, readme=readme, columns=COLUMNS,
             align="l" + "r" * (len(COLUMNS) - 1), reproduce=False)

if __name__ == "__main__":
    raise SystemExit(main())
