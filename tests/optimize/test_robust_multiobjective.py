"""Robust mean-variance and multi-objective problems against closed-form equivalences."""

from __future__ import annotations

import numpy as np
import pytest

from pmcore.errors import ValidationError
from pmcore.optimize import (
    max_utility,
    min_cvar,
    min_variance,
    multi_objective,
    pareto_frontier,
    robust_mean_variance,
)


def test_box_long_only_is_utility_with_shifted_mu(sp500):
    _, mu, cov = sp500
    delta = np.linspace(0.0, 0.1, len(mu))
    rob = robust_mean_variance(mu, cov, uncertainty="box", size=delta, risk_aversion=3)
    ref = max_utility(mu - delta, cov, risk_aversion=3)  # worst case of mu'w, w >= 0, is (mu - delta)'w
    np.testing.assert_allclose(rob.x, ref.x, atol=1e-6)


def test_ellipsoid_radius_zero_is_nominal_and_shrinks_risky_bets(sp500):
    _, mu, cov = sp500
    nominal = max_utility(mu, cov, risk_aversion=3)
    np.testing.assert_allclose(robust_mean_variance(mu, cov, size=0.0, risk_aversion=3).x, nominal.x, atol=1e-6)
    rob = robust_mean_variance(mu, cov, size=0.5, risk_aversion=3)
    assert rob.volatility < nominal.volatility
    with pytest.raises(ValidationError):
        robust_mean_variance(mu, cov, uncertainty="hexagon")


def test_multi_objective_reduces_to_single_problems(sp500):
    r, mu, cov = sp500
    a = multi_objective(mu, cov, weights={"return": 1.0, "variance": 2.0})
    np.testing.assert_allclose(a.x, max_utility(mu, cov, risk_aversion=4).x, atol=1e-6)
    v = multi_objective(mu, cov, weights={"variance": 1.0})
    assert v.volatility == pytest.approx(min_variance(cov).volatility, rel=1e-6)
    c = multi_objective(mu, cov, weights={"cvar": 1.0}, returns=r)
    assert c.extra["objectives"]["cvar"] == pytest.approx(min_cvar(r).fun, rel=1e-6)
    with pytest.raises(ValidationError, match="needs"):
        multi_objective(mu, cov, weights={"cvar": 1.0})


def test_esg_and_turnover_objectives(sp500):
    _, mu, cov = sp500
    n = len(mu)
    esg = np.linspace(0, 1, n)
    base = multi_objective(mu, cov, weights={"variance": 1.0})
    green = multi_objective(mu, cov, weights={"variance": 1.0, "esg": 0.05}, esg_scores=esg)
    assert green.extra["objectives"]["esg"] > float(esg @ base.x)
    cur = np.full(n, 1 / n)
    sticky = multi_objective(mu, cov, weights={"variance": 1.0, "turnover": 0.05}, current=cur)
    assert sticky.turnover < np.abs(base.x - cur).sum()


def test_pareto_variance_cvar(sp500):
    r, mu, cov = sp500
    f = pareto_frontier(mu, cov, objectives=("variance", "cvar"), returns=r, n_points=5)
    var, cv = f.objectives["variance"], f.objectives["cvar"]
    assert np.all(np.diff(var) >= -1e-9) and np.all(np.diff(cv) <= 1e-9)
    assert var[0] == pytest.approx(min_variance(cov).fun, rel=1e-5)
    assert cv[-1] == pytest.approx(min_cvar(r).fun, rel=1e-5)
