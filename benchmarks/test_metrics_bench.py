"""Metrics suite: pmcore beside empyrical-reloaded, vectorbt (Rust and Numba engines) and quantstats.

Same generated data for every library, in the same run; compilation is
excluded by a warm-up call before timing. Sizes are small by default (a
smoke run); ``PMCORE_BENCH_FULL=1`` gives the issue's 2,520 x 2,000. A peer
that is not installed or fails on this platform is skipped with its reason.
The ratio table: ``python benchmarks/metrics_ratios.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from . import metrics_suites as ms

# vectorbt's Numba engine compiles for half a minute on a fresh machine: full runs only
PEERS = ["empyrical", "vectorbt", "quantstats"] + (["vectorbt_numba"] if ms.FULL else [])


@pytest.fixture(scope="module")
def data():
    x, bench = ms.make_data()
    df, bench_s = ms.to_frame(x, bench)
    return {"x": x, "bench": bench, "df": df, "bench_s": bench_s}


def _runner(impl, d):
    if impl == "pmcore":
        return ms.pmcore_suite, (d["x"], d["bench"])
    reason = ms.peer_status(impl)
    if reason:
        pytest.skip(reason)
    if impl == "empyrical":
        return ms.empyrical_suite, (d["x"], d["bench"])
    if impl == "vectorbt":
        return ms.vectorbt_suite, (d["df"], d["bench_s"], "rust")
    if impl == "vectorbt_numba":
        return ms.vectorbt_suite, (d["df"], d["bench_s"], "numba")
    return ms.quantstats_suite, (d["df"], d["bench_s"])


@pytest.mark.parametrize("impl", ["pmcore", *PEERS])
def test_suite_matrix(benchmark, data, impl):
    """The whole suite over the returns matrix."""
    benchmark.group = f"metrics suite {ms.N_OBS} x {ms.N_SERIES}"
    run, args = _runner(impl, data)
    run(*args)  # warm-up: compilation and caches
    slow = impl in ("quantstats", "empyrical") and ms.FULL
    if slow:
        result = benchmark.pedantic(run, args=args, rounds=1, iterations=1)
    else:
        result = benchmark(run, *args)
    assert result is not None


@pytest.mark.parametrize("impl", ["pmcore", "empyrical"])
def test_suite_one_series(benchmark, data, impl):
    """The whole suite on one series of returns, called from Python."""
    benchmark.group = f"metrics suite, one series of {ms.N_OBS}"
    one = {**data, "x": np.ascontiguousarray(data["x"][:, 0])}
    if impl == "empyrical":
        if ms.peer_status("empyrical"):
            pytest.skip(ms.peer_status("empyrical"))
        run, args = ms.empyrical_suite, (one["x"][:, None], one["bench"])
    else:
        run, args = ms.pmcore_suite, (one["x"], one["bench"])
    run(*args)
    assert benchmark(run, *args) is not None


@pytest.mark.parametrize("impl", ["pmcore", "vectorbt", "empyrical"])
def test_rolling_sharpe(benchmark, data, impl):
    """63-day rolling Sharpe over the matrix: O(n_obs) per series in pmcore."""
    benchmark.group = f"rolling Sharpe ({ms.WINDOW}) {ms.N_OBS} x {ms.N_SERIES}"
    if impl == "pmcore":
        import pmcore.metrics as pm

        def run():
            return pm.rolling_sharpe(data["x"], ms.WINDOW)
    elif impl == "vectorbt":
        if ms.peer_status("vectorbt"):
            pytest.skip(ms.peer_status("vectorbt"))

        def run():
            return ms.vectorbt_rolling_sharpe(data["df"], "rust")
    else:
        if ms.peer_status("empyrical"):
            pytest.skip(ms.peer_status("empyrical"))
        import empyrical as ep

        def run():
            x = data["x"]
            with np.errstate(all="ignore"):
                return [ep.roll_sharpe_ratio(x[:, j], ms.WINDOW) for j in range(x.shape[1])]
    run()
    assert benchmark(run) is not None


def test_results_agree_with_empyrical(data):
    """The benchmarked pmcore results are the empyrical ones (to 1e-10)."""
    if ms.peer_status("empyrical"):
        pytest.skip(ms.peer_status("empyrical"))
    ours = ms.pmcore_suite(data["x"], data["bench"])
    theirs = ms.empyrical_suite(data["x"], data["bench"])
    # a CAGR near 0 is (product of n terms) ** (1 / years) - 1: absolute rounding ~ n eps
    for a, b in zip(ours[:9], theirs[:9]):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[9][0], theirs[9][:, 0], rtol=1e-10)
    np.testing.assert_allclose(ours[9][1], theirs[9][:, 1], rtol=1e-10)
    w = ms.WINDOW
    # a rolling Sharpe near 0 is ill-conditioned (see tests/metrics/test_oracle_empyrical.py)
    np.testing.assert_allclose(ours[10][w - 1:], np.column_stack(theirs[10]), rtol=1e-10, atol=1e-12)
