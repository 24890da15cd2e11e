"""Metrics empyrical does not define, and the keywords that reproduce the other peers.

Independent sources, each named where it is used: scipy.stats (moment
estimators, the normal quantile function), scipy.integrate.quad (CVaR as the
mean of the quantile function over the tail, integrated numerically rather
than from the closed forms in :mod:`pmcore.metrics.tail`), pandas, and
quantstats 0.0.86 (test-only) for its conventions. Real data: skfolio's
S&P 500 constituents (see ``conftest.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import pmcore.metrics as pm


def close(a, b, rtol=1e-10, atol=1e-14):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


@pytest.fixture(scope="module")
def x(sp500_assets):
    """Real returns with a hole punched in two columns (NaN is skipped by every estimator)."""
    x = sp500_assets.to_numpy().copy()
    x[100:130, 2] = np.nan
    x[::97, 5] = np.nan
    return x


@pytest.mark.parametrize("bias", [False, True])
def test_skewness_kurtosis_against_scipy(x, bias):
    close(pm.skewness(x, bias=bias), stats.skew(x, bias=bias, nan_policy="omit"))
    close(pm.kurtosis(x, bias=bias), stats.kurtosis(x, bias=bias, nan_policy="omit"))
    close(pm.kurtosis(x, bias=bias, excess=False),
          stats.kurtosis(x, bias=bias, fisher=False, nan_policy="omit"))


def test_skewness_kurtosis_against_pandas(sp500_assets):
    close(pm.skewness(sp500_assets).to_numpy(), sp500_assets.skew().to_numpy())
    close(pm.kurtosis(sp500_assets).to_numpy(), sp500_assets.kurt().to_numpy())


def _cornish_fisher(u, s, k):
    z = stats.norm.ppf(u)
    return z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36


@pytest.mark.parametrize("cutoff", [0.01, 0.05, 0.1])
def test_parametric_var_cvar_against_scipy(x, cutoff):
    for j in (0, 2, 5):
        col = x[:, j][~np.isnan(x[:, j])]
        mu, sd = col.mean(), col.std(ddof=1)
        s, k = stats.skew(col), stats.kurtosis(col)  # moment estimators (bias=True)
        # VaR: the quantile of N(mu, sd) and of its Cornish-Fisher expansion
        close(pm.value_at_risk(x[:, j], cutoff=cutoff, method="gaussian"),
              stats.norm.ppf(cutoff, loc=mu, scale=sd))
        close(pm.value_at_risk(x[:, j], cutoff=cutoff, method="cornish_fisher"),
              mu + sd * _cornish_fisher(cutoff, s, k))
        # CVaR: (1 / c) * integral_0^c q(u) du, by numerical quadrature
        gauss = integrate.quad(lambda u: stats.norm.ppf(u, mu, sd), 0, cutoff, limit=200)[0] / cutoff
        cf = integrate.quad(lambda u: mu + sd * _cornish_fisher(u, s, k), 0, cutoff, limit=200)[0] / cutoff
        close(pm.conditional_value_at_risk(x[:, j], cutoff=cutoff, method="gaussian"), gauss, rtol=1e-8)
        close(pm.conditional_value_at_risk(x[:, j], cutoff=cutoff, method="cornish_fisher"), cf, rtol=1e-8)


def test_parametric_ddof():
    r = np.array([0.01, -0.03, 0.02, -0.01, 0.0, 0.015, -0.02, 0.005])
    close(pm.value_at_risk(r, method="gaussian", ddof=0), stats.norm.ppf(0.05, r.mean(), r.std()))


# --- the keywords in docs/conventions_metrics.rst reproduce quantstats ---------

@pytest.fixture(scope="module")
def qs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import quantstats

    return quantstats.stats


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def test_quantstats_conventions(qs, sp500_assets, aligned):
    df = sp500_assets.iloc[:, :5]
    s = df.iloc[:, 0]
    # same defaults: volatility, Sharpe, CAGR (no NaN), max drawdown from the starting value
    close(pm.annual_volatility(df).to_numpy(), _quiet(qs.volatility, df).to_numpy())
    close(pm.sharpe_ratio(s), _quiet(qs.sharpe, s))
    close(pm.annual_return(s), _quiet(qs.cagr, s))
    close(pm.max_drawdown(s), _quiet(qs.max_drawdown, s))
    close(pm.skewness(s), _quiet(qs.skew, s))
    close(pm.kurtosis(s), _quiet(qs.kurtosis, s))
    # the keywords: parametric VaR/CVaR, arithmetic alpha, summed recovery factor
    close(pm.value_at_risk(s, method="gaussian"), _quiet(qs.value_at_risk, s))
    close(pm.conditional_value_at_risk(s, method="gaussian"), _quiet(qs.conditional_value_at_risk, s))
    assert s.sum() > 0  # quantstats takes abs() of the summed return
    close(pm.recovery_factor(s, compound=False), _quiet(qs.recovery_factor, s))
    assets, index = aligned
    y = assets.iloc[:, 1]
    g = _quiet(qs.greeks, y, index)
    a, b = pm.alpha_beta(y, index, compound=False)
    close(b, g["beta"])
    close(a, g["alpha"])


def test_quantstats_risk_free_is_annual(qs, sp500_assets):
    s = sp500_assets.iloc[:, 3]
    rf_annual = 0.03
    per_period = (1 + rf_annual) ** (1 / 252) - 1
    close(pm.sharpe_ratio(s, risk_free=per_period), _quiet(qs.sharpe, s, rf=rf_annual, periods=252))


def test_calendar_cagr_elapsed_days():
    # calendar=True: (t_last - t_first) in days / days_per_year, by hand
    index = pd.date_range("2020-01-01", periods=5, freq="90D")
    r = pd.Series([0.0, 0.01, 0.02, -0.01, 0.03], index=index)
    years = (index[-1] - index[0]).days / 365.0
    want = (1 + r).prod() ** (1 / years) - 1
    close(pm.annual_return(r, calendar=True, days_per_year=365.0), want)


# --- ... and vectorbt (its Numba engine; 365 days a year by default) ----------

def test_vectorbt_conventions(sp500_assets):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vbt = pytest.importorskip("vectorbt")
        df = sp500_assets.iloc[:2000, :4]
        ra = df.vbt.returns(freq="1D")  # vectorbt's default year: 365 days
        mdd = ra.max_drawdown().to_numpy()
        annual = ra.annualized().to_numpy()
        sharpe = ra.sharpe_ratio().to_numpy()
        vol = ra.annualized_volatility().to_numpy()
    assert vbt.settings.returns["year_freq"] == "365 days"
    close(pm.max_drawdown(df, include_start=False).to_numpy(), mdd)
    close(pm.annual_return(df, periods_per_year=365).to_numpy(), annual)
    close(pm.sharpe_ratio(df, periods_per_year=365).to_numpy(), sharpe)
    close(pm.annual_volatility(df, periods_per_year=365).to_numpy(), vol)


def test_tracking_error_best_worst_against_pandas(aligned):
    assets, index = aligned
    active = assets.sub(index, axis=0)
    close(pm.tracking_error(assets, index).to_numpy(), (active.std() * np.sqrt(252)).to_numpy())
    close(pm.tracking_error(assets, index, ddof=0, periods_per_year=12).to_numpy(),
          (active.std(ddof=0) * np.sqrt(12)).to_numpy())
    monthly = pm.period_returns(assets, period="monthly")
    want = (1 + assets).groupby(assets.index.to_period("M")).prod() - 1  # pandas, by calendar month
    close(monthly.to_numpy(), want.to_numpy())
    close(pm.best_period(monthly).to_numpy(), want.max().to_numpy())
    close(pm.worst_period(assets).to_numpy(), assets.min().to_numpy())


def test_drawdown_periods_against_quantstats(qs, sp500_assets):
    s = sp500_assets.iloc[:, 0]
    theirs = _quiet(qs.drawdown_details, _quiet(qs.to_drawdown_series, s))
    theirs = theirs.sort_values("max drawdown", kind="stable").head(5)
    ours = pm.drawdown_periods(s, top=5)
    close(ours["depth"].to_numpy() * 100, theirs["max drawdown"].to_numpy())
    pos = s.index.get_indexer
    # quantstats dates the first and last days under water; pmcore the peak
    # before and the recovery after them
    assert (pos(pd.DatetimeIndex(ours["trough"])) == pos(pd.DatetimeIndex(theirs["valley"]))).all()
    assert (pos(pd.DatetimeIndex(ours["peak"])) + 1 == pos(pd.DatetimeIndex(theirs["start"]))).all()
    assert (pos(pd.DatetimeIndex(ours["recovery"])) - 1 == pos(pd.DatetimeIndex(theirs["end"]))).all()
