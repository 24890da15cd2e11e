"""Multi-period linking: Bacon's worked examples, a numpy reference, the kernel twin, properties."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.attribution import brinson
from pmcore.frames import to_arrow
from pmcore.kernels import attribution as K

UK, JP, US = "UK equities", "Japanese equities", "US equities"


def bacon_8_1():
    """Bacon (2008), Practical Portfolio Performance Measurement and Attribution, Exhibit 8.1."""
    wp = [[0.4, 0.3, 0.3], [0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.3, 0.5, 0.2]]
    wb = [[0.4, 0.2, 0.4], [0.4, 0.3, 0.3], [0.5, 0.4, 0.1], [0.4, 0.4, 0.2]]
    rp = [[0.2, -0.05, 0.06], [-0.05, 0.03, -0.05], [-0.2, 0.08, -0.15], [0.1, -0.07, 0.25]]
    rb = [[0.1, -0.04, 0.08], [-0.07, 0.04, -0.1], [-0.25, 0.05, -0.2], [0.05, -0.05, 0.1]]
    return pa.table({
        "portfolio_id": ["A"] * 12, "period": [t for t in range(1, 5) for _ in range(3)],
        "group": [UK, JP, US] * 4,
        "portfolio_weight": np.ravel(wp), "portfolio_return": np.ravel(rp),
        "benchmark_weight": np.ravel(wb), "benchmark_return": np.ravel(rb),
    })


# Four-quarter linked Brinson-Fachler effects, Bacon (2008): allocation and
# selection (selection there includes interaction), per market UK, Japan, US,
# rounded to 0.01 %. Carino Exhibit 8.2, Menchero Exhibit 8.3, GRAP Exhibit
# 8.4, Frongello Exhibit 8.5 (Frongello's totals equal GRAP's).
BACON_LINKED = {
    "carino": ([0.0165, -0.0060, 0.0015], [0.0804, 0.0018, 0.0385]),
    "menchero": ([0.0156, -0.0078, 0.0014], [0.0838, 0.0005, 0.0391]),
    "grap": ([0.0167, -0.0055, 0.0011], [0.0785, 0.0016, 0.0402]),
    "frongello": ([0.0167, -0.0055, 0.0011], [0.0785, 0.0016, 0.0402]),
}


@pytest.mark.parametrize("method", sorted(BACON_LINKED))
def test_bacon_linked_totals(method):
    res = brinson(bacon_8_1(), linking=method)
    linked = to_arrow(res.linked, "x").to_pandas().set_index("group").loc[[UK, JP, US]]
    allocation, selection = BACON_LINKED[method]
    # published to 4 decimals (Carino's Japan allocation is -0.006055)
    np.testing.assert_allclose(linked.allocation, allocation, atol=6e-5)
    np.testing.assert_allclose(linked.selection + linked.interaction, selection, atol=6e-5)
    tot = to_arrow(res.linked_totals, "x").to_pandas()
    # Exhibit 8.1: portfolio 3.86 %, benchmark -9.41 %, excess 13.27 %
    assert tot.portfolio_return[0] == pytest.approx(0.0386, abs=5e-5)
    assert tot.benchmark_return[0] == pytest.approx(-0.0941, abs=5e-5)
    assert tot.total[0] == pytest.approx(tot.active_return[0], abs=1e-15)
    assert res.reconciles


def reference_coefficients(r, b, method):
    """Plain numpy linking coefficients for one portfolio's periods (Bacon 2008, ch. 8)."""
    big_r = np.prod(1 + r) - 1
    big_b = np.prod(1 + b) - 1
    n = len(r)
    if method == K.CARINO:
        def k(x, y):
            return 1 / (1 + x) if x == y else (np.log1p(x) - np.log1p(y)) / (x - y)
        return np.array([k(x, y) for x, y in zip(r, b)]) / k(big_r, big_b)
    if method == K.MENCHERO:
        if big_r == big_b:
            m = (1 + big_r) ** ((n - 1) / n)
        else:
            m = (big_r - big_b) / n / ((1 + big_r) ** (1 / n) - (1 + big_b) ** (1 / n))
        a = r - b
        alpha = (big_r - big_b - m * a.sum()) / (a @ a) * a if (a @ a) else np.zeros(n)
        return m + alpha
    # GRAP
    return np.array([np.prod(1 + r[:t]) * np.prod(1 + b[t + 1:]) for t in range(n)])


returns = st.lists(st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(returns, st.sampled_from([K.CARINO, K.MENCHERO, K.GRAP]))
def test_coefficients_match_reference_and_twin(pairs, method):
    r = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    ps = np.array([0, len(r)], np.int64)
    got = np.empty(len(r))
    comp = np.empty((1, 2))
    K.link_coefficients(ps, r, b, method, got, comp)
    twin = np.empty(len(r))
    K.link_coefficients.py_func(ps, r, b, method, twin, np.empty((1, 2)))
    np.testing.assert_allclose(got, reference_coefficients(r, b, method), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, twin, rtol=1e-13)
    # linked active returns add up to the compounded active return
    assert np.sum(got * (r - b)) == pytest.approx(comp[0, 0] - comp[0, 1], abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(returns, st.integers(1, 4))
def test_frongello_totals_equal_grap(pairs, n_groups):
    r = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    rng = np.random.default_rng(len(pairs) * 7 + n_groups)
    eff = rng.normal(0, 0.01, (len(r), 7, n_groups))
    ps = np.array([0, len(r)], np.int64)
    out = {}
    for method in (K.GRAP, K.FRONGELLO):
        linked = np.empty((1, 3, n_groups))
        K.link_dense(ps, r, b, method, eff, linked, np.empty((1, 2)))
        out[method] = linked
    np.testing.assert_allclose(out[K.GRAP], out[K.FRONGELLO], rtol=1e-10, atol=1e-15)
    # Frongello's recursion by hand for group 0, allocation
    g = 0.0
    for t in range(len(r)):
        g = eff[t, 4, 0] * np.prod(1 + r[:t]) + b[t] * g + g
    assert out[K.FRONGELLO][0, 0, 0] == pytest.approx(g, rel=1e-10, abs=1e-15)


def test_equal_returns_use_the_limit():
    # R_t == B_t in every period: Carino's k_t is 1 / (1 + R_t), no division by zero
    r = np.array([0.01, -0.02, 0.03])
    coef = np.empty(3)
    K.link_coefficients(np.array([0, 3], np.int64), r, r.copy(), K.CARINO, coef, np.empty((1, 2)))
    assert np.all(np.isfinite(coef))
    K.link_coefficients(np.array([0, 3], np.int64), r, r.copy(), K.MENCHERO, coef, np.empty((1, 2)))
    assert np.all(np.isfinite(coef))


@st.composite
def multi_period(draw):
    n_t = draw(st.integers(1, 6))
    n_g = draw(st.integers(1, 4))
    n_p = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    wp = rng.uniform(0.05, 1, (n_p, n_t, n_g))
    wb = rng.uniform(0.05, 1, (n_p, n_t, n_g))
    n = n_p * n_t * n_g
    return pa.table({
        "portfolio_id": np.repeat(np.arange(n_p), n_t * n_g), "period": np.tile(np.repeat(np.arange(n_t), n_g), n_p),
        "group": np.tile([f"G{g}" for g in range(n_g)], n_p * n_t),
        "portfolio_weight": (wp / wp.sum(axis=2, keepdims=True)).ravel(),
        "benchmark_weight": (wb / wb.sum(axis=2, keepdims=True)).ravel(),
        "portfolio_return": rng.uniform(-0.3, 0.3, n), "benchmark_return": rng.uniform(-0.3, 0.3, n),
    })


@settings(max_examples=25, deadline=None)
@given(multi_period(), st.sampled_from(["carino", "menchero", "grap", "frongello"]))
def test_cumulative_has_no_look_ahead_and_ends_at_linked(table, linking):
    res = brinson(table, linking=linking, periods=True)
    cum = to_arrow(res.cumulative, "x").to_pandas()
    last_period = cum.groupby("portfolio_id").period.transform("max") == cum.period
    linked = to_arrow(res.linked, "x").to_pandas()
    np.testing.assert_allclose(cum[last_period].total.to_numpy(), linked.total.to_numpy(), rtol=1e-10, atol=1e-14)
    # through period t, the cumulative effects equal linking the data cut at t
    t_cut = int(table.column("period").to_numpy().max() // 2)
    cut = table.filter(pa.compute.less_equal(table.column("period"), t_cut))
    cut_linked = to_arrow(brinson(cut, linking=linking).linked, "x").to_pandas()
    at_cut = cum[cum.period == t_cut]
    for name in ("allocation", "selection", "interaction"):
        np.testing.assert_allclose(at_cut[name].to_numpy(), cut_linked[name].to_numpy(), rtol=1e-10, atol=1e-14)


def test_cumulative_kernel_matches_python_twin():
    r = np.array([0.02, -0.01, 0.03, 0.0])
    b = np.array([0.01, -0.02, 0.01, 0.005])
    eff = np.random.default_rng(1).normal(0, 0.01, (4, 7, 3))
    ps = np.array([0, 2, 4], np.int64)
    for method in (K.CARINO, K.MENCHERO, K.GRAP, K.FRONGELLO):
        a = np.empty((4, 3, 3))
        c = np.empty((4, 3, 3))
        K.link_cumulative(ps, r, b, method, eff, 4, a)
        K.link_cumulative.py_func(ps, r, b, method, eff, 4, c)
        np.testing.assert_allclose(a, c, rtol=1e-13)
