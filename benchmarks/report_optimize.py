"""Print the optimization ratio table (pmcore vs peers) at the issue's sizes.

    python benchmarks/report_optimize.py            # N = 50, 200, 500
    python benchmarks/report_optimize.py --small    # N = 50 only

Single-threaded BLAS for every library (set before numpy loads). Times are the
best of several runs after a warm-up (Numba compilation excluded); peers slower
than a second are timed once after their warm-up. The "same answer" column is
the largest weight difference against pmcore where the problems are identical.
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


def best(fn, budget_s: float = 2.0, max_runs: int = 7) -> tuple[float, object]:
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


def weights_of(impl: str, out, n: int):
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--only", default=None, help="comma-separated workloads")
    args = parser.parse_args()
    if not args.small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    warnings.simplefilter("ignore")
    import optimize_data as od
    import optimize_suites as suites

    only = set(args.only.split(",")) if args.only else None
    print(f"{'workload':<16}{'N':>5}  {'implementation':<22}{'time':>12}{'pmcore faster by':>18}{'max |dw|':>11}")
    for n in od.sizes():
        d = suites.prepare(n)
        for workload, impls in suites.WORKLOADS.items():
            if only and workload not in only:
                continue
            t_pm, out_pm = best(impls["pmcore"](d))
            w_pm = weights_of("pmcore", out_pm, n)
            print(f"{workload:<16}{n:>5}  {'pmcore':<22}{t_pm * 1e3:>10.2f}ms")
            for impl, make in impls.items():
                if impl == "pmcore":
                    continue
                if not suites.available(impl):
                    print(f"{'':<16}{n:>5}  {impl:<22}{'not installed':>12}")
                    continue
                try:
                    t, out = best(make(d), budget_s=2.0 if n < 500 else 1.0, max_runs=5)
                except Exception as exc:  # noqa: BLE001 - peers fail; say so
                    print(f"{'':<16}{n:>5}  {impl:<22}{'FAILED':>12}  {type(exc).__name__}: {str(exc)[:60]}")
                    continue
                w = weights_of(impl, out, n)
                dw = f"{np.max(np.abs(w - w_pm)):.1e}" if (w is not None and w_pm is not None
                                                           and workload != "frontier_50") else "-"
                print(f"{'':<16}{n:>5}  {impl:<22}{t * 1e3:>10.2f}ms{t / t_pm:>17.1f}x{dw:>11}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
