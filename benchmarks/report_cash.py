"""Print the cash ratio table (pmcore vs polars and pandas) at the issue's sizes, and latencies.

    python benchmarks/report_cash.py            # 10,000,000 lines (pandas Decimal at 1,000,000)
    python benchmarks/report_cash.py --small    # quick check

Times are the best of several runs after a warm-up (compile time excluded), one
process, the same data for every implementation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def best(fn, *args, repeat: int = 3) -> float:
    fn(*args)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def latency(fn, n: int = 20000) -> tuple[float, float]:
    for _ in range(1000):
        fn()
    samples = np.empty(n)
    for i in range(n):
        t = time.perf_counter_ns()
        fn()
        samples[i] = time.perf_counter_ns() - t
    return float(np.median(samples)) / 1000, float(np.percentile(samples, 99)) / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    if not args.small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    import cash_data as cd
    import polars as pl

    size = cd.sizes()
    rows = []
    big = cd.make_ledger(size["balances"], size["portfolios"])
    pm = best(cd.run_pmcore_balances, big)
    frame = cd.to_polars(big)
    cd.check_same(cd.run_pmcore_balances(big), cd.run_polars_balances(frame))
    polars_t = best(cd.run_polars_balances, frame)
    rows.append((f"balances, {big.num_rows:,} lines", "polars (Decimal)", pm, polars_t))
    del frame, big
    peer = cd.make_ledger(size["balances_decimal_peers"], size["portfolios"])
    pm = best(cd.run_pmcore_balances, peer)
    rows.append((f"balances, {peer.num_rows:,} lines", "polars (Decimal)", pm,
                 best(cd.run_polars_balances, cd.to_polars(peer))))
    rows.append((f"balances, {peer.num_rows:,} lines", "pandas (Decimal objects)", pm,
                 best(cd.run_pandas_balances, cd.to_pandas_decimal(peer), repeat=2)))
    rows.append((f"balances, {peer.num_rows:,} lines", "pandas (float64, inexact)", pm,
                 best(cd.run_pandas_balances, cd.to_pandas_float(peer))))
    del peer
    lines, statement = cd.make_recon(size["recon"])
    pm = best(cd.run_pmcore_recon, lines, statement)
    rows.append((f"reconciliation, {lines.num_rows:,} lines", "polars (join, Decimal)", pm,
                 best(cd.run_polars_recon, pl.from_arrow(lines), pl.from_arrow(statement))))
    rows.append((f"reconciliation, {lines.num_rows:,} lines", "pandas (merge, Decimal)", pm,
                 best(cd.run_pandas_recon, lines.to_pandas(), statement.to_pandas(), repeat=2)))
    print(f"{'workload':<36} {'peer':<28} {'pmcore s':>9} {'peer s':>9} {'speed-up':>9}")
    for work, peer_name, a, b in rows:
        print(f"{work:<36} {peer_name:<28} {a:9.3f} {b:9.3f} {b / a:8.1f}x")
    led = cd.new_ledger()
    c = iter(range(10**9))
    med, p99 = latency(lambda: led.deposit(f"P{next(c) % 100}", "USD", "125.50", trade_date="2026-11-20"))
    print(f"\nsingle deposit from Python:    median {med:6.1f} us, p99 {p99:6.1f} us")
    led = cd.new_ledger()
    med, p99 = latency(lambda: led.withdraw(f"P{next(c) % 100}", "USD", "0.01", trade_date="2026-11-20"))
    print(f"single withdrawal from Python: median {med:6.1f} us, p99 {p99:6.1f} us")


if __name__ == "__main__":
    main()
