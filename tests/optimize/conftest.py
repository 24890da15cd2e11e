"""Shared data for the optimize tests: real prices of 20 S&P 500 stocks (skfolio, offline)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def sp500_returns():
    from skfolio.datasets import load_sp500_dataset

    prices = load_sp500_dataset()
    return prices.pct_change().iloc[-1261:].dropna()


@pytest.fixture(scope="session")
def sp500(sp500_returns):
    """(returns DataFrame, mu Series, cov DataFrame), annualized, ddof=1."""
    r = sp500_returns
    return r, r.mean() * 252, r.cov() * 252


@pytest.fixture(scope="session")
def sectors(sp500_returns):
    """A deterministic 4-group labelling of the 20 tickers."""
    cols = list(sp500_returns.columns)
    return {a: f"G{i % 4}" for i, a in enumerate(cols)}


def violation(w, lo, hi, budget=1.0):
    return max(float(np.max(lo - w)), float(np.max(w - hi)), abs(float(np.sum(w)) - budget), 0.0)
