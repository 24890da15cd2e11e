"""Mean-variance problems against PyPortfolioOpt and skfolio (test-only oracles, solved with
Clarabel at tight tolerances), constraint handling, typed errors and KKT properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.errors import ValidationError
from pmcore.optimize import (
    Constraints,
    InfeasibleError,
    efficient_return,
    efficient_risk,
    max_sharpe,
    max_utility,
    min_variance,
)
from pmcore.optimize._qp import solve_qp

from .conftest import violation

pypfopt = pytest.importorskip("pypfopt")
TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def _ef(mu, cov, **kw):
    return pypfopt.EfficientFrontier(mu, cov, solver="CLARABEL", solver_options=TIGHT, **kw)


def _close(res, w_ref, f_ours, f_ref):
    np.testing.assert_allclose(res.x, w_ref, atol=1e-4)
    assert abs(f_ours - f_ref) <= 1e-6 * abs(f_ref)


def test_min_variance_matches_pypfopt(sp500):
    _, mu, cov = sp500
    res = min_variance(cov, mu)
    ef = _ef(mu, cov)
    w = np.array(list(ef.min_volatility().values()))
    S = cov.to_numpy()
    _close(res, w, res.fun, w @ S @ w)
    assert res.fun <= w @ S @ w * (1 + 1e-12)  # exact active set: never worse than the conic solver
    assert res.solver == "active_set"
    assert abs(res.x.sum() - 1.0) <= 1e-15 and (res.x >= 0).all()
    assert list(res.weights) == list(cov.columns)


def test_max_sharpe_matches_pypfopt_and_skfolio(sp500):
    r, mu, cov = sp500
    res = max_sharpe(mu, cov, risk_free=0.02)
    ef = _ef(mu, cov)
    w = np.array(list(ef.max_sharpe(risk_free_rate=0.02).values()))
    S = cov.to_numpy()
    ref_sharpe = (mu.to_numpy() @ w - 0.02) / np.sqrt(w @ S @ w)
    _close(res, w, -res.fun, ref_sharpe)
    assert res.sharpe >= ref_sharpe * (1 - 1e-12)
    from skfolio.optimization import MeanRisk, ObjectiveFunction
    from skfolio.prior import EmpiricalPrior

    class _Fixed(EmpiricalPrior):
        pass

    sk = MeanRisk(objective_function=ObjectiveFunction.MAXIMIZE_RATIO, risk_free_rate=0.02 / 252,
                  solver_params=TIGHT).fit(r)
    np.testing.assert_allclose(max_sharpe(r.mean(), r.cov(), risk_free=0.02 / 252).x, sk.weights_, atol=1e-4)


def test_utility_with_sector_caps_matches_pypfopt(sp500, sectors):
    _, mu, cov = sp500
    res = max_utility(mu, cov, risk_aversion=3, upper=0.15, groups=sectors, group_upper=0.3, group_lower=0.1)
    ef = _ef(mu, cov, weight_bounds=(0, 0.15))
    ef.add_sector_constraints(sectors, {g: 0.1 for g in set(sectors.values())},
                              {g: 0.3 for g in set(sectors.values())})
    w = np.array(list(ef.max_quadratic_utility(risk_aversion=3).values()))
    S, m = cov.to_numpy(), mu.to_numpy()
    _close(res, w, res.fun, -(m @ w - 1.5 * w @ S @ w))
    labels = np.array([sectors[a] for a in cov.columns])
    for g in set(labels):
        total = res.x[labels == g].sum()
        assert 0.1 - 1e-9 <= total <= 0.3 + 1e-9
    assert any(b.startswith("group_upper") or b.startswith("upper") for b in res.binding)


def test_efficient_return_and_risk_match_pypfopt(sp500):
    _, mu, cov = sp500
    S = cov.to_numpy()
    res = efficient_return(mu, cov, target_return=0.3)
    w = np.array(list(_ef(mu, cov).efficient_return(0.3).values()))
    _close(res, w, res.fun, w @ S @ w)
    res2 = efficient_risk(mu, cov, target_volatility=0.2)
    w2 = np.array(list(_ef(mu, cov).efficient_risk(0.2).values()))
    _close(res2, w2, -res2.fun, mu.to_numpy() @ w2)
    assert abs(res2.volatility - 0.2) <= 1e-9


def test_long_short_with_leverage_matches_pypfopt(sp500):
    _, mu, cov = sp500
    res = max_utility(mu, cov, risk_aversion=5, lower=-0.3, upper=0.5, max_leverage=1.6)
    assert res.solver.startswith("CLARABEL")
    import cvxpy as cp

    w = cp.Variable(len(mu))
    S, m = cov.to_numpy(), mu.to_numpy()
    prob = cp.Problem(cp.Maximize(m @ w - 2.5 * cp.quad_form(w, S)),
                      [cp.sum(w) == 1, w >= -0.3, w <= 0.5, cp.norm1(w) <= 1.6])
    prob.solve(solver="CLARABEL", **TIGHT)
    _close(res, w.value, -res.fun, prob.value)
    assert np.abs(res.x).sum() <= 1.6 + 1e-9


def test_turnover_costs_tracking_error(sp500):
    _, mu, cov = sp500
    n = len(mu)
    current = np.full(n, 1 / n)
    res = max_utility(mu, cov, risk_aversion=4, current=current, max_turnover=0.3, costs=0.002,
                      benchmark=current, max_tracking_error=0.05)
    assert res.turnover <= 0.3 + 1e-8
    d = res.x - current
    assert np.sqrt(d @ cov.to_numpy() @ d) <= 0.05 + 1e-8
    assert violation(res.x, 0, 1) <= 1e-9
    # the fallback solver gives the same answer
    res2 = max_utility(mu, cov, risk_aversion=4, current=current, max_turnover=0.3, costs=0.002,
                       benchmark=current, max_tracking_error=0.05, solver="SCS", fallback_solver="CLARABEL")
    np.testing.assert_allclose(res2.x, res.x, atol=1e-3)


def test_conic_path_agrees_with_active_set(sp500, sectors):
    _, mu, cov = sp500
    kw = dict(upper=0.2, groups=sectors, group_upper=0.35)
    a = max_sharpe(mu, cov, **kw)
    b = max_sharpe(mu, cov, solver="CLARABEL", **kw)
    assert a.solver == "active_set" and b.solver == "CLARABEL+active_set"
    np.testing.assert_allclose(a.x, b.x, atol=1e-9)


def test_esg_and_exclusions(sp500):
    _, mu, cov = sp500
    cols = list(cov.columns)
    esg = {a: float(i % 5) for i, a in enumerate(cols)}
    res = min_variance(cov, mu, esg_scores=esg, min_esg=2.5, exclude=cols[:3])
    assert (res.x[:3] == 0).all()
    assert res.x @ np.array([esg[a] for a in cols]) >= 2.5 - 1e-9
    assert "min_esg" in res.binding


def test_cardinality_heuristic(sp500):
    _, mu, cov = sp500
    res = max_sharpe(mu, cov, max_holdings=4, min_position=0.1)
    held = res.x[res.x > 0]
    assert len(held) <= 4 and held.min() >= 0.1 - 1e-12
    assert "greedy" in res.solver


def test_weights_are_clean(sp500):
    _, mu, cov = sp500
    res = min_variance(cov, mu, upper=0.2)
    assert (res.x >= 0).all() and res.x.sum() == pytest.approx(1.0, abs=1e-15)
    assert ((res.x == 0) | (res.x > 1e-10)).all()
    assert res.x_raw.shape == res.x.shape


def test_infeasible_names_conflicts(sp500, sectors):
    _, mu, cov = sp500
    with pytest.raises(InfeasibleError) as e:
        min_variance(cov, group_lower=0.3, groups=sectors)  # 4 groups x 30 % > 100 %
    assert e.value.conflicts == ("budget", "group_lower")
    assert "group floors" in str(e.value)
    with pytest.raises(InfeasibleError) as e:
        min_variance(cov, upper=0.04)  # 20 assets x 4 % < 100 %
    assert e.value.conflicts == ("budget", "upper")
    with pytest.raises(InfeasibleError) as e:
        efficient_return(mu, cov, target_return=5.0)
    assert "target_return" in e.value.conflicts
    with pytest.raises(InfeasibleError) as e:
        max_sharpe(mu * 0 - 0.1, cov)
    assert e.value.conflicts == ("risk_free",)


def test_validation_errors(sp500):
    _, mu, cov = sp500
    with pytest.raises(ValidationError, match="above the upper bound"):
        min_variance(cov, lower={cov.columns[0]: 0.5}, upper=0.4)
    with pytest.raises(ValidationError, match="does not match"):
        max_sharpe(mu.iloc[:-1], cov)
    with pytest.raises(ValidationError, match="not a known option"):
        min_variance(cov, uper=0.3)
    bad = cov.copy()
    bad.iloc[0, 1] = bad.iloc[1, 0] = 10.0
    with pytest.raises(ValidationError, match="positive semi-definite"):
        min_variance(bad)
    assert min_variance(bad, repair_psd=True).x.sum() == pytest.approx(1.0)
    m2 = mu.copy()
    m2.iloc[3] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        max_sharpe(m2, cov)


def test_constraints_object_and_kinds(sp500):
    _, mu, cov = sp500
    c = Constraints(upper=0.25)
    a = min_variance(cov, constraints=c)
    b = min_variance(cov.to_numpy(), upper=0.25)
    np.testing.assert_allclose(a.x, b.x, atol=1e-14)
    assert b.assets == tuple(range(len(mu)))
    import polars as pl

    f = min_variance(pl.from_pandas(cov), upper=0.25)
    np.testing.assert_allclose(f.x, a.x, atol=1e-14)
    df = a.to_pandas()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["weight", "weight_raw", "risk_contribution"]
    assert a.to_polars().height == len(mu) and a.to_arrow().num_rows == len(mu)
    assert "OptimizeResult(min_variance" in repr(a)


def _random_problem(seed, n, k_groups):
    rng = np.random.default_rng(seed)
    B = rng.normal(0, 1, (n, 3))
    cov = B @ B.T * 0.01 + np.diag(rng.uniform(0.01, 0.05, n))
    mu = rng.normal(0.08, 0.05, n)
    groups = rng.integers(0, k_groups, n)
    return cov, mu, groups


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 25), cap=st.floats(0.2, 1.0),
       delta=st.floats(0.5, 20.0))
def test_kkt_on_random_problems(seed, n, cap, delta):
    cov, mu, groups = _random_problem(seed, n, 3)
    ub = max(cap, 1.0 / n + 0.01)
    gcap = {g: 0.6 for g in set(groups.tolist())}
    try:
        res = max_utility(mu, cov, risk_aversion=delta, upper=ub, groups=groups.tolist(), group_upper=gcap)
    except InfeasibleError:
        # only when an independent LP agrees that no portfolio exists
        from scipy.optimize import linprog

        gs = sorted(set(groups.tolist()))
        A = np.array([(groups == g).astype(float) for g in gs])
        lp = linprog(np.zeros(n), A_ub=A, b_ub=np.full(len(gs), 0.6), A_eq=np.ones((1, n)), b_eq=[1.0],
                     bounds=[(0, ub)] * n, method="highs")
        assert lp.status == 2
        return
    w = res.x
    # primal feasibility
    assert violation(w, 0, ub) <= 1e-9
    for g in set(groups.tolist()):
        assert w[groups == g].sum() <= 0.6 + 1e-9
    # optimality: no feasible direction improves the objective (compare with Clarabel)
    import cvxpy as cp

    x = cp.Variable(n)
    cons = [cp.sum(x) == 1, x >= 0, x <= ub] + [cp.sum(x[groups == g]) <= 0.6 for g in set(groups.tolist())]
    prob = cp.Problem(cp.Minimize(delta / 2 * cp.quad_form(x, cov) - mu @ x), cons)
    prob.solve(solver="CLARABEL", **TIGHT)
    assert res.fun <= prob.value + 1e-9 * max(1.0, abs(prob.value))
    assert abs(res.fun - prob.value) <= 1e-6 * max(1.0, abs(prob.value))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 20))
def test_qp_kkt_conditions(seed, n):
    """The active-set solver's own multipliers certify optimality (KKT to rounding)."""
    cov, mu, _ = _random_problem(seed, n, 2)
    lo, hi = np.zeros(n), np.full(n, 0.5)
    G = np.ones((1, n))
    G[0, n // 2:] = 0.0
    h = np.array([0.7])
    sol = solve_qp(2 * cov, -mu, np.ones((1, n)), np.array([1.0]), G, h, lo, hi)
    if sol is None:  # degenerate start: the public layer falls back to the conic solver
        return
    x = sol.x
    tol = 1e-10
    assert abs(x.sum() - 1) <= tol and (x >= lo - tol).all() and (x <= hi + tol).all()
    assert (G @ x <= h + tol).all()
    assert (sol.nu_in >= -tol).all()
    assert np.all(np.abs(sol.nu_in * (G @ x - h)) <= tol)
    grad = 2 * cov @ x - mu + sol.nu_eq[0] + G.T @ sol.nu_in
    free = sol.state == 0
    assert np.all(np.abs(grad[free]) <= 1e-9)
    assert np.all(grad[sol.state < 0] >= -1e-9) and np.all(grad[sol.state > 0] <= 1e-9)


def test_thread_and_process_pools_give_identical_answers(sp500):
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    _, mu, cov = sp500
    S, m = cov.to_numpy(), mu.to_numpy()
    ref = max_sharpe(m, S, upper=0.2).x
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: max_sharpe(m, S, upper=0.2).x, range(8)))
    for x in outs:
        np.testing.assert_array_equal(x, ref)
    import multiprocessing as mp

    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        got = pool.submit(_max_sharpe_weights, m, S).result()
    np.testing.assert_allclose(got, ref, atol=1e-14)


def _max_sharpe_weights(m, S):
    return max_sharpe(m, S, upper=0.2).x


def test_cardinality_mixed_integer_matches_brute_force(sp500):
    """Exact MIQP (SCIP) against enumerating every 3-asset support of 10 assets (independent search)."""
    import cvxpy as cp
    from itertools import combinations

    if "SCIP" not in cp.installed_solvers():
        pytest.skip("no mixed-integer solver for cvxpy (pip install pyscipopt)")
    _, mu, cov = sp500
    S = cov.to_numpy()[:10, :10]
    res = min_variance(S, max_holdings=3, min_position=0.2, solver="mixed_integer")
    assert res.solver.startswith("SCIP+active_set")
    best = np.inf
    for sup in combinations(range(10), 3):
        sub = min_variance(S[np.ix_(sup, sup)], lower=0.2)
        best = min(best, sub.fun)
    assert abs(res.fun - best) <= 1e-9 * best
    held = res.x[res.x > 0]
    assert len(held) <= 3 and held.min() >= 0.2 and res.x.sum() == pytest.approx(1.0, abs=1e-15)
    greedy = min_variance(S, max_holdings=3, min_position=0.2)
    assert res.fun <= greedy.fun * (1 + 1e-12)  # the heuristic is feasible, never better than exact


def test_mixed_integer_needs_a_solver_or_bounds(sp500, monkeypatch):
    import cvxpy as cp

    _, mu, cov = sp500
    with pytest.raises(ValidationError, match="max_sharpe"):
        max_sharpe(mu, cov, max_holdings=3, solver="mixed_integer")
    monkeypatch.setattr(cp, "installed_solvers", lambda: ["CLARABEL"])
    with pytest.raises(ValidationError, match="pyscipopt"):
        min_variance(cov, max_holdings=3, solver="mixed_integer")


def test_l2_is_a_ridge_on_the_covariance(sp500):
    """gamma ||w||^2 in the objective equals solving with Sigma + (2 gamma / delta) I (closed form)."""
    _, mu, cov = sp500
    S = cov.to_numpy()
    n = len(S)
    a = max_utility(mu, cov, risk_aversion=4, l2=0.05)
    b = max_utility(mu, S + 2 * 0.05 / 4 * np.eye(n), risk_aversion=4)
    np.testing.assert_allclose(a.x, b.x, atol=1e-12)
    c = min_variance(cov, l2=0.1)
    d = min_variance(S + 0.1 * np.eye(n))
    np.testing.assert_allclose(c.x, d.x, atol=1e-12)
    assert c.fun == pytest.approx(d.fun, rel=1e-12)
    assert (c.x > 0).sum() > (min_variance(cov).x > 0).sum()  # the ridge spreads the weights


def test_linear_costs_against_an_independent_cvxpy_model(sp500):
    _, mu, cov = sp500
    S, m = cov.to_numpy(), mu.to_numpy()
    n = len(m)
    cur = np.zeros(n)
    cur[:5] = 0.2
    costs = np.linspace(0.001, 0.02, n)
    res = max_utility(mu, cov, risk_aversion=3, current=cur, costs=costs, upper=0.3)
    import cvxpy as cp

    w = cp.Variable(n)
    prob = cp.Problem(cp.Maximize(m @ w - 1.5 * cp.quad_form(w, S) - costs @ cp.abs(w - cur)),
                      [cp.sum(w) == 1, w >= 0, w <= 0.3])
    prob.solve(solver="CLARABEL", **TIGHT)
    _close(res, w.value, -res.fun, prob.value)
    assert res.turnover < np.abs(max_utility(mu, cov, risk_aversion=3, upper=0.3).x - cur).sum()


def _factor_data(n, seed=11):
    rng = np.random.default_rng(seed)
    f = rng.normal([4e-4, 1e-4, 0, 1e-4, 0], [0.010, 0.005, 0.004, 0.003, 0.003], (1260, 5))
    B = np.column_stack([rng.normal(1, 0.3, n), rng.normal(0, 0.6, (n, 4))])
    r = rng.normal(2e-4, 3e-4, n) + f @ B.T + rng.normal(0, 1, (1260, n)) * rng.uniform(0.008, 0.025, n)
    return r.mean(0) * 252, np.cov(r, rowvar=False) * 252


@pytest.mark.slow
def test_no_default_path_fails_at_500_assets():
    """The issue's size: maximum Sharpe and a 50-point frontier at N = 500 finish, exactly feasible,
    and max Sharpe is at least as good as Clarabel's answer at tight tolerances."""
    import cvxpy as cp

    mu, S = _factor_data(500)
    res = max_sharpe(mu, S)
    assert violation(res.x, 0, 1) <= 1e-9
    y = cp.Variable(500)
    prob = cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(S))), [mu @ y == 1, y >= 0])
    prob.solve(solver="CLARABEL", **TIGHT)
    w = y.value / y.value.sum()
    ref = mu @ w / np.sqrt(w @ S @ w)
    assert res.sharpe >= ref * (1 - 1e-9) and abs(res.sharpe - ref) <= 1e-6 * ref
    from pmcore.optimize import efficient_frontier

    f = efficient_frontier(mu, S, n_points=50, upper=0.05)
    assert len(f) == 50 and np.all(np.diff(f.expected_return) > 0)
    assert np.all(f.weights >= 0) and np.all(f.weights <= 0.05) and np.allclose(f.weights.sum(1), 1, atol=1e-15)
