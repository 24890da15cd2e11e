"""Risk parity against riskparityportfolio and closed forms; HRP against PyPortfolioOpt and skfolio;
compiled kernels against their Python twins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.errors import ValidationError
from pmcore.kernels.optimize import covariance_screen, hrp_bisect, risk_budget_ccd
from pmcore.optimize import hrp, risk_parity


def _cov(seed, n):
    rng = np.random.default_rng(seed)
    B = rng.normal(0, 1, (n, 3))
    return B @ B.T * 0.02 + np.diag(rng.uniform(0.01, 0.06, n))


def test_erc_contributions_equal(sp500):
    _, mu, cov = sp500
    res = risk_parity(cov, mu)
    rc = res.risk_contributions
    assert np.max(np.abs(rc - 1 / len(rc))) / (1 / len(rc)) <= 1e-8
    assert res.x.sum() == pytest.approx(1.0, abs=1e-15) and (res.x > 0).all()


def test_erc_matches_riskparityportfolio(sp500):
    pytest.importorskip("jax")
    rpp = pytest.importorskip("riskparityportfolio")
    _, _, cov = sp500
    S = cov.to_numpy()
    b = np.linspace(1, 2, len(S))
    b /= b.sum()
    w_ref = rpp.vanilla.design(S, b)
    res = risk_parity(S, budgets=b)
    np.testing.assert_allclose(res.x, w_ref, atol=1e-4)
    np.testing.assert_allclose(res.risk_contributions, b, rtol=1e-8)


def test_two_asset_closed_form_and_zero_budget():
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    res = risk_parity(cov)  # ERC with two assets: inverse volatility
    np.testing.assert_allclose(res.x, [0.6, 0.4], rtol=1e-12)
    res3 = risk_parity(_cov(1, 4), budgets=[0.5, 0.5, 0.0, 0.0])
    assert (res3.x[2:] == 0).all()
    with pytest.raises(ValidationError):
        risk_parity(cov, budgets=[-1, 2])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 5000), n=st.integers(2, 12))
def test_ccd_kernel_matches_python_twin(seed, n):
    S = _cov(seed, n)
    b = np.random.default_rng(seed).uniform(0.1, 1, n)
    b /= b.sum()
    y0 = b / np.sqrt(np.diag(S))
    y1, y2 = y0.copy(), y0.copy()
    k1 = risk_budget_ccd(S, b, y1, 1e-12, 10000)  # compiled first: the patches below reach only the twin
    import pmcore.kernels.optimize as K

    with pytest.MonkeyPatch.context() as mp:  # the twin in pure Python, helpers included
        mp.setattr(K, "_ccd_sweep", K._ccd_sweep.py_func)
        mp.setattr(K, "_ccd_step", K._ccd_step.py_func)
        k2 = risk_budget_ccd.py_func(S, b, y2, 1e-12, 10000)
    assert k1 == k2 > 0
    np.testing.assert_allclose(y1, y2, rtol=1e-12)
    np.testing.assert_allclose(y1 * (S @ y1), b, rtol=1e-10)


def _ccd_reference(S, b, y, sweeps):
    """Cyclical coordinate descent written from the paper's formula, one coordinate at a time
    (Griveau-Billion, Richard & Roncalli 2013, eq. for the coordinate minimizer)."""
    for _ in range(sweeps):
        for i in range(len(y)):
            c = S[i] @ y - S[i, i] * y[i]
            y[i] = (-c + np.sqrt(c * c + 4 * S[i, i] * b[i])) / (2 * S[i, i])
    return y


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 5000), n=st.integers(1, 11), sweeps=st.integers(1, 4))
def test_blocked_sweep_is_the_cyclic_sweep(seed, n, sweeps):
    from pmcore.kernels.optimize import _ccd_sweep

    S = _cov(seed, n)
    b = np.random.default_rng(seed).uniform(0.1, 1, n)
    y = b / np.sqrt(np.diag(S))
    ref = _ccd_reference(S, b, y.copy(), sweeps)
    s = S @ y
    for _ in range(sweeps):
        _ccd_sweep(S, b, y, s)
    np.testing.assert_allclose(y, ref, rtol=1e-12)
    np.testing.assert_allclose(s, S @ y, rtol=1e-12)


def test_tolerance_is_certified_and_looser_is_cheaper(sp500):
    _, _, cov = sp500
    tight, loose = risk_parity(cov), risk_parity(cov, tol=1e-3)
    for res, tol in ((tight, 1e-8), (loose, 1e-3)):  # fun is recomputed from the returned weights
        b = np.full(len(res.x), 1 / len(res.x))
        assert res.fun == pytest.approx(np.max(np.abs(res.risk_contributions - b) / b), abs=1e-15)
        assert res.fun <= tol
    assert loose.iterations < tight.iterations
    assert risk_parity(cov, tol=1e-12).fun <= 1e-12


def test_frames_give_the_numpy_answer(sp500):
    import polars as pl
    import pyarrow as pa

    _, _, cov = sp500
    ref = risk_parity(cov.to_numpy()).x
    for frame in (cov, pl.from_pandas(cov), pa.Table.from_pandas(cov, preserve_index=False)):
        np.testing.assert_array_equal(risk_parity(frame).x, ref)


# indefinite "covariances": eigenvalues of these correlation matrices are 1 - 0.9 sqrt(2), -0.8, -0.6
COPOSITIVE = np.array([[1, 0.9, 0.9], [0.9, 1, 0], [0.9, 0, 1.0]])
SADDLE = np.array([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1.0]])
DIVERGES = np.array([[1, -0.8, -0.8], [-0.8, 1, -0.8], [-0.8, -0.8, 1.0]])


def test_indefinite_cov_raises_a_clear_error():
    for bad in (DIVERGES, np.array([[1.0, 2.0], [2.0, 1.0]])):  # solver diverges; a 2x2 minor < 0
        with pytest.raises(ValidationError, match="is not positive semi-definite"):
            risk_parity(bad)
    for bad in (COPOSITIVE, SADDLE, DIVERGES):
        with pytest.raises(ValidationError, match="is not positive semi-definite"):
            risk_parity(bad, check_psd=True)
    asym = _cov(3, 5)
    asym[0, 1] += 1e-6
    with pytest.raises(ValidationError, match="is not symmetric"):
        risk_parity(asym)
    nan = _cov(3, 5)
    nan[2, 4] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        risk_parity(nan)


def test_certificate_without_psd_check_is_what_the_docs_say():
    """Documented limit of the default (no O(n^3) PSD test): an indefinite matrix on which the
    sweeps reach a stationary point gives that point, whose risk contributions equal the budgets."""
    for bad in (COPOSITIVE, SADDLE):
        res = risk_parity(bad)
        rc = res.x * (bad @ res.x) / (res.x @ bad @ res.x)
        assert np.max(np.abs(rc - 1 / 3)) * 3 <= 1e-8 and res.volatility > 0


def test_pairwise_deleted_correlations_are_rejected():
    """Correlations from pairwise-complete observations (pandas' DataFrame.corr with NaN): the
    typical indefinite input in practice."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    checked = 0
    while checked < 10:
        x = rng.normal(size=(60, 30))
        x[rng.random(x.shape) < 0.5] = np.nan
        corr = pd.DataFrame(x).corr().to_numpy()
        if np.linalg.eigvalsh(corr)[0] < -1e-6:
            with pytest.raises(ValidationError, match="is not positive semi-definite"):
                risk_parity(corr)
            checked += 1


def _screen_reference(C, rtol):
    d = np.diag(C)
    if not (np.isfinite(C).all() and (d > 0).all()):
        return 1
    if np.abs(C - C.T).max() > rtol * d.max():
        return 1
    iu = np.triu_indices(len(C), 1)
    return int((C[iu] ** 2 > np.outer(d, d)[iu] * (1 + 1e-12)).any())


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 5000), n=st.integers(1, 70), defect=st.sampled_from(["none", "asym", "tiny_asym",
       "nan", "inf", "zero_var", "neg_var", "minor"]))
def test_covariance_screen_matches_reference_and_twin(seed, n, defect):
    C = _cov(seed, n)
    rng = np.random.default_rng(seed)
    i, j = int(rng.integers(n)), int(rng.integers(n))
    if defect == "asym" and i != j:
        C[i, j] += 1e-6
    elif defect == "tiny_asym" and i != j:
        C[i, j] += 1e-15  # within 1e-10 relative: accepted, reported as asymmetric
    elif defect in ("nan", "inf"):
        C[i, j] = np.nan if defect == "nan" else np.inf
    elif defect in ("zero_var", "neg_var"):
        C[i, i] = 0.0 if defect == "zero_var" else -0.01
    elif defect == "minor" and i != j:
        C[i, j] = C[j, i] = 1.01 * np.sqrt(C[i, i] * C[j, j])
    status, asym = covariance_screen(C, 1e-10)
    assert (status, asym) == covariance_screen.py_func(C, 1e-10)
    assert status == _screen_reference(C, 1e-10)
    if status == 0:
        assert asym == np.abs(C - C.T).max()


def test_hrp_matches_pypfopt_single_linkage(sp500):
    pypfopt = pytest.importorskip("pypfopt")
    r, _, cov = sp500
    ref = pypfopt.HRPOpt(returns=r, cov_matrix=r.cov())
    w_ref = np.array([ref.optimize(linkage_method="single")[a] for a in r.columns])
    np.testing.assert_allclose(hrp(r.cov()).x, w_ref, atol=1e-12)


def test_hrp_matches_skfolio_ward(sp500):
    from skfolio.optimization import HierarchicalRiskParity

    r, _, _ = sp500
    sk = HierarchicalRiskParity().fit(r)  # Ward linkage with optimal leaf ordering (skfolio's default)
    ours = hrp(r.cov(), linkage="ward", optimal_ordering=True)
    np.testing.assert_allclose(ours.x, sk.weights_, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 5000), n=st.integers(1, 15))
def test_hrp_kernel_matches_python_twin(seed, n):
    S = _cov(seed, n)
    order = np.random.default_rng(seed).permutation(n).astype(np.int64)
    a, b = np.empty(n), np.empty(n)
    hrp_bisect(S, order, a)
    hrp_bisect.py_func(S, order, b)
    np.testing.assert_allclose(a, b, rtol=1e-13)
    assert a.sum() == pytest.approx(1.0, abs=1e-12) and (a > 0).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 40),
       method=st.sampled_from(["single", "ward", "average", "complete"]))
def test_optimal_leaf_order_is_scipys(seed, n, method):
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    from pmcore.optimize.hierarchical import optimal_leaf_order

    x = np.random.default_rng(seed).normal(size=(n, 4))
    dist = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    v = squareform(dist, checks=False)
    link = linkage(v, method)
    np.testing.assert_array_equal(optimal_leaf_order(link, dist), leaves_list(optimal_leaf_ordering(link, v)))


def test_olo_kernel_matches_python_twin():
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    from pmcore.kernels.optimize import olo_costs

    x = np.random.default_rng(5).normal(size=(9, 3))
    dist = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    link = linkage(squareform(dist, checks=False), "average")
    # block layout of a 9-leaf tree, built as in optimal_leaf_order
    from pmcore.optimize import hierarchical as H

    captured = {}
    real = H.__dict__.get("olo_costs")
    del real

    import pmcore.kernels.optimize as K

    orig = K.olo_costs

    def spy(*args):
        captured["args"] = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        return orig(*args)

    K.olo_costs = spy
    try:
        H.optimal_leaf_order(link, dist)
    finally:
        K.olo_costs = orig
    a1 = [a.copy() for a in captured["args"]]
    a2 = [a.copy() for a in captured["args"]]
    olo_costs(*a1)
    olo_costs.py_func(*a2)
    np.testing.assert_allclose(a1[-1], a2[-1], rtol=1e-14)
