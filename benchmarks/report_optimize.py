"""Print the optimization ratio table (pmcore vs peers) at the issue's sizes.

    python benchmarks/report_optimize.py            # N = 50, 200, 500 (several minutes: the peers are slow)
    python benchmarks/report_optimize.py --small    # N = 50 only
    python benchmarks/report_optimize.py --write    # also write docs/_generated/optimize.rst and the
                                                    # README section between <!-- bench:optimize --> markers
    python benchmarks/report_optimize.py --write --no-readme  # the docs table only

Single-threaded BLAS for every library (set before numpy loads). Each workload
runs pmcore and then each peer on the same data in the same process; the ratio
is the peer's time over pmcore's. Times are the best of up to 50 runs within a
budget of 1-2 s after a warm-up (Numba compilation excluded), so fast calls get
many samples on a loaded machine; peers slower than about a second are timed
once or twice after their warm-up. The "max |dw|" column is the largest
weight difference against pmcore where the problems are identical; for risk
parity it also gives each result's largest relative risk-contribution error
(riskparityportfolio's default stops at about 1e-2, pmcore's at 1e-8; the
erc_rpp_accuracy row runs pmcore to riskparityportfolio's default accuracy). The goals
column states the issue's speed target for N = 500 and whether this run met it.
The machine's load average is printed (and written) with the table: on a shared
machine absolute times are pessimistic, the ratios (same run) are what count.
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_tables as rt  # noqa: E402

# the speed goals at N = 500: (workload, peer) -> pmcore at least this many times faster
GOALS = {
    ("min_variance", "pypfopt"): 5.0,
    ("sector_utility", "pypfopt"): 5.0,
    ("max_sharpe", "skfolio"): 3.0,
    ("frontier_50", "pypfopt"): 10.0,
    ("erc", "riskparityportfolio"): 1.0,
    ("erc", "riskparityportfolio_rc_1e-8"): 1.0,  # the same goal at the accuracy the issue asks of pmcore
    ("erc_rpp_accuracy", "riskparityportfolio"): 1.0,  # pmcore stopped at riskparityportfolio's default accuracy
    ("erc", "riskfolio"): 100.0,
    ("erc", "skfolio"): 100.0,
    ("hrp", "skfolio"): 30.0,
    ("min_cvar", "riskfolio"): 4.0,
    ("min_cvar", "skfolio"): 4.0,
    ("bl_max_sharpe", "skfolio"): 5.0,
}
GOAL_N = 500


def best(fn, budget_s: float = 2.0, max_runs: int = 50) -> tuple[float, object]:
    out = fn()  # warm-up
    times = []
    t_all = time.perf_counter()
    while len(times) < max_runs:
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        if time.perf_counter() - t_all > budget_s:
            break
    return min(times), out


def weights_of(out, n: int):
    try:
        if hasattr(out, "x") and hasattr(out, "assets"):
            return np.asarray(out.x)
        if hasattr(out, "weights_"):
            w = np.asarray(out.weights_)
            return w if w.ndim == 1 else None
        if isinstance(out, dict) or hasattr(out, "values"):
            vals = out.values() if isinstance(out, dict) else out.to_numpy().ravel()
            w = np.asarray(list(vals), dtype=float).ravel()
            return w if w.shape == (n,) else None
        w = np.asarray(out, dtype=float).ravel()
        return w if w.shape == (n,) else None
    except Exception:  # noqa: BLE001 - a report, not a test
        return None


def _rc(workload: str, d: dict, w) -> str:
    """For risk parity: the largest relative risk-contribution error of the weights (the accuracy each ran to)."""
    if not workload.startswith("erc") or w is None:
        return ""
    import optimize_suites as suites

    return f" (RC err {suites.rc_error(d['cov'], w):.0e})"


def _ms(t: float) -> str:
    return f"{t * 1e3:.2f} ms" if t < 1.0 else f"{t:.2f} s"


def _goal(workload: str, impl: str, n: int, ratio: float | None) -> str:
    g = GOALS.get((workload, impl))
    if g is None or n != GOAL_N:
        return ""
    if ratio is None:
        return f">= {g:g}x: not measured"
    return f">= {g:g}x: {'met' if ratio >= g else 'NOT met'}"


def measure(only: set | None) -> list[dict]:
    import optimize_data as od
    import optimize_suites as suites

    rows: list[dict] = []
    print(f"{'workload':<16}{'N':>5}  {'implementation':<22}{'time':>12}{'pmcore faster by':>18}{'max |dw|':>11}"
          f"  goal (N = {GOAL_N})")
    for n in od.sizes():
        d = suites.prepare(n)
        for workload, impls in suites.WORKLOADS.items():
            if only and workload not in only:
                continue
            t_pm, out_pm = best(impls["pmcore"](d))
            w_pm = weights_of(out_pm, n)
            rows.append(dict(workload=workload, n=n, impl="pmcore", time=t_pm, ratio=None, dw=_rc(workload, d, w_pm),
                             goal="", note=""))
            print(f"{workload:<16}{n:>5}  {'pmcore':<22}{_ms(t_pm):>12}{'':>18}{rows[-1]['dw']:>11}")
            for impl, make in impls.items():
                if impl == "pmcore":
                    continue
                row = dict(workload=workload, n=n, impl=impl, time=None, ratio=None, dw="-", goal="", note="")
                if not suites.available(impl):
                    row["note"] = "not installed"
                    row["goal"] = _goal(workload, impl, n, None)
                    rows.append(row)
                    print(f"{'':<16}{n:>5}  {impl:<22}{'not installed':>12}")
                    continue
                try:
                    t, out = best(make(d), budget_s=2.0 if n < 500 else 1.0)
                except Exception as exc:  # noqa: BLE001 - peers fail; say so
                    row["note"] = f"FAILED: {type(exc).__name__}: {str(exc)[:60]}"
                    row["goal"] = _goal(workload, impl, n, None)
                    rows.append(row)
                    print(f"{'':<16}{n:>5}  {impl:<22}{'FAILED':>12}  {type(exc).__name__}: {str(exc)[:60]}")
                    continue
                w = weights_of(out, n)
                if w is not None and w_pm is not None and workload != "frontier_50":
                    row["dw"] = f"{np.max(np.abs(w - w_pm)):.1e}" + _rc(workload, d, w)
                row.update(time=t, ratio=t / t_pm, goal=_goal(workload, impl, n, t / t_pm))
                rows.append(row)
                print(f"{'':<16}{n:>5}  {impl:<22}{_ms(t):>12}{t / t_pm:>17.1f}x {row['dw']:>10}  {row['goal']}")
            sys.stdout.flush()
    return rows


def _cells(r: dict) -> list[str]:
    shown = _ms(r["time"]) if r["time"] is not None else r["note"]
    ratio = "-" if r["impl"] == "pmcore" else (f"{r['ratio']:.1f}x" if r["ratio"] is not None else "-")
    return [r["workload"], str(r["n"]), r["impl"], shown, ratio, r["dw"] or "-", r["goal"] or "-"]


HEAD = ["workload", "N", "implementation", "time", "pmcore faster by", "max abs weight diff", "goal at N = 500"]


def write(rows: list[dict], header: str, *, readme: bool = True) -> None:
    """docs/_generated/optimize.rst and (``readme=True``) the README section between its markers."""
    rt.write("optimize", "report_optimize.py", header, [_cells(r) for r in rows], readme=readme, columns=HEAD,
             align="lrlrrrl", reproduce=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="N = 50 only")
    parser.add_argument("--only", default=None, help="comma-separated workloads")
    rt.add_write_options(parser, "optimize")
    args = parser.parse_args()
    rows, header = run(small=args.small, only=set(args.only.split(",")) if args.only else None)
    if args.write:
        write(rows, header, readme=not args.no_readme)


def run(*, small: bool = False, only: set | None = None) -> tuple[list[dict], str]:
    if not small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    warnings.simplefilter("ignore")
    load0 = os.getloadavg()[0]
    rows = measure(only)
    load1 = os.getloadavg()[0]
    import optimize_data as od

    header = (f"{od.N_OBS:,} daily returns of a 5-factor model in {od.N_SECTORS} sectors, covariance "
              f"precomputed; single-threaded BLAS; {os.cpu_count()} cores; load average "
              f"{load0:.1f} at start, {load1:.1f} at end")
    print(f"\n{header}")
    return rows, header


if __name__ == "__main__":
    main()
