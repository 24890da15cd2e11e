"""Print the cash figures (issue 9) beside polars and pandas, with the targets.

    python benchmarks/report_cash.py            # 10,000,000 ledger lines, 1,000,000 reconciled
    python benchmarks/report_cash.py --small    # quick check
    python benchmarks/report_cash.py --write    # also docs/_generated/cash.rst and the README
                                                # section between <!-- bench:cash --> markers
    python benchmarks/report_cash.py --write --no-readme   # the docs table only

Times are the best of several runs after a warm-up (compile time excluded), one
process, the same data for every implementation, the implementations taking
turns so that they share whatever else runs on the machine. pmcore's kernels
run on one thread; polars uses every core. CPU times of this process are
printed for pmcore: they do not count time spent waiting for a core, so on a
loaded machine they are the steadier one-core figure. Latencies are
percentiles over many calls, pmcore and the peer taking turns call by call.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_tables as rt  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    rt.add_write_options(parser, "cash")
    args = parser.parse_args()
    if not args.small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    import cash_data as cd
    import polars as pl

    load = rt.load_average()
    size = cd.sizes()
    table = []

    big = cd.make_ledger(size["balances"], size["portfolios"])
    n_big = big.num_rows
    frame = cd.to_polars(big)
    units = cd.to_pandas_units(big)
    cd.check_same(cd.run_pmcore_balances(big), frame.group_by(cd.KEYS).agg(pl.col("amount").sum()))
    t = rt.interleaved({
        "pm": (cd.run_pmcore_balances, lambda k: (big,)),
        "pl": (cd.run_polars_balances, lambda k: (frame,)),
        "pd": (cd.run_pandas_units_balances, lambda k: (units,)),
    }, repeat=3)
    c_pm = rt.interleaved({"pm": (cd.run_pmcore_balances, lambda k: (big,))}, repeat=3,
                          clock=time.process_time)["pm"]
    table += [
        (f"balances per (portfolio, strategy, currency, status), {n_big:,} lines: cash_balances",
         rt.shown(t["pm"]), "target: under 1 s on one core"),
        ("  same, CPU time of pmcore (one thread)", rt.shown(c_pm), "target: under 1 s"),
        ("  polars group-by, exact Decimal sum (all cores)", rt.shown(t["pl"]),
         rt.faster("", t["pm"], t["pl"]) + " (target: faster)"),
        ("  pandas group-by, exact int64 fixed-point units", rt.shown(t["pd"]),
         rt.faster("", t["pm"], t["pd"]) + " (target: faster)"),
    ]
    del frame, units, big

    peer = cd.make_ledger(size["balances_decimal_peers"], size["portfolios"])
    dec = cd.to_pandas_decimal(peer)
    flt = cd.to_pandas_float(peer)
    t = rt.interleaved({
        "pm": (cd.run_pmcore_balances, lambda k: (peer,)),
        "dec": (cd.run_pandas_balances, lambda k: (dec,)),
        "flt": (cd.run_pandas_balances, lambda k: (flt,)),
    }, repeat=2)
    table += [
        (f"balances, {peer.num_rows:,} lines: cash_balances", rt.shown(t["pm"]), "-"),
        ("  pandas group-by over Python Decimal objects (exact)", rt.shown(t["dec"]),
         rt.faster("", t["pm"], t["dec"])),
        ("  pandas group-by over float64 (inexact, for scale)", rt.shown(t["flt"]),
         rt.faster("", t["pm"], t["flt"])),
    ]
    del peer, dec, flt

    lines, statement = cd.make_recon(size["recon"])
    lines_pl, statement_pl = pl.from_arrow(lines), pl.from_arrow(statement)
    lines_pd, statement_pd = lines.to_pandas(), statement.to_pandas()
    t = rt.interleaved({
        "pm": (cd.run_pmcore_recon, lambda k: (lines, statement)),
        "pl": (cd.run_polars_recon, lambda k: (lines_pl, statement_pl)),
        "pd": (cd.run_pandas_recon, lambda k: (lines_pd, statement_pd)),
    }, repeat=3)
    c_pm = rt.interleaved({"pm": (cd.run_pmcore_recon, lambda k: (lines, statement))}, repeat=3,
                          clock=time.process_time)["pm"]
    table += [
        (f"reconciliation of {lines.num_rows:,} ledger lines against a statement: reconcile",
         rt.shown(t["pm"]), "target: under 1 s"),
        ("  same, CPU time of pmcore (one thread)", rt.shown(c_pm), "target: under 1 s"),
        ("  polars full join + status, exact Decimal (all cores)", rt.shown(t["pl"]),
         rt.faster("", t["pm"], t["pl"])),
        ("  pandas outer merge + status, exact Decimal", rt.shown(t["pd"]),
         rt.faster("", t["pm"], t["pd"])),
    ]
    del lines, statement, lines_pl, statement_pl, lines_pd, statement_pd

    n = 20_000 if not args.small else 2_000
    led, ref = cd.new_ledger(), cd.new_peer_ledger()
    lat = rt.latencies({
        "pm": lambda k: led.deposit(f"P{k % 100}", "USD", "125.50", trade_date="2026-11-20"),
        "peer": lambda k: ref.deposit(f"P{k % 100}", "USD", "125.50", "2026-11-20"),
    }, n=n)
    led, ref = cd.new_ledger(), cd.new_peer_ledger()
    lat_w = rt.latencies({
        "pm": lambda k: led.withdraw(f"P{k % 100}", "USD", "0.01", trade_date="2026-11-20"),
        "peer": lambda k: ref.withdraw(f"P{k % 100}", "USD", "0.01", "2026-11-20"),
    }, n=n)
    for what, d in (("deposit", lat), ("withdrawal", lat_w)):
        (p50, p99), (q50, q99) = d["pm"], d["peer"]
        table += [
            (f"one {what} validated and recorded from Python: Ledger (p50 / p99)",
             f"{p50 * 1e6:.1f} / {p99 * 1e6:.1f} us", "target: p99 under 100 us"),
            (f"  hand-written Decimal + dict {what} (p50 / p99)", f"{q50 * 1e6:.1f} / {q99 * 1e6:.1f} us",
             rt.faster("p99", p99, q99)),
        ]

    header = (f"ledger of {n_big:,} lines over {size['portfolios']:,} portfolios x 4 strategies x 5 "
              f"currencies, amounts decimal128(38, 8); {os.cpu_count()} cores, load average {load:.1f} "
              "at the start")
    rt.publish(args, "cash", "report_cash.py", "Cash benchmarks", header, table)


if __name__ == "__main__":
    main()
