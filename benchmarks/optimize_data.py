"""Generated data for the optimization benchmarks: 5-factor model returns in 11 sectors.

``make_data(n_assets)`` returns daily returns (1,260 x n), the annualized mean and
sample covariance (precomputed, passed to every library), sector labels and
market weights, all deterministic.
"""

from __future__ import annotations

import os

import numpy as np

N_OBS = 1260
N_SECTORS = 11


def sizes() -> list[int]:
    return [50, 200, 500] if os.environ.get("PMCORE_BENCH_FULL") == "1" else [50]


def make_data(n_assets: int, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed + n_assets)
    k = 5
    f_vol = np.array([0.010, 0.005, 0.004, 0.003, 0.003])
    f_mean = np.array([0.0004, 0.0001, 0.0, 0.0001, 0.0])
    factors = rng.normal(f_mean, f_vol, (N_OBS, k))
    loadings = np.column_stack([rng.normal(1.0, 0.3, n_assets), rng.normal(0.0, 0.6, (n_assets, k - 1))])
    sector = rng.integers(0, N_SECTORS, n_assets)
    sector[:N_SECTORS] = np.arange(N_SECTORS)  # every sector present
    sector_shock = rng.normal(0, 0.004, (N_OBS, N_SECTORS))
    idio = rng.uniform(0.008, 0.025, n_assets)
    alpha = rng.normal(0.0002, 0.0003, n_assets)
    returns = alpha + factors @ loadings.T + sector_shock[:, sector] + rng.normal(0, 1, (N_OBS, n_assets)) * idio
    names = [f"A{i:03d}" for i in range(n_assets)]
    mu = returns.mean(axis=0) * 252
    xc = returns - returns.mean(axis=0)
    cov = xc.T @ xc / (N_OBS - 1) * 252
    cov = (cov + cov.T) / 2
    caps = rng.lognormal(0, 1, n_assets)
    return {
        "returns": returns,
        "names": names,
        "mu": mu,
        "cov": cov,
        "sectors": np.array([f"S{s:02d}" for s in sector]),
        "market_weights": caps / caps.sum(),
    }


def frames(data: dict):
    """pandas versions (for the peers)."""
    import pandas as pd

    names = data["names"]
    return (pd.DataFrame(data["returns"], columns=names), pd.Series(data["mu"], index=names),
            pd.DataFrame(data["cov"], index=names, columns=names))
