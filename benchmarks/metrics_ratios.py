"""Metrics benchmark table: pmcore beside its peers at the issue's sizes, with the goals.

Usage (from the repository root; takes a few minutes)::

    python benchmarks/metrics_ratios.py                  # 2,520 x 2,000, prints the table
    python benchmarks/metrics_ratios.py --write          # also docs/_generated/metrics.rst + README
    python benchmarks/metrics_ratios.py --write --no-readme   # the docs table only
    python benchmarks/metrics_ratios.py --n-series 200   # quicker

Every library runs on the same generated 2,520 x N daily returns and
benchmark, in this one process, warmed up first (compilation excluded), on
one thread (``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS`` are set to 1 before numpy loads). The libraries
are timed in interleaved rounds and each keeps its best, so load from other
processes hits all of them alike. Each call is timed twice: CPU seconds of
this process (``time.process_time``, robust to a busy machine; the ratios
use it) and wall seconds.

quantstats takes about a minute per run at N = 2,000, so it is timed on the
first ``--quantstats-series`` series (200 by default), beside pmcore on the
same 200, and its ratio is for that size; the table says so.

Cold start is measured in fresh processes, in CPU seconds: with a warm
on-disk compile cache (import and the first suite call on one series), and
with caching off (``PMCORE_NUMBA_CACHE=0``: every kernel compiles).

With ``--write`` the table goes to ``docs/_generated/metrics.rst`` (included
by ``docs/benchmarks.rst``) and to the README between the
``<!-- bench:metrics -->`` and ``<!-- /bench:metrics -->`` markers (left
alone if the markers are missing).
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # not when pytest imports this file: numba may have started its threads
    for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import metrics_suites as ms  # noqa: E402
import report_tables as rt  # noqa: E402

COLUMNS = ("workload", "CPU time", "ratio", "goal (issue 5)")
MD_COLUMNS = ("workload", "CPU time", "ratio", "goal")


class Timer:
    """Best CPU and wall seconds per call of ``func(*args)``, ``batch`` calls at a time."""

    def __init__(self, func, args, batch: int = 1):
        self.func, self.args, self.batch = func, args, batch
        self.cpu = self.wall = np.inf
        func(*args)  # warm-up: compilation, caches

    def run(self) -> None:
        func, args = self.func, self.args
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(self.batch):
            func(*args)
        c1, w1 = time.process_time(), time.perf_counter()
        self.cpu = min(self.cpu, (c1 - c0) / self.batch)
        self.wall = min(self.wall, (w1 - w0) / self.batch)


def interleave(timers: dict[str, Timer], rounds: int, once: tuple[str, ...] = ()) -> None:
    """Time every timer in every round (those in ``once`` in the first round only)."""
    for round_ in range(rounds):
        for name, timer in timers.items():
            if round_ == 0 or name not in once:
                timer.run()


def fresh_process(code: str, env_extra: dict[str, str]) -> list[float]:
    env = {**os.environ, **env_extra}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True)
    return [float(v) for v in out.stdout.strip().splitlines()[-1].split()]


FIRST_CALL = """
import time
c0, w0 = time.process_time(), time.perf_counter()
import numpy as np
import pmcore.metrics as pm
import metrics_suites as ms
c1 = time.process_time()
x, b = ms.make_data(2520, 1)
x = x[:, 0].copy()
c2 = time.process_time()
ms.pmcore_suite(x, b)
c3, w3 = time.process_time(), time.perf_counter()
print(c1 - c0, c3 - c2, (c1 - c0) + (c3 - c2), w3 - w0)
"""

COLD = """
import time
t0 = time.process_time()
import metrics_suites as ms
x, b = ms.make_data(300, 3)
ms.pmcore_suite(x, b)
t1 = time.process_time()
ms.exercise_all(fortran=False)
t2 = time.process_time()
ms.exercise_all(fortran=True)
print(t1 - t0, t2 - t0, time.process_time() - t0)
"""


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def measure(args) -> tuple[str, list[tuple[str, str, str, str]]]:
    x, bench = ms.make_data(args.n_obs, args.n_series)
    df, bench_s = ms.to_frame(x, bench)
    n_qs = min(args.quantstats_series, args.n_series)
    x_qs = np.ascontiguousarray(x[:, :n_qs])
    df_qs = df.iloc[:, :n_qs]
    one = np.ascontiguousarray(x[:, 0])
    load_before = os.getloadavg()

    import pmcore.metrics as pm

    peers = {name: ms.peer_status(name) for name in ("vectorbt", "vectorbt_numba", "empyrical", "quantstats")}
    for name, reason in peers.items():
        if reason:
            print(f"# skipped: {reason}")
    if args.skip_quantstats:
        peers["quantstats"] = "skipped (--skip-quantstats)"
    ok = {name for name, reason in peers.items() if reason is None}

    # suite over the matrix, and the 63-day rolling Sharpe on its own
    t: dict[str, Timer] = {"pmcore": Timer(ms.pmcore_suite, (x, bench), batch=3)}
    if "vectorbt" in ok:
        t["vectorbt"] = Timer(ms.vectorbt_suite, (df, bench_s, "rust"))
    if "vectorbt_numba" in ok:
        t["vectorbt_numba"] = Timer(ms.vectorbt_suite, (df, bench_s, "numba"))
    if "empyrical" in ok:
        t["empyrical"] = Timer(ms.empyrical_suite, (x, bench))
    if "quantstats" in ok:
        t["pmcore_qs"] = Timer(ms.pmcore_suite, (x_qs, bench), batch=5)
        t["quantstats"] = Timer(ms.quantstats_suite, (df_qs, bench_s))
    t["roll_pmcore"] = Timer(pm.rolling_sharpe, (x, ms.WINDOW), batch=3)
    if "vectorbt" in ok:
        t["roll_vectorbt"] = Timer(ms.vectorbt_rolling_sharpe, (df, "rust"))
    # one series, called from Python
    t["one_pmcore"] = Timer(ms.pmcore_suite, (one, bench), batch=200)
    if "empyrical" in ok:
        t["one_empyrical"] = Timer(ms.empyrical_suite, (one[:, None], bench), batch=20)
    # O(n_obs) rolling windows: the time must not grow with the window
    windows = (21, 63, 252, 1260)
    for w in windows:
        t[f"win_sharpe_{w}"] = Timer(pm.rolling_sharpe, (x, w), batch=2)
        t[f"win_mdd_{w}"] = Timer(pm.rolling_max_drawdown, (x, w), batch=2)
    interleave(t, args.rounds, once=("quantstats", "vectorbt_numba", "empyrical"))
    load_after = os.getloadavg()

    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    fresh_process(COLD, {"PYTHONPATH": path})  # make sure the disk cache is warm
    first = min((fresh_process(FIRST_CALL, {"PYTHONPATH": path}) for _ in range(3)), key=lambda r: r[2])
    cold = fresh_process(COLD, {"PYTHONPATH": path, "PMCORE_NUMBA_CACHE": "0"})

    def met(ok_: bool) -> str:
        return "met" if ok_ else "**not met**"

    pm_cpu = t["pmcore"].cpu
    rows: list[tuple[str, str, str, str]] = []
    size = f"{args.n_obs:,} x {args.n_series:,}"
    rows.append((f"pmcore, whole suite, {size}", f"{fmt(pm_cpu)} ({fmt(t['pmcore'].wall)} wall)",
                 "1.0 (reference)", f"< 100 ms: {met(pm_cpu < 0.1)}" if args.n_series == 2000 else "-"))
    goals = {"vectorbt": 15.0, "empyrical": 40.0}
    labels = {"vectorbt": "vectorbt 1.2, Rust engine", "vectorbt_numba": "vectorbt 1.2, Numba engine",
              "empyrical": "empyrical-reloaded 0.7"}
    for name in ("vectorbt", "vectorbt_numba", "empyrical"):
        if name in t:
            ratio = t[name].cpu / pm_cpu
            goal = f">= {goals[name]:.0f}x: {met(ratio >= goals[name])}" if name in goals else "-"
            rows.append((f"{labels[name]}, same suite", fmt(t[name].cpu), f"pmcore {ratio:.1f}x faster", goal))
        else:
            rows.append((f"{labels[name]}, same suite", "-", peers[name] or "-", "-"))
    if "quantstats" in t:
        ratio = t["quantstats"].cpu / t["pmcore_qs"].cpu
        rows.append((f"quantstats 0.0.86, same suite on the first {n_qs:,} series only "
                     f"(pmcore on the same: {fmt(t['pmcore_qs'].cpu)})", fmt(t["quantstats"].cpu),
                     f"pmcore {ratio:.0f}x faster", "-"))
    roll = t["roll_pmcore"].cpu
    rows.append((f"rolling Sharpe ({ms.WINDOW} days) alone, pmcore, {size}", fmt(roll), "-", "-"))
    if "roll_vectorbt" in t:
        rows.append(("same, vectorbt Rust engine", fmt(t["roll_vectorbt"].cpu),
                     f"pmcore {t['roll_vectorbt'].cpu / roll:.1f}x faster", "-"))
    for kind, label in (("sharpe", "rolling Sharpe"), ("mdd", "rolling max drawdown")):
        times = [t[f"win_{kind}_{w}"].cpu for w in windows]
        spread = ", ".join(f"{w}: {fmt(v)}" for w, v in zip(windows, times))
        worst = max(times) / min(times)
        rows.append((f"{label}, pmcore, by window ({spread})", fmt(times[0]),
                     f"slowest / fastest window: {worst:.2f}x (window x{windows[-1] // windows[0]})",
                     f"O(n_obs), not O(n_obs x window): {met(worst < 2.0)}"))
    one_pm = t["one_pmcore"].cpu
    one_row = (f"one series of {args.n_obs:,}, whole suite from Python, pmcore", fmt(one_pm), "-",
               f"< 0.2 ms: {met(one_pm < 2e-4)}")
    rows.append(one_row)
    if "one_empyrical" in t:
        rows.append(("same, empyrical-reloaded", fmt(t["one_empyrical"].cpu),
                     f"pmcore {t['one_empyrical'].cpu / one_pm:.1f}x faster", "-"))
    rows.append(("fresh process, warm compile cache: import numpy + pmcore.metrics (numba "
                 "itself is most of it)", fmt(first[0]), "-", "-"))
    rows.append(("then the first suite call on one series (loads the cached kernels; numba "
                 f"initializes its target on the first one); import + call {fmt(first[2])} "
                 f"({fmt(first[3])} wall)", fmt(first[1]), "-", f"< 0.3 s: {met(first[1] < 0.3)}"))
    rows.append((f"cold compilation, cache off: the suite's kernels {fmt(cold[0])}; every public "
                 f"function on a series and a C-ordered matrix {fmt(cold[1])}; the same plus an "
                 "F-ordered matrix (frames are made C-ordered at the boundary, so nothing compiles twice)",
                 fmt(cold[2]), "-", f"< 10 s: {met(cold[2] < 10.0)}"))
    rows.append(("one numpy pass over the matrix (x.sum(axis=0))", fmt(_numpy_pass(x)), "-", "-"))
    header = (f"{size} daily returns and a benchmark; one thread; {os.cpu_count()} cores; "
              f"CPU seconds of the process, best of {args.rounds} interleaved rounds; load average "
              f"{load_before[0]:.1f} before, {load_after[0]:.1f} after")
    return header, rows


def _numpy_pass(x) -> float:
    timer = Timer(lambda: x.sum(axis=0), (), batch=5)
    for _ in range(5):
        timer.run()
    return timer.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-obs", type=int, default=2520)
    parser.add_argument("--n-series", type=int, default=2000)
    parser.add_argument("--quantstats-series", type=int, default=200)
    parser.add_argument("--skip-quantstats", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    rt.add_write_options(parser, "metrics")
    args = parser.parse_args()
    header, rows = measure(args)
    rt.publish(args, "metrics", "metrics_ratios.py", "Metrics benchmarks", header, rows, columns=COLUMNS,
               md_columns=MD_COLUMNS, align="lrll", widths=(50, 14, 18, 18), reproduce=False)


if __name__ == "__main__":
    main()
