"""Optimal rebalancing: tracking error against proportional costs (pmcore.rebalance.optimal).

Sources: closed forms worked out here by subgradient calculus. One asset funded
from cash, min_w lam s^2 (w - t)^2 + c |w - w0|: 0 must be in
2 lam s^2 (w - t) + c [-1, 1] at w = w0 (no trade while |w0 - t| <= c / (2 lam s^2)),
else w = t +- c / (2 lam s^2), the band's edge -- the no-trade region of
proportional-cost rebalancing described by Leland (2000), "Optimal portfolio
implementation with transactions costs and capital gains taxes", and Donohue &
Yip (2003), "Optimal portfolio rebalancing with transaction costs", J. Portfolio
Management 29(4). Two correlated assets reduce to the same one-dimensional
problem on the spread. And an independent cvxpy model written in the test.
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow
from pmcore.rebalance.optimal import optimal_rebalance


def band_solution(w0, t, var, c, lam):
    """Closed form per asset (uncorrelated, funded from cash)."""
    d0 = w0 - t
    half = c / (2 * lam * var)
    return np.where(np.abs(d0) <= half, w0, t + np.sign(d0) * half)


band_case = st.tuples(
    st.lists(st.tuples(st.floats(0.05, 0.6), st.floats(0.0, 0.01), st.floats(-0.05, 0.05), st.floats(0.05, 0.3)),
             min_size=1, max_size=4),
    st.floats(0.5, 5.0),
)


@settings(max_examples=15, deadline=None)
@given(band_case)
def test_no_trade_band_closed_form(case):
    assets, lam = case
    vol = np.array([a[0] for a in assets])
    c = np.array([a[1] for a in assets])
    drift = np.array([a[2] for a in assets])
    t = np.array([a[3] for a in assets])
    w0 = t + drift
    n = len(assets)
    # the closed form is ambiguous to rounding within 1e-6 of the band's edge: stay clear of it
    assume(np.all(np.abs(np.abs(drift) - c / (2 * lam * vol ** 2)) > 1e-6))
    cov = np.diag(np.append(vol ** 2, 0.0))  # the last asset is cash
    cur = np.append(w0, 1.0 - w0.sum())
    tgt = np.append(t, 1.0 - t.sum())
    r = optimal_rebalance(cur, tgt, cov, costs=np.append(c, 0.0), risk_aversion=lam, lower=-np.inf)
    expect = band_solution(w0, t, vol ** 2, c, lam)
    np.testing.assert_allclose(r.weights[:n], expect, rtol=0, atol=1e-9)
    inside = np.abs(drift) <= c / (2 * lam * vol ** 2)
    assert r.to_arrow().column("traded").to_pylist()[:n] == (~inside & (np.abs(expect - w0) > 0)).tolist()
    assert r.objective_after <= r.objective_before + 1e-15


def test_two_assets_correlated_closed_form():
    # w2 = 1 - w1, so with d = w1 - t1 the problem is lam v d^2 + (c1 + c2) |d - d0|,
    # v = s1^2 + s2^2 - 2 rho s1 s2 = 0.04 + 0.09 - 2 x 0.5 x 0.06 = 0.07;
    # half band (0.001 + 0.003) / (2 x 2 x 0.07) = 0.0142857; d0 = 0.05 is outside,
    # so the drift is cut to the band's edge: d = 0.0142857, trading 0.05 - 0.0142857 of each asset
    s1, s2, rho, lam = 0.2, 0.3, 0.5, 2.0
    cov = np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])
    r = optimal_rebalance([0.65, 0.35], [0.6, 0.4], cov, costs=[0.001, 0.003], risk_aversion=lam)
    half = 0.004 / (2 * lam * 0.07)
    np.testing.assert_allclose(r.weights, [0.6 + half, 0.4 - half], atol=1e-12)
    assert r.cost == pytest.approx(0.004 * (0.05 - half), rel=1e-9)
    assert r.tracking_error_before == pytest.approx(0.05 * np.sqrt(0.07), rel=1e-12)
    # inside the band (d0 = 0.01 < 0.0142857): no trade at all
    assert optimal_rebalance([0.61, 0.39], [0.6, 0.4], cov, costs=[0.001, 0.003], risk_aversion=lam).turnover == 0.0


def _cvxpy_reference(w0, t, cov, c, lam):
    import cvxpy as cp

    w = cp.Variable(len(w0))
    obj = lam * cp.quad_form(w - t, cp.psd_wrap(cov)) + c @ cp.abs(w - w0)
    cp.Problem(cp.Minimize(obj), [cp.sum(w) == w0.sum(), w >= 0]).solve(
        solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, max_iter=500)
    return w.value, obj.value


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_matches_cvxpy_reference(seed):
    rng = np.random.default_rng(seed)
    n = 6
    a = rng.normal(size=(n, 40)) * 0.02
    cov = a @ a.T * 252 / 40
    t = rng.dirichlet(np.ones(n))
    w0 = np.clip(t + rng.normal(0, 0.03, n), 0, None)
    w0 /= w0.sum()
    c = rng.uniform(0, 0.004, n)
    r = optimal_rebalance(w0, t, cov, costs=c, risk_aversion=3.0)
    w_ref, f_ref = _cvxpy_reference(w0, t, cov, c, 3.0)
    assert r.objective_after <= f_ref + 1e-12  # never worse than the reference optimum
    assert r.objective_after == pytest.approx(f_ref, rel=1e-7, abs=1e-12)
    np.testing.assert_allclose(r.weights, w_ref, atol=2e-5)
    assert r.weights.min() >= 0 and r.weights.sum() == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_zero_costs_give_the_target(seed):
    rng = np.random.default_rng(seed)
    n = 5
    a = rng.normal(size=(n, 30))
    cov = a @ a.T / 30
    t = rng.dirichlet(np.ones(n))
    w0 = rng.dirichlet(np.ones(n))
    r = optimal_rebalance(w0, t, cov, costs=0.0)
    np.testing.assert_allclose(r.weights, t, atol=1e-12)
    assert r.tracking_error_after == pytest.approx(0.0, abs=1e-7) and r.cost == 0.0


def test_bounds_and_value():
    cov = np.diag([0.04, 0.09, 0.0])
    r = optimal_rebalance([0.52, 0.25, 0.23], [0.5, 0.3, 0.2], cov, costs=[0.001, 0.002, 0.0],
                          upper={1: 0.27}, value=1e6)
    assert r.weights[1] == pytest.approx(0.27, abs=1e-12)  # capped below the band edge 0.2889
    assert r.to_arrow().column("trade_value").to_pylist()[1] == pytest.approx(20_000.0)


@pytest.mark.parametrize("args, kw, message", [
    (([0.5, 0.5], [0.6, 0.5]), {}, "does not sum to the current weights' total"),
    (([0.5, 0.5], [0.5, 0.5]), {"costs": -0.1}, "costs"),
    (([0.5, 0.5], [0.5, 0.5]), {"risk_aversion": 0.0}, "risk_aversion"),
    (([0.5, 0.5, 0.0], [0.5, 0.5, 0.0]), {}, "wrong length"),
    (([0.5, float("nan")], [0.5, 0.5]), {}, "current"),
    (([0.5, 0.5], [0.5, 0.5]), {"value": -1.0}, "value"),
])
def test_bad_input(args, kw, message):
    with pytest.raises(pm.ValidationError, match=message):
        optimal_rebalance(*args, np.diag([0.04, 0.09]), **kw)


def test_missing_cvxpy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cvxpy", None)
    with pytest.raises(ImportError, match=r"pmcore\[optimize\]"):
        optimal_rebalance([0.6, 0.4], [0.5, 0.5], np.diag([0.04, 0.09]))
    # without costs no conic solver is needed
    assert optimal_rebalance([0.6, 0.4], [0.5, 0.5], np.diag([0.04, 0.09]), costs=0).turnover == pytest.approx(0.2)


def test_frames_and_mappings(backend):
    cov = pa.table({"AAA": [0.04, 0.0, 0.0], "BBB": [0.0, 0.09, 0.0], "CASH": [0.0, 0.0, 0.0]})
    cur = {"BBB": 0.25, "AAA": 0.52, "CASH": 0.23}
    r = optimal_rebalance(cur, {"AAA": 0.5, "BBB": 0.3, "CASH": 0.2}, from_arrow(cov, backend),
                          costs={"AAA": 0.001, "BBB": 0.002, "CASH": 0.0})
    assert frame_kind(r.trades) == backend and r.assets == ("AAA", "BBB", "CASH")
    np.testing.assert_allclose(r.weights[:2], [0.5125, 0.3 - 0.002 / 0.18], atol=1e-12)
    assert r.to_arrow().column("asset").to_pylist() == ["AAA", "BBB", "CASH"]
    assert "OptimalRebalance(" in repr(r) and "polish" in r.solver
