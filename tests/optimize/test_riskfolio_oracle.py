"""The same problems as riskfolio-lib (test-only oracle): equal risk contribution and minimum CVaR."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pmcore.optimize import cvar, min_cvar, risk_parity

rp = pytest.importorskip("riskfolio")


def _portfolio(r, mu, cov, alpha=0.05):
    port = rp.Portfolio(returns=r, alpha=alpha)
    port.mu, port.cov = mu.to_frame().T, cov
    port.solvers = ["CLARABEL"]
    port.sol_params = {"CLARABEL": {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}}
    return port


def test_erc_matches_riskfolio(sp500):
    r, mu, cov = sp500
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = _portfolio(r, mu, cov).rp_optimization(model="Classic", rm="MV", hist=True)
    ref = w.to_numpy().ravel()
    res = risk_parity(cov)
    np.testing.assert_allclose(res.x, ref, atol=1e-4)
    S = cov.to_numpy()
    rc_ref = ref * (S @ ref) / (ref @ S @ ref)
    assert np.max(np.abs(res.risk_contributions - 1 / len(ref))) <= np.max(np.abs(rc_ref - 1 / len(ref)))


def test_min_cvar_matches_riskfolio(sp500):
    r, mu, cov = sp500
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = _portfolio(r, mu, cov).optimization(model="Classic", rm="CVaR", obj="MinRisk", hist=True)
    ref = w.to_numpy().ravel()
    res = min_cvar(r, beta=0.95)
    f_ref = cvar(r, ref, beta=0.95)
    assert abs(res.fun - f_ref) <= 1e-6 * f_ref and res.fun <= f_ref * (1 + 1e-9)
    np.testing.assert_allclose(res.x, ref, atol=1e-4)
