"""pmcore.metrics against empyrical-reloaded (an independent, test-only oracle).

Real data: skfolio's S&P 500 constituents (20 stocks, 1990-2022) and arch's
S&P 500 index (1999-2018), both shipped inside the installed packages.
Agreement to 1e-10 (relative) on every metric the two define the same way.
"""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

import pmcore.metrics as pm

RTOL = 1e-10
ATOL = 1e-14


def close(a, b, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=ATOL)


@pytest.fixture(scope="module")
def x(sp500_assets):
    return sp500_assets.to_numpy()


def test_annual_return_volatility(x):
    close(pm.annual_return(x), ep.annual_return(x))
    close(pm.annual_return(x, periods_per_year=12), ep.annual_return(x, annualization=12))
    close(pm.annual_volatility(x), ep.annual_volatility(x))
    close(pm.total_return(x), ep.cum_returns_final(x))
    close(pm.cumulative_returns(x), ep.cum_returns(x))
    close(pm.cumulative_returns(x, start_value=100.0), ep.cum_returns(x, starting_value=100.0))


def test_sharpe_sortino_downside(x, sp500_index):
    close(pm.sharpe_ratio(x), ep.sharpe_ratio(x))
    close(pm.sharpe_ratio(x, risk_free=0.0001), ep.sharpe_ratio(x, risk_free=0.0001))
    rf = np.linspace(0.0, 0.0002, len(x))
    close(pm.sharpe_ratio(x, risk_free=rf), ep.sharpe_ratio(x, risk_free=rf[:, None]))
    close(pm.sortino_ratio(x), ep.sortino_ratio(x))
    close(pm.sortino_ratio(x, required_return=0.0002), ep.sortino_ratio(x, required_return=0.0002))
    close(pm.downside_risk(x, required_return=0.0002), ep.downside_risk(x, required_return=0.0002))
    close(pm.downside_risk(x, periods_per_year=12), ep.downside_risk(x, annualization=12))


def test_drawdown(x):
    close(pm.max_drawdown(x), ep.max_drawdown(x))
    close(pm.drawdown(x), ep.stats.drawdown_series(x))
    s = pd.Series(x[:, 3])
    close(pm.max_drawdown(s), ep.max_drawdown(s))


def test_per_column_scalar_metrics(x):
    # empyrical defines these for one series at a time
    for j in range(x.shape[1]):
        col = x[:, j]
        close(pm.calmar_ratio(col), ep.calmar_ratio(col))
        close(pm.omega_ratio(col), ep.omega_ratio(col))
        close(pm.omega_ratio(col, required_return=0.05, risk_free=0.0001),
              ep.omega_ratio(col, risk_free=0.0001, required_return=0.05))
        close(pm.tail_ratio(col), ep.tail_ratio(col))
        close(pm.value_at_risk(col), ep.value_at_risk(col))
        close(pm.value_at_risk(col, cutoff=0.01), ep.value_at_risk(col, cutoff=0.01))
        close(pm.conditional_value_at_risk(col), ep.conditional_value_at_risk(col))
    close(pm.calmar_ratio(x), [ep.calmar_ratio(x[:, j]) for j in range(x.shape[1])])


def test_alpha_beta_against_index(aligned):
    assets, index = aligned
    y = assets.to_numpy()
    b = index.to_numpy()
    a_pm, b_pm = pm.alpha_beta(y, b)
    ab = ep.alpha_beta_aligned(y, b[:, None])
    close(a_pm, ab[:, 0])
    close(b_pm, ab[:, 1])
    close(pm.beta(y, b), ep.beta_aligned(y, b))
    a_pm, _ = pm.alpha_beta(y, b, risk_free=0.0001, periods_per_year=12)
    close(a_pm, ep.alpha_aligned(y, b[:, None], risk_free=0.0001, annualization=12))
    close(pm.information_ratio(y, b, periods_per_year=1),
          [ep.excess_sharpe(y[:, j], b) for j in range(y.shape[1])])


# A rolling Sharpe ratio near 0 is a mean near 0: its relative error is
# rounding of the window's sum (~ eps * sum|r|) over a tiny result, in
# empyrical as in pmcore, so near 0 the check is absolute, 1e-12 on ratios
# of order 1 (the largest difference seen on these data is 2e-13).
SHARPE_ATOL = 1e-12


def test_rolling(x, aligned):
    w = 63
    for j in (0, 4, 11):
        col = x[:, j]
        close(pm.rolling_sharpe(col, w)[w - 1:], ep.roll_sharpe_ratio(col, w), rtol=RTOL)
        close(pm.rolling_volatility(col, w)[w - 1:], ep.roll_annual_volatility(col, w))
        close(pm.rolling_max_drawdown(col, 90)[89:], ep.roll_max_drawdown(col, 90))
    np.testing.assert_allclose(
        pm.rolling_sharpe(x, w)[w - 1:],
        np.column_stack([ep.roll_sharpe_ratio(x[:, j], w) for j in range(x.shape[1])]),
        rtol=RTOL, atol=SHARPE_ATOL)
    assets, index = aligned
    b = index.to_numpy()
    for j in (0, 7):
        y = assets.to_numpy()[:, j]
        close(pm.rolling_beta(y, b, w)[w - 1:], ep.roll_beta_aligned(y, b, w))


def test_generated_with_nan(generated):
    g = generated
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want_sharpe = ep.sharpe_ratio(g)
        want_vol = ep.annual_volatility(g)
        want_sortino = ep.sortino_ratio(g)
        want_mdd = ep.max_drawdown(g)
    close(pm.sharpe_ratio(g), want_sharpe)
    close(pm.annual_volatility(g), want_vol)
    close(pm.sortino_ratio(g), want_sortino)
    close(pm.max_drawdown(g), want_mdd)
    close(pm.annual_return(g), ep.annual_return(g))
    for j in range(g.shape[1]):
        close(pm.conditional_value_at_risk(g[:, j]), ep.conditional_value_at_risk(g[:, j]))
        close(pm.tail_ratio(g[:, j]), ep.tail_ratio(g[:, j]))
    bench = np.nan_to_num(g[:, 0], nan=0.001) * 0.5 + 0.002 * np.sin(np.arange(len(g)))
    a_pm, b_pm = pm.alpha_beta(g, bench)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ab = ep.alpha_beta_aligned(g, bench[:, None])
    close(a_pm, ab[:, 0])
    close(b_pm, ab[:, 1])


def test_zero_volatility_matches_empyrical():
    flat = np.full(30, 0.002)
    assert pm.sharpe_ratio(flat) == ep.sharpe_ratio(flat) == np.inf
    zero = np.zeros(30)
    assert np.isnan(pm.sharpe_ratio(zero))
    with np.errstate(all="ignore"):
        assert np.isnan(ep.sharpe_ratio(zero))


@pytest.mark.parametrize("period", ["weekly", "monthly", "quarterly", "yearly"])
def test_period_returns_match_aggregate_returns(sp500_assets, period):
    s = sp500_assets.iloc[:, 0]
    want = ep.aggregate_returns(s, period)
    got = pm.period_returns(s, period=period)
    assert isinstance(got, pd.Series)
    close(got.to_numpy(), want.to_numpy())
    frame = pm.period_returns(sp500_assets.iloc[:, :3], period=period)
    close(frame.iloc[:, 0].to_numpy(), want.to_numpy())


def test_dataframe_input_column_kernels(sp500_assets, aligned):
    """pandas frames arrive Fortran-ordered and run the column kernels: same oracle."""
    x = sp500_assets.to_numpy()
    f = np.asfortranarray(x)
    assert not f.flags.c_contiguous
    close(pm.sharpe_ratio(sp500_assets).to_numpy(), ep.sharpe_ratio(x))
    close(pm.annual_volatility(f), ep.annual_volatility(x))
    close(pm.sortino_ratio(f), ep.sortino_ratio(x))
    close(pm.max_drawdown(f), ep.max_drawdown(x))
    close(pm.annual_return(f), ep.annual_return(x))
    close(pm.omega_ratio(f), [ep.omega_ratio(x[:, j]) for j in range(x.shape[1])])
    close(pm.value_at_risk(f), [ep.value_at_risk(x[:, j]) for j in range(x.shape[1])])
    assets, index = aligned
    y = assets.to_numpy()
    a_pm, b_pm = pm.alpha_beta(np.asfortranarray(y), index.to_numpy())
    ab = ep.alpha_beta_aligned(y, index.to_numpy()[:, None])
    close(a_pm, ab[:, 0])
    close(b_pm, ab[:, 1])
    col = np.asfortranarray(x[:1500, :3])
    want = np.column_stack([ep.roll_sharpe_ratio(col[:, j], 63) for j in range(3)])
    np.testing.assert_allclose(pm.rolling_sharpe(col, 63)[62:], want, rtol=RTOL, atol=SHARPE_ATOL)
