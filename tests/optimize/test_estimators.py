"""Estimators against PyPortfolioOpt and scikit-learn (test-only oracles), input kinds, PSD handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from pmcore.errors import ValidationError
from pmcore.optimize import (
    capm_returns,
    check_covariance,
    ewm_covariance,
    factor_covariance,
    ledoit_wolf,
    mean_returns,
    nearest_psd,
    sample_covariance,
)

pypfopt = pytest.importorskip("pypfopt")


def test_mean_and_ewm_match_pypfopt(sp500_returns):
    r = sp500_returns
    ours = mean_returns(r)
    ref = pypfopt.expected_returns.mean_historical_return(r, compounding=False, returns_data=True)
    np.testing.assert_allclose(ours.to_numpy(), ref.loc[ours.index].to_numpy(), rtol=1e-10)
    ours_e = mean_returns(r, method="ewm", span=120)
    ref_e = pypfopt.expected_returns.ema_historical_return(r, returns_data=True, compounding=False, span=120)
    np.testing.assert_allclose(ours_e.to_numpy(), ref_e.to_numpy(), rtol=1e-10)


def test_capm_matches_pypfopt(sp500_returns):
    r = sp500_returns
    ours = capm_returns(r, risk_free=0.02)
    ref = pypfopt.expected_returns.capm_return(r, returns_data=True, risk_free_rate=0.02, compounding=False)
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-9)


def test_covariances_match_pypfopt_and_sklearn(sp500_returns):
    r = sp500_returns
    np.testing.assert_allclose(sample_covariance(r).to_numpy(), (r.cov() * 252).to_numpy(), rtol=1e-12)
    ref = pypfopt.risk_models.exp_cov(r, returns_data=True, span=180)
    np.testing.assert_allclose(ewm_covariance(r, span=180).to_numpy(), ref.to_numpy(), rtol=1e-9, atol=1e-14)
    from sklearn.covariance import LedoitWolf

    lw = LedoitWolf().fit(r.to_numpy()).covariance_ * 252
    np.testing.assert_allclose(ledoit_wolf(r).to_numpy(), lw, rtol=1e-9)


def test_factor_covariance():
    rng = np.random.default_rng(3)
    f = rng.normal(0, 0.01, (500, 2))
    b = rng.normal(0, 1, (2, 6))
    x = f @ b + rng.normal(0, 0.002, (500, 6))
    cov = factor_covariance(x, factors=f, periods_per_year=1)
    # loadings recovered: cov close to the sample covariance, exactly symmetric and PSD
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False), atol=2e-6)
    assert np.linalg.eigvalsh(cov).min() > 0
    pca = factor_covariance(x, n_factors=2, periods_per_year=1)
    np.testing.assert_allclose(np.diag(pca), np.diag(np.cov(x, rowvar=False)), rtol=1e-12)


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "numpy"])
def test_input_kinds_mirror_output(sp500_returns, kind):
    r = sp500_returns.iloc[:300, :4]
    data = {"pandas": r, "polars": pl.from_pandas(r.reset_index(drop=True)),
            "arrow": pa.Table.from_pandas(r, preserve_index=False), "numpy": r.to_numpy()}[kind]
    mu = mean_returns(data)
    cov = sample_covariance(data)
    expected_type = {"pandas": (pd.Series, pd.DataFrame), "polars": (pl.DataFrame, pl.DataFrame),
                     "arrow": (pa.Table, pa.Table), "numpy": (np.ndarray, np.ndarray)}[kind]
    assert isinstance(mu, expected_type[0]) and isinstance(cov, expected_type[1])
    ref = r.cov().to_numpy() * 252
    got = np.column_stack([c.to_numpy() for c in cov.columns]) if kind == "arrow" else np.asarray(cov)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_nan_rejected_with_location(sp500_returns):
    r = sp500_returns.iloc[:50, :3].copy()
    r.iloc[7, 1] = np.nan
    with pytest.raises(ValidationError) as e:
        sample_covariance(r)
    assert e.value.row == 7 and e.value.column == r.columns[1]


def test_psd_check_and_repair():
    bad = np.array([[1.0, 0.9, 0.7], [0.9, 1.0, -0.4], [0.7, -0.4, 1.0]])
    with pytest.raises(ValidationError, match="positive semi-definite"):
        check_covariance(bad)
    with pytest.raises(ValidationError, match="not symmetric"):
        check_covariance(np.array([[1.0, 0.1], [0.2, 1.0]]))
    fixed = nearest_psd(bad)
    lam = np.linalg.eigvalsh(fixed)
    assert lam.min() >= -1e-15
    # Higham: eigenvalue clipping of the symmetric part is the Frobenius-nearest PSD matrix
    vals, vecs = np.linalg.eigh(bad)
    np.testing.assert_allclose(fixed, (vecs * np.maximum(vals, 0)) @ vecs.T, atol=1e-15)
    check_covariance(fixed)
