"""Real market returns shipped inside installed packages, for the metrics tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def sp500_assets() -> pd.DataFrame:
    """Daily returns of 20 S&P 500 stocks, 1990-2022 (skfolio's ``load_sp500_dataset``)."""
    from skfolio.datasets import load_sp500_dataset

    prices = load_sp500_dataset()
    return prices.pct_change().iloc[1:]


@pytest.fixture(scope="session")
def sp500_index() -> pd.Series:
    """Daily returns of the S&P 500 index, 1999-2018 (``arch.data.sp500``)."""
    import arch.data.sp500

    close = arch.data.sp500.load()["Adj Close"]
    return close.pct_change().iloc[1:].rename("SP500")


@pytest.fixture(scope="session")
def aligned(sp500_assets, sp500_index):
    """Assets and index on their common dates, as float64 numpy arrays plus the frame."""
    common = sp500_assets.index.intersection(sp500_index.index)
    assets = sp500_assets.loc[common]
    index = sp500_index.loc[common]
    return assets, index


@pytest.fixture(scope="session")
def generated() -> np.ndarray:
    """Generated returns with NaN holes, a leading-NaN column and a constant column."""
    rng = np.random.default_rng(7)
    x = rng.standard_t(4, size=(600, 6)) * 0.01 + 0.0003
    x[rng.random(x.shape) < 0.03] = np.nan
    x[:50, 2] = np.nan
    x[:, 5] = 0.001
    return x
