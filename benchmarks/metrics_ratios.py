"""Print the metrics benchmark table: pmcore against its peers at the issue's sizes.

Usage (from the repository root; takes a few minutes, quantstats alone ~1 min)::

    PYTHONPATH=src python benchmarks/metrics_ratios.py [--n-series 2000] [--skip-quantstats]

Every library runs on the same generated 2,520 x N returns and benchmark, in
this one process, warmed up first (so compilation is excluded); each figure is
the best of several interleaved rounds on one thread (so that load from
other processes hits every library alike). Cold start (a fresh process) is
measured in subprocesses, in CPU seconds: with a warm on-disk compile cache,
and with caching off (everything compiles).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics_suites as ms  # noqa: E402


def best_of(func, *args, repeat: int) -> float:
    func(*args)  # warm-up: compile, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def fresh_process(code: str, env_extra: dict[str, str]) -> list[float]:
    env = {**os.environ, **env_extra}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True)
    return [float(v) for v in out.stdout.strip().splitlines()[-1].split()]


FIRST_CALL = """
import time
t0 = time.process_time()
import numpy as np
import pmcore.metrics as pm
import metrics_suites as ms
t1 = time.process_time()
x, b = ms.make_data(2520, 1)
x = x[:, 0].copy()
t2 = time.process_time()
ms.pmcore_suite(x, b)
t3 = time.process_time()
print(t1 - t0, t3 - t2)
"""

COLD = """
import time
t0 = time.process_time()
import metrics_suites as ms
x, b = ms.make_data(300, 3)
ms.pmcore_suite(x, b)
t1 = time.process_time()
ms.exercise_all()
print(t1 - t0, time.process_time() - t0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-obs", type=int, default=2520)
    parser.add_argument("--n-series", type=int, default=2000)
    parser.add_argument("--skip-quantstats", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    x, bench = ms.make_data(args.n_obs, args.n_series)
    df, bench_s = ms.to_frame(x, bench)
    # Interleaved rounds: on a shared machine, load drifts; every library gets
    # timed in every round and keeps its best, so all see the same conditions.
    libs = [("pmcore", "pmcore", ms.pmcore_suite, (x, bench), 5),
            ("vectorbt (Rust engine)", "vectorbt", ms.vectorbt_suite, (df, bench_s, "rust"), 1),
            ("vectorbt (Numba engine)", "vectorbt_numba", ms.vectorbt_suite, (df, bench_s, "numba"), 1),
            ("empyrical-reloaded", "empyrical", ms.empyrical_suite, (x, bench), 1)]
    if not args.skip_quantstats:
        libs.append(("quantstats", "quantstats", ms.quantstats_suite, (df, bench_s), 1))
    ready = []
    for label, name, func, fargs, per_round in libs:
        reason = None if name == "pmcore" else ms.peer_status(name)
        if reason:
            print(f"# {reason}")
            continue
        func(*fargs)  # warm-up: compile, caches
        ready.append([label, name, func, fargs, per_round, np.inf])
    for round_ in range(args.rounds):
        for entry in ready:
            label, name, func, fargs, per_round, best = entry
            if name == "quantstats" and round_ > 0:
                continue  # a minute a run: once is enough next to a 200x gap
            for _ in range(per_round):
                start = time.perf_counter()
                func(*fargs)
                entry[5] = min(entry[5], time.perf_counter() - start)
    rows = [(e[0], e[5]) for e in ready]
    pm_time = rows[0][1]
    numpy_pass = best_of(lambda: x.sum(axis=0), repeat=20)

    print(f"\nmetrics suite, {args.n_obs} x {args.n_series} daily returns, one thread")
    print(f"{'library':<26}{'time':>12}{'pmcore faster by':>20}")
    for label, t in rows:
        print(f"{label:<26}{t * 1e3:>10.1f} ms{t / pm_time:>19.1f}x")
    print(f"{'(one numpy pass, x.sum)':<26}{numpy_pass * 1e3:>10.1f} ms")

    import pmcore.metrics as pm

    roll_pm = best_of(pm.rolling_sharpe, x, ms.WINDOW, repeat=10)
    print(f"\nrolling Sharpe ({ms.WINDOW}), pmcore: {roll_pm * 1e3:.1f} ms", end="")
    if ms.peer_status("vectorbt") is None:
        roll_vbt = best_of(ms.vectorbt_rolling_sharpe, df, "rust", repeat=3)
        print(f"; vectorbt (Rust): {roll_vbt * 1e3:.1f} ms ({roll_vbt / roll_pm:.1f}x)")
    else:
        print()

    one = np.ascontiguousarray(x[:, 0])
    one_pm = best_of(ms.pmcore_suite, one, bench, repeat=200)
    line = f"one series of {args.n_obs}, whole suite: pmcore {one_pm * 1e3:.3f} ms"
    if ms.peer_status("empyrical") is None:
        one_ep = best_of(ms.empyrical_suite, one[:, None], bench, repeat=50)
        line += f", empyrical {one_ep * 1e3:.3f} ms ({one_ep / one_pm:.1f}x)"
    print(line)

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])
    fresh_process(COLD, {"PYTHONPATH": path})  # make sure the disk cache is warm
    imports, first = min(fresh_process(FIRST_CALL, {"PYTHONPATH": path}) for _ in range(3))
    suite_cold, all_cold = fresh_process(COLD, {"PYTHONPATH": path, "PMCORE_NUMBA_CACHE": "0"})
    print("CPU seconds (robust to a busy machine):")
    print(f"  fresh process, warm compile cache: import numpy + pmcore.metrics {imports:.3f} s, "
          f"then the first suite call (loads the cached kernels) {first:.3f} s")
    print(f"  cold compilation (cache off): the suite's kernels {suite_cold:.1f} s; every public "
          f"function on series, C- and F-ordered matrices {all_cold:.1f} s")


if __name__ == "__main__":
    main()
