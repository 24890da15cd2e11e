"""Print the attribution speed table: pmcore beside vectorised pandas, one core.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/attribution_ratios.py          # issue-7 sizes
    PYTHONPATH=src python benchmarks/attribution_ratios.py --small  # quick check
    PYTHONPATH=src python benchmarks/attribution_ratios.py --write  # also docs/_generated/attribution.rst
                                                                    # and README <!-- bench:attribution -->
    PYTHONPATH=src python benchmarks/attribution_ratios.py --write --no-readme  # the docs table only

Both implementations run Brinson-Fachler with Carino linking on the same
generated data in the same process, pinned to one CPU, taking turns (so that
they share whatever else runs on the machine); pmcore's compile time is
excluded by a warm-up call; each figure is the best of ``--repeat`` runs
(pandas: best of 2), in wall-clock time and, since the machine may be
shared, also in process CPU time (both implementations are single-threaded,
so CPU time is the time on one core without waiting for it). The linked
effects of the two are checked to agree.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def interleaved(pm, pd, repeat, repeat_pd=2):
    """Best wall and CPU time of each, the two taking turns; returns the last outputs too."""
    times = {"pm": [], "pd": []}
    outs = {}
    for r in range(repeat):
        for name, fn in (("pm", pm), ("pd", pd)):
            if name == "pd" and r >= repeat_pd:
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
    parser.add_argument("--write", action="store_true",
                        help="also write docs/_generated/attribution.rst and the README section "
                             "between <!-- bench:attribution --> markers (if present)")
    parser.add_argument("--no-readme", action="store_true",
                        help="with --write: the docs table only, README.md untouched")
    args = parser.parse_args(argv)
    if not args.small:
        os.environ["PMCORE_BENCH_FULL"] = "1"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import numpy as np

    import attribution_data as data
    from pmcore.attribution import brinson

    cases = [
        ("group level", data.group_level, data.GROUP_LEVEL),
        ("security level", data.security_level, data.SECURITY_LEVEL),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f} at the start; {os.cpu_count()} cores, this process pinned to one\n")
    print(f"{'case':<16} {'sizes':<24} {'rows':>11} {'pmcore s':>9} {'pandas s':>9} {'ratio':>6}"
          f" {'cpu: pmcore':>12} {'pandas':>7} {'ratio':>6}")
    rows = []
    for name, make, size in cases:
        table = make(**size)
        warm = {k: (v if k in ("n_groups", "n_securities") else 2) for k, v in size.items()}
        brinson(make(**warm), by="sector", linking="carino")
        df = table.to_pandas()
        best, outs = interleaved(lambda: brinson(table, by="sector", linking="carino"),
                                 lambda: data.pandas_brinson_fachler_carino(df), args.repeat)
        (t_pm, c_pm), (t_pd, c_pd) = best["pm"], best["pd"]
        res, (_, linked) = outs["pm"], outs["pd"]
        ours = res.linked.to_pandas().set_index(["portfolio_id", "sector"]).sort_index()
        theirs = linked.sort_index()
        for col in ("allocation", "selection", "interaction"):
            assert np.allclose(ours[col].to_numpy(), theirs[col].to_numpy(), atol=1e-12)
        assert res.reconciles
        sizes = " x ".join(f"{v:,}" for v in size.values())
        print(f"{name:<16} {sizes:<24} {table.num_rows:>11,} {t_pm:>9.3f} {t_pd:>9.2f} {t_pd / t_pm:>5.0f}x"
              f" {c_pm:>12.3f} {c_pd:>7.2f} {c_pd / c_pm:>5.0f}x")
        rows.append((f"{name}: {sizes}", table.num_rows, t_pm, t_pd, c_pm, c_pd))
        del table, df, res, linked, outs
    print("\ntargets: pmcore under 1 s on one core (see the CPU column), at least 50x faster than pandas")
    if args.write:
        write(rows, load, readme=not args.no_readme)
    return 0


def write(rows, load, readme: bool = True) -> None:
    """Write the table for the docs and the README (between its markers, if present)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    header = (f"Brinson-Fachler with Carino linking, pinned to one core, best of several runs after a "
              f"warm-up, the two taking turns; load average {load:.1f} at the start. Targets: under 1 s "
              f"on one core, at least 50x faster than pandas")
    cols = ["workload", "rows", "pmcore", "pandas", "ratio", "CPU: pmcore", "CPU: pandas", "CPU ratio"]
    lines = [".. generated by benchmarks/attribution_ratios.py --write; do not edit", "", f"*{header}*", "",
             ".. list-table::", "   :header-rows: 1", ""]
    lines += [("   * - " if i == 0 else "     - ") + c for i, c in enumerate(cols)]
    md = [f"*{header}*", "", "| " + " | ".join(cols) + " |", "| --- |" + " ---: |" * (len(cols) - 1)]
    for name, n, t_pm, t_pd, c_pm, c_pd in rows:
        cells = [name, f"{n:,}", f"{t_pm * 1e3:.0f} ms", f"{t_pd:.2f} s", f"{t_pd / t_pm:.0f}x",
                 f"{c_pm * 1e3:.0f} ms", f"{c_pd:.2f} s", f"{c_pd / c_pm:.0f}x"]
        lines += [("   * - " if i == 0 else "     - ") + c for i, c in enumerate(cells)]
        md.append("| " + " | ".join(cells) + " |")
    out = root / "docs" / "_generated" / "attribution.rst"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    if not readme:
        return
    readme = root / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:attribution -->", "<!-- /bench:attribution -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(head + start + "\n" + "\n".join(md) + "\n" + end + tail)


if __name__ == "__main__":
    raise SystemExit(main())
