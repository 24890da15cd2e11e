"""Optimization benchmarks: pmcore beside PyPortfolioOpt, skfolio, riskfolio-lib,
riskparityportfolio and a hand-built OSQP solve, on the same 5-factor data.

Small size by default (N = 50); the issue's sizes (50, 200, 500) with
``PMCORE_BENCH_FULL=1``. Compile time is excluded by a warm-up call. BLAS runs
single-threaded (threadpoolctl) so that every library is measured alike.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import optimize_data as od  # noqa: E402
import optimize_suites as suites  # noqa: E402

CASES = [(w, impl, n) for w, impls in suites.WORKLOADS.items() for impl in impls for n in od.sizes()]


@pytest.fixture(scope="module")
def data():
    return {n: suites.prepare(n) for n in od.sizes()}


@pytest.fixture
def single_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(1):
        yield


@pytest.mark.parametrize(("workload", "impl", "n"), CASES, ids=[f"{w}-{i}-{n}" for w, i, n in CASES])
def test_optimize(benchmark, data, single_thread, workload, impl, n):
    if not suites.available(impl):
        pytest.skip(f"{impl} is not installed (pip install it to benchmark against it)")
    benchmark.group = f"{workload}-{n}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn = suites.WORKLOADS[workload][impl](data[n])
        fn()  # warm-up: Numba compilation and caches excluded
        if benchmark.disabled:
            benchmark(fn)
        else:
            benchmark.pedantic(fn, rounds=1 if (n >= 500 and impl != "pmcore") else 3, iterations=1)
