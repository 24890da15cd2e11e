"""Generated data and a vectorised pandas oracle for the attribution benchmarks.

Sizes come from the environment: small by default (so the normal test run
smoke-tests each benchmark once); ``PMCORE_BENCH_FULL=1`` gives the sizes of
issue 7 (10,000 portfolios x 11 sectors x 252 days at group level; 100
portfolios x 500 securities in 11 sectors x 252 days at security level).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa

FULL = os.environ.get("PMCORE_BENCH_FULL", "0") not in ("0", "", "false", "no")

SECTORS = [
    "Communication Services", "Consumer Discretionary", "Consumer Staples", "Energy",
    "Financials", "Health Care", "Industrials", "Information Technology", "Materials",
    "Real Estate", "Utilities",
]

GROUP_LEVEL = dict(n_portfolios=10_000, n_periods=252, n_groups=11) if FULL else dict(
    n_portfolios=40, n_periods=30, n_groups=11)
SECURITY_LEVEL = dict(n_portfolios=100, n_periods=252, n_securities=500) if FULL else dict(
    n_portfolios=5, n_periods=30, n_securities=60)


def _dates(n_periods: int) -> pa.Array:
    start = np.datetime64("2024-01-02", "D")
    days = np.busday_offset(start, np.arange(n_periods), roll="forward")
    return pa.array(days.astype("datetime64[D]"))


def _sector_column(codes: np.ndarray) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(SECTORS))


def group_level(n_portfolios: int, n_periods: int, n_groups: int, seed: int = 7) -> pa.Table:
    """One row per portfolio x day x sector, sorted by portfolio then day."""
    rng = np.random.default_rng(seed)
    shape = (n_portfolios, n_periods, n_groups)
    wb = rng.uniform(0.02, 0.2, (1, n_periods, n_groups))
    wb = np.broadcast_to(wb / wb.sum(axis=2, keepdims=True), shape)
    wp = wb * rng.uniform(0.5, 1.5, shape)
    wp /= wp.sum(axis=2, keepdims=True)
    market = rng.normal(0.0004, 0.01, (1, n_periods, 1))
    rb = np.broadcast_to(market + rng.normal(0.0, 0.005, (1, n_periods, n_groups)), shape)
    rp = rb + rng.normal(0.0, 0.002, shape)
    n = n_portfolios * n_periods * n_groups
    dates = _dates(n_periods).to_numpy(zero_copy_only=False)
    return pa.table({
        "portfolio_id": np.repeat(np.arange(1, n_portfolios + 1, dtype=np.int64), n_periods * n_groups),
        "period": pa.array(np.tile(np.repeat(dates, n_groups), n_portfolios)),
        "sector": _sector_column(np.tile(np.arange(n_groups), n_portfolios * n_periods) % len(SECTORS)),
        "portfolio_weight": wp.reshape(n), "portfolio_return": rp.reshape(n),
        "benchmark_weight": np.ascontiguousarray(wb).reshape(n),
        "benchmark_return": np.ascontiguousarray(rb).reshape(n),
    })


def security_level(n_portfolios: int, n_periods: int, n_securities: int, seed: int = 11) -> pa.Table:
    """One row per portfolio x day x security of the benchmark universe (11 sectors)."""
    rng = np.random.default_rng(seed)
    shape = (n_portfolios, n_periods, n_securities)
    sector = rng.integers(0, len(SECTORS), n_securities)
    sector[: len(SECTORS)] = np.arange(len(SECTORS))
    cap = rng.lognormal(0.0, 1.0, n_securities)
    wb = np.broadcast_to(cap / cap.sum(), shape)
    held = rng.random((n_portfolios, 1, n_securities)) < 0.4
    wp = np.where(held, rng.uniform(0.5, 1.5, (n_portfolios, 1, n_securities)) * cap, 0.0)
    wp = np.broadcast_to(wp / wp.sum(axis=2, keepdims=True), shape)
    market = rng.normal(0.0004, 0.01, (n_periods, 1))
    sec_ret = market + rng.normal(0.0, 0.015, (n_periods, n_securities))
    r = np.broadcast_to(sec_ret, shape)
    n = n_portfolios * n_periods * n_securities
    dates = _dates(n_periods).to_numpy(zero_copy_only=False)
    return pa.table({
        "portfolio_id": np.repeat(np.arange(1, n_portfolios + 1, dtype=np.int64), n_periods * n_securities),
        "period": pa.array(np.tile(np.repeat(dates, n_securities), n_portfolios)),
        "security_id": np.tile(np.arange(n_securities, dtype=np.int64), n_portfolios * n_periods),
        "sector": _sector_column(np.tile(sector, n_portfolios * n_periods)),
        "portfolio_weight": np.ascontiguousarray(wp).reshape(n),
        "portfolio_return": np.ascontiguousarray(r).reshape(n),
        "benchmark_weight": np.ascontiguousarray(wb).reshape(n),
        "benchmark_return": np.ascontiguousarray(r).reshape(n),
    })


def pandas_brinson_fachler_carino(df: pd.DataFrame, by: str = "sector") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Brinson-Fachler with Carino linking, vectorised pandas (the benchmark's peer).

    Returns ``(effects, linked)``: per portfolio x period x group effects and
    per portfolio x group linked effects (allocation, selection, interaction).
    """
    keys = ["portfolio_id", "period", by]
    x = pd.DataFrame({
        "portfolio_id": df["portfolio_id"], "period": df["period"], by: df[by],
        "wp": df["portfolio_weight"], "cp": df["portfolio_weight"] * df["portfolio_return"],
        "wb": df["benchmark_weight"], "cb": df["benchmark_weight"] * df["benchmark_return"],
    })
    g = x.groupby(keys, observed=True, sort=False).sum()
    cell = g.groupby(level=[0, 1], sort=False)[["cp", "cb"]].transform("sum")
    big_b = cell["cb"]
    rb = (g["cb"] / g["wb"]).where(g["wb"] != 0, big_b)
    rp = (g["cp"] / g["wp"]).where(g["wp"] != 0, rb)
    active_w = g["wp"] - g["wb"]
    eff = pd.DataFrame({
        "allocation": active_w * (rb - big_b),
        "selection": g["wb"] * (rp - rb),
        "interaction": active_w * (rp - rb),
    })
    tot = g.groupby(level=[0, 1], sort=False)[["cp", "cb"]].sum()
    r, b = tot["cp"], tot["cb"]
    kt = ((np.log1p(r) - np.log1p(b)) / (r - b)).where(r != b, 1.0 / (1.0 + r))
    growth = np.log1p(tot).groupby(level=0, sort=False).sum()
    big_r, big_bb = np.expm1(growth["cp"]), np.expm1(growth["cb"])
    k = ((np.log1p(big_r) - np.log1p(big_bb)) / (big_r - big_bb)).where(big_r != big_bb, 1.0 / (1.0 + big_r))
    coef = kt / k.reindex(kt.index, level=0)
    scaled = eff.mul(coef.reindex(eff.index.droplevel(2)).to_numpy(), axis=0)
    linked = scaled.groupby(level=[0, 2], observed=True, sort=False).sum()
    return eff, linked


def _read_block():
    import numba

    from pmcore.kernels._jit import prefetch

    @numba.njit(nogil=True, cache=True)
    def read_block(pid, period, group, wp, rp, wb, rb, lo, hi):  # pragma: no cover - compiled
        # as pmcore's kernels read: unsigned row indices, and each cache line
        # asked for 512 rows ahead (faster than the hardware prefetcher alone)
        total = 0.0
        i = np.uint64(lo)
        end = np.uint64(hi)
        while i < end:
            ahead = i + np.uint64(512)
            for column in (wp, rp, wb, rb):
                prefetch(column, ahead)
            prefetch(pid, ahead)
            prefetch(period, ahead)
            prefetch(group, ahead)
            stop = min(i + np.uint64(8), end)
            for k in range(i, stop):
                total += (pid[k] + period[k] + group[k]) + (wp[k] + rp[k]) + (wb[k] + rb[k])
            i = stop
        return total

    return read_block


def read_once(table: pa.Table, threads: int, by: str = "sector"):
    """A callable reading once every column Brinson attribution must read, on ``threads`` threads.

    It adds up the portfolio and period keys, the group codes and the four
    weight and return columns, row blocks split over the threads as pmcore
    splits its scan, prefetching as pmcore's kernels do: the memory-bandwidth
    floor of any implementation that reads its input once. (Returns the sum,
    so nothing is optimised away.)
    """
    from concurrent.futures import ThreadPoolExecutor

    read_block = _read_block()
    cols = [table.column(c).combine_chunks() for c in
            ("portfolio_id", "period", by, "portfolio_weight", "portfolio_return", "benchmark_weight",
             "benchmark_return")]
    cols[1] = cols[1].view(pa.int32())
    cols[2] = cols[2].indices
    arrays = [c.to_numpy(zero_copy_only=True) for c in cols]
    n = len(arrays[0])
    cuts = [n * b // threads for b in range(threads + 1)]
    read_block(*arrays, 0, min(n, 8))

    def run():
        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(lambda b: read_block(*arrays, cuts[b], cuts[b + 1]), range(threads)))

    return run
