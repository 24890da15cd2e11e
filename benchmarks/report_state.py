"""Print the state-engine figures (issue 3) beside the peers, with the targets.

    python benchmarks/report_state.py            # 10,000 portfolios x 100 instruments (a few minutes)
    python benchmarks/report_state.py --small    # quick check
    python benchmarks/report_state.py --write    # also docs/_generated/state.rst and the README
                                                 # section between <!-- bench:state --> markers
    python benchmarks/report_state.py --write --no-readme   # the docs table only

The issue names no peer library; the peers are what a user would write
instead (``benchmarks/state_data.py``): a plain Python dict-of-positions loop
with the same average-cost rules (and, for the durable figures, the batch
appended to an Arrow IPC file and fsynced), and a pandas group-by update that
nets the fills of a position per batch (less work: no per-fill rejections or
intra-batch realized PnL). Everything runs in one process on the same fills,
the implementations taking turns so that they share whatever else runs on the
machine. Fills/s are the best run after a warm-up (compile time excluded);
pmcore's kernels use one thread, and its CPU-time rate (this process) does not
count time spent waiting for a core. Latencies are percentiles over many calls,
pmcore and the peer taking turns call by call.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_tables as rt  # noqa: E402


def fresh(fills: pa.Table, k: int) -> pa.Table:
    """The same fills with new ids; odd calls reverse the quantities so positions do not drift."""
    ids = np.arange(fills.num_rows, dtype=np.int64) + k * 10 * fills.num_rows
    out = fills.set_column(0, "fill_id", pa.array(ids))
    if k % 2:
        q = out.column("quantity").to_numpy()
        out = out.set_column(out.column_names.index("quantity"), "quantity", pa.array(-q))
    return out


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds / 1e6:.2f} M fills/s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    rt.add_write_options(parser, "state")
    args = parser.parse_args()
    if not args.small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    import state_data as sd

    from pmcore.state import PortfolioState

    load = rt.load_average()
    size = sd.sizes()
    n_p, n_i, n_f = size["n_portfolios"], size["n_instruments"], size["n_fills"]
    book, prices, fx = sd.make_book(n_p, n_i)
    fills = sd.make_fills(book, n_f)
    table = []

    # ------------------------------------------------------------------ memory
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    state = PortfolioState(book, prices, fx)
    rss_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1e3
    pd_mb = sd.pandas_positions(book).memory_usage(deep=True).sum() / 1e6
    mb = state.memory_bytes() / 1e6
    table += [
        (f"memory of the state, {book.n_positions:,} positions (arrays, capacity included)", f"{mb:.1f} MB",
         "target: under 200 MB"),
        ("  peak RSS growth while building it", f"{rss_mb:.0f} MB", "-"),
        ("  pandas frame of the same positions (quantity, avg_price, string index)", f"{pd_mb:.1f} MB",
         f"pmcore {pd_mb / mb:.1f}x smaller" if mb < pd_mb else f"pandas {mb / pd_mb:.1f}x smaller"),
    ]

    # ------------------------------------------------------------------ batched fills in memory
    peer = sd.PythonDictBook(book)
    positions = sd.pandas_positions(book)
    frames = {}

    def pm_args(k):
        return (fresh(fills, k),)

    def py_args(k):
        return (sd.python_rows(fresh(fills, k)),)

    def pd_args(k):
        if k not in frames:
            frames.clear()
            frames[k] = fresh(fills, k).to_pandas()
        return (positions, frames[k])

    t = rt.interleaved({
        "pm": (lambda f: state.apply_fills(f, report=False), pm_args),
        "pm_report": (lambda f: state.apply_fills(f), lambda k: pm_args(100 + k)),
        "py": (peer.apply, py_args),
        "pd": (sd.pandas_apply, pd_args),
    }, repeat=3)
    c = rt.interleaved({"pm": (lambda f: state.apply_fills(f, report=False), lambda k: pm_args(200 + k))},
                       repeat=3, clock=time.process_time)["pm"]
    # steady state: batches back to back, as a service applies them (no peer in between to evict caches)
    w = rt.interleaved({"pm": (lambda f: state.apply_fills(f, report=False), lambda k: pm_args(300 + k))},
                       repeat=3)["pm"]
    table += [
        (f"batched fills in memory, batches of {n_f:,} (validated, atomic): apply_fills(report=False)",
         rate(n_f, t["pm"]), "target: at least 5 M fills/s on one core"),
        ("  same, CPU time of pmcore (one thread)", rate(n_f, c), "target: at least 5 M fills/s"),
        ("  same, wall time, batches back to back (steady state, no peer in between)", rate(n_f, w),
         "target: at least 5 M fills/s on one core"),
        ("  same with the impact report (portfolios, positions, exposure changes)", rate(n_f, t["pm_report"]),
         "-"),
        ("  Python dict-of-positions loop, same rules", rate(n_f, t["py"]), rt.faster("", t["pm"], t["py"])),
        ("  pandas group-by per batch (nets fills: less work)", rate(n_f, t["pd"]), rt.faster("", t["pm"], t["pd"])),
    ]
    del frames

    # ------------------------------------------------------------------ durable journal
    batches = (100_000, 10_000) if not args.small else (1_000,)
    with tempfile.TemporaryDirectory() as d:
        for batch in batches:
            small = fills.slice(0, batch)
            rounds = max(5, min(100, 1_000_000 // batch))
            durable = PortfolioState(book, prices, fx, path=Path(d) / f"group-{batch}", durability="group")
            fsynced = PortfolioState(book, prices, fx, path=Path(d) / f"fsync-{batch}", durability="fsync")
            dpeer = sd.DurablePythonDictBook(book, Path(d) / f"peer-{batch}.arrow")
            pre = [fresh(small, k) for k in range(rounds + 1)]
            rows = [sd.python_rows(f) for f in pre]
            t = rt.interleaved({
                "group": (lambda f: durable.apply_fills(f, report=False), lambda k: (pre[k],)),
                "fsync": (lambda f: fsynced.apply_fills(f, report=False), lambda k: (pre[k],)),
                "peer": (dpeer.apply_durable, lambda k: (pre[k], rows[k])),
            }, repeat=rounds)
            durable.close()
            fsynced.close()
            dpeer.close()
            table += [
                (f"durable batched fills, group commit, batches of {batch:,} (acknowledged when synced)",
                 rate(batch, t["group"]), "target: at least 1 M fills/s"),
                ("  same, fsync per batch", rate(batch, t["fsync"]), "-"),
                ("  Python dict loop + Arrow IPC append + fsync per batch", rate(batch, t["peer"]),
                 rt.faster("", t["group"], t["peer"])),
            ]

    # ------------------------------------------------------------------ one fill with its impact
    pid = book.portfolio_ids[1].as_py()
    iid = book.instrument_ids[3].as_py()
    base = 10**12
    n = 50_000 if not args.small else 5_000
    one = sd.PythonDictBook(book)
    lat = rt.latencies({
        "pm": lambda k: state.apply_fill(base + k, pid, iid, 1.0 if k % 2 else -1.0, 100.0, timestamp=1),
        "py": lambda k: one.apply([(base + k, pid, iid, 1.0 if k % 2 else -1.0, 100.0, 0.0)]),
    }, n=n)
    (p50, p99), (q50, q99) = lat["pm"], lat["py"]
    table += [
        ("one fill from Python with its impact report, in memory: apply_fill (p50 / p99)",
         f"{p50 * 1e6:.1f} / {p99 * 1e6:.1f} us", "target: p99 under 50 us"),
        ("  Python dict loop, one fill, no impact report (p50 / p99)", f"{q50 * 1e6:.1f} / {q99 * 1e6:.1f} us",
         rt.faster("p99", p99, q99)),
    ]
    with tempfile.TemporaryDirectory() as d:
        for durability in ("group", "fsync"):
            s = PortfolioState(book, prices, fx, path=Path(d) / durability, durability=durability)
            (a50, a99), = rt.latencies({"pm": lambda k: s.apply_fill(k, pid, iid, 1.0 if k % 2 else -1.0, 100.0,
                                                                      timestamp=1)},
                                       n=2_000 if not args.small else 200, warmup=50).values()
            s.close()
            table.append((f"  same, acknowledged after the {durability} journal sync (p50 / p99)",
                          f"{a50 * 1e6:.1f} / {a99 * 1e6:.1f} us", "bound by the disk's sync latency"))

    header = (f"{n_p:,} portfolios x {n_i} instruments = {book.n_positions:,} positions (half margin "
              f"accounts), batches of {n_f:,} random fills; {os.cpu_count()} cores, load average {load:.1f} "
              "at the start")
    rt.publish(args, "state", "report_state.py", "State engine benchmarks", header, table)


if __name__ == "__main__":
    main()
