"""Factor attribution (returns- and holdings-based) and ex-ante risk attribution."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.attribution import factor_regression, holdings_factor_attribution, risk_attribution
from pmcore.errors import ValidationError
from pmcore.frames import from_arrow, to_arrow


def _factors(n_t, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.005, 0.04, (n_t, 3))


def test_regression_recovers_exact_loadings():
    # closed form: returns built exactly as alpha + B f recover alpha and B, R^2 = 1
    n_t = 24
    f = _factors(n_t)
    periods = np.arange(n_t)
    betas = {"P1": [1.1, 0.3, -0.2], "P2": [0.8, -0.5, 0.4]}
    alphas = {"P1": 0.002, "P2": -0.001}
    rows = [pa.table({"portfolio_id": [p] * n_t, "period": periods,
                      "portfolio_return": alphas[p] + f @ np.array(b)}) for p, b in betas.items()]
    fr = pa.table({"period": periods, "mkt_rf": f[:, 0], "smb": f[:, 1], "hml": f[:, 2]})
    res = factor_regression(pa.concat_tables(rows), fr)
    fac = to_arrow(res.factors, "x").to_pandas()
    np.testing.assert_allclose(fac.beta, np.ravel(list(betas.values())), atol=1e-12)
    summ = to_arrow(res.summary, "x").to_pandas()
    np.testing.assert_allclose(summ.alpha, list(alphas.values()), atol=1e-13)
    np.testing.assert_allclose(summ.r_squared, 1.0, atol=1e-12)
    assert list(fac.factor[:3]) == ["mkt_rf", "smb", "hml"]
    assert res.reconciles


def test_regression_matches_textbook_single_factor_formulas():
    # one regressor: beta = cov(r, f) / var(f), se(beta) = s / sqrt(sum (f - fbar)^2)
    rng = np.random.default_rng(4)
    n_t = 40
    f = rng.normal(0.01, 0.05, n_t)
    r = 0.003 + 0.9 * f + rng.normal(0, 0.01, n_t)
    res = factor_regression(pa.table({"portfolio_id": [1] * n_t, "period": np.arange(n_t), "portfolio_return": r}),
                            pa.table({"period": np.arange(n_t), "mkt": f}))
    fc = f - f.mean()
    beta = (fc @ (r - r.mean())) / (fc @ fc)
    alpha = r.mean() - beta * f.mean()
    resid = r - alpha - beta * f
    s2 = resid @ resid / (n_t - 2)
    se = np.sqrt(s2 / (fc @ fc))
    se_alpha = np.sqrt(s2 * (1 / n_t + f.mean() ** 2 / (fc @ fc)))
    fac = to_arrow(res.factors, "x").to_pylist()[0]
    summ = to_arrow(res.summary, "x").to_pylist()[0]
    assert fac["beta"] == pytest.approx(beta, rel=1e-10)
    assert fac["std_error"] == pytest.approx(se, rel=1e-9)
    assert fac["t_stat"] == pytest.approx(beta / se, rel=1e-9)
    assert summ["alpha_t_stat"] == pytest.approx(alpha / se_alpha, rel=1e-9)
    assert summ["r_squared"] == pytest.approx(1 - resid @ resid / ((r - r.mean()) @ (r - r.mean())), rel=1e-10)
    assert fac["contribution"] + summ["specific"] == pytest.approx(r.sum(), abs=1e-13)


def test_three_factor_regression_matches_statsmodels_ols():
    # Fama-French style three factors (market, size, value), two portfolios; oracle:
    # statsmodels OLS (test-only; installed with arch) on each portfolio's window.
    import statsmodels.api as sm

    rng = np.random.default_rng(12)
    n_t = 60
    f = rng.normal([0.006, 0.001, 0.002], [0.045, 0.03, 0.03], (n_t, 3))
    loadings = {"P1": (0.002, [1.1, 0.4, -0.2]), "P2": (-0.001, [0.8, -0.3, 0.5])}
    rows = {"portfolio_id": [], "period": [], "portfolio_return": []}
    for pid, (alpha, beta) in loadings.items():
        rows["portfolio_id"] += [pid] * n_t
        rows["period"] += list(range(n_t))
        rows["portfolio_return"] += list(alpha + f @ np.array(beta) + rng.normal(0, 0.012, n_t))
    returns = pa.table(rows)
    factors = pa.table({"period": np.arange(n_t), "mkt_rf": f[:, 0], "smb": f[:, 1], "hml": f[:, 2]})
    res = factor_regression(returns, factors)
    fac = to_arrow(res.factors, "x").to_pandas().set_index(["portfolio_id", "factor"])
    summ = to_arrow(res.summary, "x").to_pandas().set_index("portfolio_id")
    r_all = np.asarray(rows["portfolio_return"])
    for j, pid in enumerate(loadings):
        fit = sm.OLS(r_all[j * n_t:(j + 1) * n_t], sm.add_constant(f)).fit()
        for k, name in enumerate(("mkt_rf", "smb", "hml")):
            assert fac.loc[(pid, name), "beta"] == pytest.approx(fit.params[k + 1], rel=1e-10)
            assert fac.loc[(pid, name), "std_error"] == pytest.approx(fit.bse[k + 1], rel=1e-9)
            assert fac.loc[(pid, name), "t_stat"] == pytest.approx(fit.tvalues[k + 1], rel=1e-9)
        assert summ.loc[pid, "alpha"] == pytest.approx(fit.params[0], rel=1e-9)
        assert summ.loc[pid, "alpha_t_stat"] == pytest.approx(fit.tvalues[0], rel=1e-9)
        assert summ.loc[pid, "r_squared"] == pytest.approx(fit.rsquared, rel=1e-10)
        assert summ.loc[pid, "adj_r_squared"] == pytest.approx(fit.rsquared_adj, rel=1e-10)
    assert res.reconciles


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 30), st.integers(0, 2**32 - 1), st.booleans())
def test_regression_contributions_add_up(n_t, seed, active):
    rng = np.random.default_rng(seed)
    f = _factors(n_t, seed)
    r = rng.normal(0, 0.05, n_t)
    data = {"portfolio_id": ["A"] * n_t, "period": np.arange(n_t), "portfolio_return": r}
    if active:
        data["benchmark_return"] = rng.normal(0, 0.05, n_t)
    res = factor_regression(pa.table(data), pa.table({"period": np.arange(n_t), "a": f[:, 0], "b": f[:, 1],
                                                      "c": f[:, 2]}), active=active)
    summ = to_arrow(res.summary, "x").to_pylist()[0]
    target = r.sum() - (data["benchmark_return"].sum() if active else 0.0)
    assert summ["total_return"] == pytest.approx(target, abs=1e-13)
    assert summ["factor_contribution"] + summ["specific"] == pytest.approx(target, abs=1e-10)
    if n_t <= 4:  # T <= K + 1: no degrees of freedom left, t-stats are NaN
        assert np.isnan(to_arrow(res.factors, "x").column("t_stat").to_numpy()).all()


def test_regression_periods_must_line_up(backend):
    returns = from_arrow(pa.table({"portfolio_id": ["A", "A", "B"], "period": [1, 2, 3],
                                   "portfolio_return": [0.01, 0.02, 0.0]}), backend)
    with pytest.raises(ValidationError, match=r"no factor returns for portfolio 'B', period 3.*line up"):
        factor_regression(returns, pa.table({"period": [1, 2], "mkt": [0.01, 0.0]}))
    res = factor_regression(returns, pa.table({"period": [1, 2, 3], "mkt": [0.01, 0.0, 0.02]}))
    assert type(res.summary).__module__.split(".")[0] == {"arrow": "pyarrow", "polars": "polars",
                                                          "pandas": "pandas"}[backend]
    with pytest.raises(ValidationError, match="not finite in period 2"):
        factor_regression(returns, pa.table({"period": [1, 2, 3], "mkt": [0.01, np.nan, 0.02]}))


@st.composite
def holdings(draw):
    n_t, n_s = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.uniform(0, 1, (n_t, n_s))
    wb = rng.uniform(0, 1, (n_t, n_s))
    return pa.table({
        "portfolio_id": ["P"] * (n_t * n_s), "period": np.repeat(np.arange(n_t), n_s),
        "portfolio_weight": (w / w.sum(axis=1, keepdims=True)).ravel(),
        "benchmark_weight": (wb / wb.sum(axis=1, keepdims=True)).ravel(),
        "portfolio_return": rng.normal(0, 0.05, n_t * n_s), "benchmark_return": rng.normal(0, 0.05, n_t * n_s),
        "value": rng.normal(0, 1, n_t * n_s), "momentum": rng.normal(0, 1, n_t * n_s),
    }), pa.table({"period": np.arange(n_t), "value": rng.normal(0, 0.02, n_t),
                  "momentum": rng.normal(0, 0.02, n_t)})


@settings(max_examples=20, deadline=None)
@given(holdings(), st.booleans())
def test_holdings_factor_matches_reference(data, active):
    h, fr = data
    res = holdings_factor_attribution(h, fr, factor_names=["value", "momentum"], active=active)
    df = h.to_pandas()
    w = df.portfolio_weight - (df.benchmark_weight if active else 0.0)
    ret = df.portfolio_weight * df.portfolio_return - (df.benchmark_weight * df.benchmark_return if active else 0.0)
    expo = pd_groupsum(df.period, w.to_numpy()[:, None] * df[["value", "momentum"]].to_numpy())
    f = fr.to_pandas()[["value", "momentum"]].to_numpy()
    got = to_arrow(res.exposures, "x").column("exposure").to_numpy().reshape(-1, 2)
    np.testing.assert_allclose(got, expo, atol=1e-14)
    tot = to_arrow(res.totals, "x").to_pandas()
    total = pd_groupsum(df.period, ret.to_numpy()[:, None])[:, 0]
    np.testing.assert_allclose(tot.specific, total - (expo * f).sum(axis=1), atol=1e-14)
    assert res.reconciles


def pd_groupsum(keys, values):
    out = np.zeros((int(keys.max()) + 1, values.shape[1]))
    np.add.at(out, keys.to_numpy(), values)
    return out


def test_holdings_factor_needs_factor_returns_for_every_period():
    h = pa.table({"portfolio_id": ["P"], "period": [5], "portfolio_weight": [1.0], "portfolio_return": [0.01],
                  "value": [0.3]})
    with pytest.raises(ValidationError, match="portfolio 'P', period 5"):
        holdings_factor_attribution(h, pa.table({"period": [4], "value": [0.01]}), factor_names=["value"])


# ------------------------------------------------------------- risk


def test_two_asset_closed_form():
    # sigma^2 = w1^2 s1^2 + w2^2 s2^2 + 2 w1 w2 s12; contribution_i = w_i (Sigma w)_i / sigma
    w = pa.table({"portfolio_id": ["P", "P"], "asset_id": ["A", "B"], "portfolio_weight": [0.6, 0.4],
                  "benchmark_weight": [0.5, 0.5]})
    cov = np.array([[0.04, 0.006], [0.006, 0.01]])
    res = risk_attribution(w, cov)
    tot = to_arrow(res.totals, "x").to_pylist()[0]
    assert tot["volatility"] == pytest.approx(np.sqrt(0.36 * 0.04 + 0.16 * 0.01 + 2 * 0.24 * 0.006), rel=1e-14)
    a = np.array([0.1, -0.1])
    assert tot["tracking_error"] == pytest.approx(np.sqrt(a @ cov @ a), rel=1e-14)
    c = to_arrow(res.contributions, "x").to_pandas()
    np.testing.assert_allclose(c.volatility_contribution, [0.6 * 0.0264, 0.4 * 0.0076] / np.sqrt(0.01888), rtol=1e-13)
    assert res.reconciles


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_factor_model_matches_full_covariance(n_p, n_a, seed):
    rng = np.random.default_rng(seed)
    b = rng.normal(0, 1, (n_a, 2))
    fcov = np.array([[0.02, 0.004], [0.004, 0.01]])
    d = rng.uniform(0.001, 0.01, n_a)
    assets = [f"S{i}" for i in range(n_a)]
    w = rng.uniform(0, 1, (n_p, n_a))
    wb = rng.uniform(0, 1, n_a)
    table = pa.table({
        "portfolio_id": np.repeat(np.arange(n_p), n_a), "asset_id": assets * n_p,
        "portfolio_weight": w.ravel(), "benchmark_weight": np.tile(wb, n_p),
        "sector": [("Tech", "Energy")[i % 2] for i in range(n_a)] * n_p,
    })
    full = b @ fcov @ b.T + np.diag(d)
    cov_frame = pa.table({"asset_id": assets, **{a: full[:, i] for i, a in enumerate(assets)}})
    by_asset = risk_attribution(table, cov_frame)
    by_factor = risk_attribution(
        table, pa.table({"factor": ["f1", "f2"], "f1": fcov[:, 0], "f2": fcov[:, 1]}),
        exposures=pa.table({"asset_id": assets, "f1": b[:, 0], "f2": b[:, 1], "specific_variance": d}))
    by_sector = risk_attribution(table, full, by="sector")
    t1 = to_arrow(by_asset.totals, "x").to_pandas()
    t2 = to_arrow(by_factor.totals, "x").to_pandas()
    np.testing.assert_allclose(t1.volatility, t2.volatility, rtol=1e-12)
    np.testing.assert_allclose(t1.tracking_error, t2.tracking_error, rtol=1e-12)
    np.testing.assert_allclose(t1.volatility, np.sqrt(np.einsum("pi,ij,pj->p", w, full, w)), rtol=1e-12)
    for res in (by_asset, by_factor, by_sector):
        c = to_arrow(res.contributions, "x").to_pandas()
        np.testing.assert_allclose(c.groupby("portfolio_id").volatility_contribution.sum(), t1.volatility, rtol=1e-12)
        np.testing.assert_allclose(c.groupby("portfolio_id").tracking_error_share.sum(), 1.0, rtol=1e-12)
        assert res.reconciles


def test_risk_bad_input():
    w = pa.table({"portfolio_id": ["P", "P"], "asset_id": ["A", "B"], "portfolio_weight": [0.6, 0.4]})
    with pytest.raises(ValidationError, match="no row for an asset"):
        risk_attribution(w, pa.table({"asset_id": ["A"], "A": [0.04]}))
    with pytest.raises(ValidationError, match="wrong shape"):
        risk_attribution(w, np.eye(3))
    dup = pa.table({"portfolio_id": ["P", "P"], "asset_id": ["A", "A"], "portfolio_weight": [0.6, 0.4]})
    with pytest.raises(ValidationError, match="repeats portfolio 'P', asset 'A'"):
        risk_attribution(dup, np.eye(1))
