"""Minimum CVaR against skfolio and a brute-force CVaR; the frontier against single solves and
PyPortfolioOpt."""

from __future__ import annotations

import numpy as np
import pytest

from pmcore.optimize import InfeasibleError, cvar, efficient_frontier, efficient_return, min_cvar

TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def test_cvar_definition():
    r = np.random.default_rng(0).normal(0, 0.01, (1000, 1))
    losses = np.sort(-r[:, 0])[::-1]
    assert cvar(r, [1.0], beta=0.95) == pytest.approx(losses[:50].mean(), rel=1e-12)


def test_min_cvar_matches_skfolio(sp500):
    from skfolio.optimization import MeanRisk
    from skfolio.measures import RiskMeasure

    r, _, _ = sp500
    res = min_cvar(r, beta=0.95)
    sk = MeanRisk(risk_measure=RiskMeasure.CVAR, cvar_beta=0.95, solver_params=TIGHT).fit(r)
    ref = cvar(r, sk.weights_, beta=0.95)
    assert abs(res.fun - ref) <= 1e-6 * ref
    assert res.fun <= ref * (1 + 1e-9)
    np.testing.assert_allclose(res.x, sk.weights_, atol=1e-4)
    assert res.x.sum() == pytest.approx(1.0, abs=1e-15)


def test_min_cvar_constraints(sp500, sectors):
    r, _, _ = sp500
    res = min_cvar(r, upper=0.15, groups=sectors, group_upper=0.3, target_return=0.2)
    assert res.x.max() <= 0.15 + 1e-9 and res.expected_return >= 0.2 - 1e-9
    with pytest.raises(InfeasibleError):
        min_cvar(r, upper=0.01)


def test_frontier_points_equal_single_solves(sp500):
    _, mu, cov = sp500
    f = efficient_frontier(mu, cov, n_points=12)
    assert len(f) == 12 and np.all(np.diff(f.expected_return) > 0) and np.all(np.diff(f.volatility) >= -1e-12)
    for i in (3, 7, 10):
        single = efficient_return(mu, cov, target_return=float(f.expected_return[i]))
        np.testing.assert_allclose(f.weights[i], single.x, atol=1e-10)
    assert f.to_pandas().shape == (12, 4 + len(mu)) and "Frontier(12 points" in repr(f)


def test_frontier_matches_pypfopt(sp500):
    pypfopt = pytest.importorskip("pypfopt")
    _, mu, cov = sp500
    f = efficient_frontier(mu, cov, n_points=6, upper=0.3)
    for i in (1, 3, 4):
        ef = pypfopt.EfficientFrontier(mu, cov, weight_bounds=(0, 0.3), solver="CLARABEL", solver_options=TIGHT)
        w = np.array(list(ef.efficient_return(float(f.expected_return[i])).values()))
        np.testing.assert_allclose(f.weights[i], w, atol=1e-4)


def test_frontier_conic_path(sp500):
    _, mu, cov = sp500
    n = len(mu)
    f = efficient_frontier(mu, cov, n_points=5, current=np.full(n, 1 / n), max_turnover=0.8)
    assert f.solver == "CLARABEL"
    assert np.all(np.abs(f.weights - 1 / n).sum(axis=1) <= 0.8 + 1e-7)
