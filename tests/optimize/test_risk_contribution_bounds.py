"""Bounds on risk contributions (sequential convex programming) against closed forms and an
independent nonlinear solver (scipy's SLSQP with the exact constraints)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.errors import ValidationError
from pmcore.optimize import (
    InfeasibleError,
    efficient_frontier,
    max_sharpe,
    max_utility,
    min_variance,
    risk_parity,
)


def _rc(w, S):
    s = S @ w
    return w * s / (w @ s)


def test_cap_of_one_over_n_is_the_erc_portfolio(sp500):
    """Shares summing to one, each at most 1/n: only equal risk contribution is feasible."""
    _, mu, cov = sp500
    n = len(mu)
    erc = risk_parity(cov).x
    for res in (min_variance(cov, max_risk_contribution=1 / n), min_variance(cov, min_risk_contribution=1 / n),
                max_utility(mu, cov, risk_aversion=3, max_risk_contribution=1 / n)):
        np.testing.assert_allclose(res.x, erc, atol=1e-8)
        np.testing.assert_allclose(res.risk_contributions, 1 / n, atol=1e-9)


def _slsqp_min_variance(S, cap):
    from scipy.optimize import minimize

    n = len(S)
    cons = [{"type": "eq", "fun": lambda w: w.sum() - 1.0},
            {"type": "ineq", "fun": lambda w: cap * (w @ S @ w) - w * (S @ w)}]
    out = minimize(lambda w: w @ S @ w, np.full(n, 1 / n), jac=lambda w: 2 * S @ w, bounds=[(0, 1)] * n,
                   constraints=cons, method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
    assert out.success
    return out.x


def test_cap_matches_slsqp_and_is_reported_binding(sp500):
    _, mu, cov = sp500
    S = cov.to_numpy()
    res = min_variance(cov, max_risk_contribution=0.1)
    ref = _slsqp_min_variance(S, 0.1)
    assert _rc(res.x, S).max() <= 0.1 + 1e-9
    assert abs(res.fun - ref @ S @ ref) <= 1e-6 * (ref @ S @ ref)
    np.testing.assert_allclose(res.x, ref, atol=1e-4)
    assert res.fun >= min_variance(cov).fun  # a bound can only cost variance
    binding = [b for b in res.binding if b.startswith("max_risk_contribution")]
    assert len(binding) == int(np.sum(np.abs(res.risk_contributions - 0.1) <= 1e-9)) > 0
    assert res.x.sum() == pytest.approx(1.0, abs=1e-15) and (res.x >= 0).all()


def test_floors_per_asset_and_max_sharpe(sp500):
    _, mu, cov = sp500
    first = cov.columns[0]
    res = max_sharpe(mu, cov, min_risk_contribution={first: 0.2}, max_risk_contribution=0.3)
    rc = res.risk_contributions
    assert rc[0] >= 0.2 - 1e-9 and rc.max() <= 0.3 + 1e-9
    plain = max_sharpe(mu, cov)
    assert res.sharpe <= plain.sharpe + 1e-12


def test_with_turnover_goes_through_the_conic_solver(sp500):
    _, mu, cov = sp500
    n = len(mu)
    res = max_utility(mu, cov, risk_aversion=3, max_risk_contribution=0.1, current=np.full(n, 1 / n),
                      max_turnover=0.8)
    assert res.solver.startswith("CLARABEL") and res.solver.endswith("+scp")
    assert res.risk_contributions.max() <= 0.1 + 1e-9 and res.turnover <= 0.8 + 1e-8


def test_bounds_that_cannot_hold(sp500):
    _, _, cov = sp500
    with pytest.raises(InfeasibleError) as e:
        min_variance(cov, min_risk_contribution=0.1)  # 20 floors of 10 % sum to 200 %
    assert e.value.conflicts == ("min_risk_contribution",)
    with pytest.raises(InfeasibleError):
        min_variance(cov, max_risk_contribution=0.04)  # 20 caps of 4 % sum to 80 %
    with pytest.raises(ValidationError, match="max_risk_contribution"):
        min_variance(cov, max_risk_contribution=0.0)
    with pytest.raises(ValidationError, match="min_risk_contribution"):
        min_variance(cov, min_risk_contribution=0.3, max_risk_contribution=0.2)
    with pytest.raises(ValidationError, match="efficient_frontier"):
        efficient_frontier(cov.mean(), cov, max_risk_contribution=0.2)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 12), slack=st.floats(0.01, 0.5))
def test_random_caps_are_met_and_cost_no_more_than_erc(seed, n, slack):
    rng = np.random.default_rng(seed)
    B = rng.normal(0, 1, (n, 3))
    S = B @ B.T * 0.01 + np.diag(rng.uniform(0.01, 0.05, n))
    cap = min(1.0 / n + slack, 1.0)
    res = min_variance(S, max_risk_contribution=cap)
    assert _rc(res.x, S).max() <= cap + 1e-9
    assert abs(res.x.sum() - 1) <= 1e-15 and (res.x >= 0).all()
    erc = risk_parity(S).x  # feasible for any cap >= 1/n
    assert res.fun <= erc @ S @ erc * (1 + 1e-9)
    assert res.fun >= min_variance(S).fun * (1 - 1e-12)
