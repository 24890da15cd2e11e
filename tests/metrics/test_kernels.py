"""Every metrics kernel against its uncompiled twin (``.py_func``) and a plain numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pmcore.kernels import metrics as k
from pmcore.kernels import metrics_rolling as kr

finite = st.floats(-0.5, 0.5, allow_nan=False, allow_infinity=False, width=64)
maybe_nan = st.one_of(finite, finite, finite, st.just(np.nan))


def matrices(min_rows=0, max_rows=40, max_cols=4, elements=maybe_nan):
    return hnp.arrays(
        np.float64,
        st.tuples(st.integers(min_rows, max_rows), st.integers(1, max_cols)),
        elements=elements,
    )


def both(kernel, *args, out_shapes, dtypes=None):
    """Run the compiled kernel and its Python twin; return both output tuples."""
    dtypes = dtypes or [np.float64] * len(out_shapes)
    outs = []
    for f in (kernel, kernel.py_func):
        bufs = [np.full(s, -7.0).astype(d) for s, d in zip(out_shapes, dtypes)]
        with np.errstate(all="ignore"):
            f(*args, *bufs)
        outs.append(bufs)
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, equal_nan=True)
    return outs[0]


def ref_mean_std(x, ddof):
    mean = np.full(x.shape[1], np.nan)
    std = np.full(x.shape[1], np.nan)
    for j in range(x.shape[1]):
        v = x[:, j][~np.isnan(x[:, j])]
        if len(v):
            mean[j] = v.mean()
        if len(v) > ddof:
            std[j] = 0.0 if v.min() == v.max() else v.std(ddof=ddof)
    return mean, std


@given(matrices(), st.integers(0, 2))
def test_mean_std(x, ddof):
    mean, std = both(k.mean_std, x, np.zeros(1), 0, ddof, out_shapes=[x.shape[1], x.shape[1]])
    want_mean, want_std = ref_mean_std(x, ddof)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(std, want_std, rtol=1e-10, atol=1e-15)


@given(matrices(min_rows=1))
def test_mean_std_with_rate_series(x):
    rate = np.linspace(-0.01, 0.01, len(x))
    mean, std = both(k.mean_std, x, rate, 1, 1, out_shapes=[x.shape[1], x.shape[1]])
    want_mean, want_std = ref_mean_std(x - rate[:, None], 1)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(std, want_std, rtol=1e-9, atol=1e-15)


@given(matrices())
def test_total_return_and_drawdown(x):
    n = x.shape[1]
    total, count = both(k.total_return, x, out_shapes=[n, n], dtypes=[np.float64, np.int64])
    filled = np.nan_to_num(x, nan=0.0)
    np.testing.assert_allclose(total, np.prod(1 + filled, axis=0) - 1, rtol=1e-12, atol=1e-15)
    assert (count == (~np.isnan(x)).sum(axis=0)).all()
    for include_start in (True, False):
        mdd, total2, count2 = both(k.max_drawdown, x, include_start, out_shapes=[n, n, n],
                                   dtypes=[np.float64, np.float64, np.int64])
        np.testing.assert_array_equal(total2, total)
        np.testing.assert_array_equal(count2, count)
        (series,) = both(k.drawdown_series, x, include_start, out_shapes=[x.shape])
        wealth = np.cumprod(1 + filled, axis=0)
        if include_start:
            wealth = np.vstack([np.ones((1, n)), wealth])
        peak = np.maximum.accumulate(wealth, axis=0)
        dd = wealth / peak - 1 if len(wealth) else np.zeros((0, n))
        want = np.minimum(dd.min(axis=0), 0.0) if len(dd) else np.zeros(n)
        np.testing.assert_allclose(mdd, want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(series, dd[1:] if include_start else dd, rtol=1e-12, atol=1e-15)


@given(matrices(), st.floats(-0.01, 0.01))
def test_downside_and_omega(x, mar):
    n = x.shape[1]
    mean, dd = both(k.downside, x, np.array([mar]), 0, out_shapes=[n, n])
    om, scale = both(k.omega, x, np.array([mar]), 0, 0.0, out_shapes=[n, n])
    for j in range(n):
        v = x[:, j][~np.isnan(x[:, j])] - mar
        np.testing.assert_allclose(scale[j], np.abs(v).sum(), rtol=1e-10, atol=1e-15)
        if len(v) == 0:
            assert np.isnan(mean[j]) and np.isnan(dd[j])
            continue
        np.testing.assert_allclose(mean[j], v.mean(), rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(dd[j], np.sqrt(np.mean(np.minimum(v, 0) ** 2)), rtol=1e-10, atol=1e-15)
        loss = -v[v < 0].sum()
        with np.errstate(over="ignore"):  # a subnormal loss: the ratio overflows to inf
            want = v[v > 0].sum() / loss if loss > 0 else np.nan
        np.testing.assert_allclose(om[j], want, rtol=1e-10, atol=1e-15)


@given(matrices(), st.floats(0.01, 0.99))
def test_quantiles(x, q):
    n = x.shape[1]
    quant, tail, finite = both(k.tail_quantiles, x, q, True, out_shapes=[n, n, n],
                               dtypes=[np.float64, np.float64, np.int64])
    lo, hi = both(k.two_quantiles, x, q, 1 - q, out_shapes=[n, n])
    for j in range(n):
        v = x[:, j][~np.isnan(x[:, j])]
        assert finite[j] == len(v)
        if len(v) == 0:
            assert np.isnan(quant[j]) and np.isnan(tail[j])
            continue
        np.testing.assert_allclose(quant[j], np.percentile(v, 100 * q), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(lo[j], np.percentile(v, 100 * q), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(hi[j], np.percentile(v, 100 * (1 - q)), rtol=1e-12, atol=1e-15)
        m = int((len(v) - 1) * q)
        np.testing.assert_allclose(tail[j], np.sort(v)[: m + 1].mean(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("pattern", ["normal", "ties", "adversarial", "sorted", "nan"])
@pytest.mark.parametrize("q", [0.01, 0.05, 0.5, 0.95])
def test_sampled_tail_select_long_columns(pattern, q):
    rng = np.random.default_rng(11)
    n = 2520
    x = rng.standard_t(3, n) * 0.01
    if pattern == "ties":
        x = np.round(x, 3)
    elif pattern == "adversarial":  # the sample sees only the large values
        step = n // 128  # the kernel samples every (n // 128)-th row
        x = np.where(np.arange(n) % step == 0, 1.0, x)
    elif pattern == "sorted":
        x = np.sort(x)[::-1].copy()
    elif pattern == "nan":
        x[rng.random(n) < 0.3] = np.nan
    for kern in (k.tail_quantiles, k.tail_quantiles.py_func):
        quant = np.empty(1)
        tail = np.empty(1)
        kern(x[:, None].copy(), q, True, quant, tail, np.empty(1, np.int64))
        v = x[~np.isnan(x)]
        np.testing.assert_allclose(quant[0], np.percentile(v, 100 * q), rtol=1e-13)
        m = int((len(v) - 1) * q)
        np.testing.assert_allclose(tail[0], np.sort(v)[: m + 1].mean(), rtol=1e-11)


def test_tail_select_wide_rows():
    """More columns than one 64-bit word of keep flags (the last word partial), both tails, twin too."""
    rng = np.random.default_rng(8)
    x = rng.standard_t(3, (600, 130)) * 0.01
    x[rng.random(x.shape) < 0.05] = np.nan
    x[:, 70] = np.sort(x[:, 70])  # a column whose sampled bound misses
    assert k._pack_bytes(np.uint64(0x0100000101000001)) == 0b10011001
    for kern in (k.tail_quantiles, k.tail_quantiles.py_func):
        for q, need_sum in ((0.05, True), (0.95, False)):
            quant, tail, finite = np.empty(130), np.empty(130), np.empty(130, np.int64)
            kern(x, q, need_sum, quant, tail, finite)
            for j in range(130):
                v = x[:, j][~np.isnan(x[:, j])]
                assert finite[j] == len(v)
                np.testing.assert_allclose(quant[j], np.percentile(v, 100 * q), rtol=1e-13)
                if need_sum:
                    m = int((len(v) - 1) * q)
                    np.testing.assert_allclose(tail[j], np.sort(v)[: m + 1].mean(), rtol=1e-11)


def _tail_patterns(n, rng):
    """Columns that defeat a sampled bound: the sample rows see only large or only small values."""
    step = n // 128  # the rows the kernel samples
    base = rng.standard_t(3, n) * 0.01
    sampled = np.arange(n) % step == 0
    cols = [base, np.round(base, 3), np.sort(base), np.sort(base)[::-1],
            np.where(sampled, 1.0, base), np.where(sampled, -1.0, base), np.where(rng.random(n) < 0.3, np.nan, base),
            np.full(n, 0.002)]
    return np.column_stack(cols)


@pytest.mark.parametrize("layout", [np.ascontiguousarray, np.asfortranarray])
@pytest.mark.parametrize("q", [0.01, 0.05, 0.5, 0.95, 0.99])
def test_sampled_tail_select_blocks(layout, q):
    """Blocks of long columns, C and F order, both tails: numpy's percentile and sorted tail mean."""
    x = layout(np.tile(_tail_patterns(2520, np.random.default_rng(5)), (1, 3)))
    n = x.shape[1]
    quant, tail, finite = np.empty(n), np.empty(n), np.empty(n, np.int64)
    k.tail_quantiles(x, q, True, quant, tail, finite)
    lo, hi = np.empty(n), np.empty(n)
    k.two_quantiles(x, q, 1.0 - q, lo, hi)
    for j in range(n):
        v = x[:, j][~np.isnan(x[:, j])]
        assert finite[j] == len(v)
        np.testing.assert_allclose(quant[j], np.percentile(v, 100 * q), rtol=1e-13)
        np.testing.assert_allclose(lo[j], np.percentile(v, 100 * q), rtol=1e-13)
        np.testing.assert_allclose(hi[j], np.percentile(v, 100 * (1 - q)), rtol=1e-13)
        m = int((len(v) - 1) * q)
        np.testing.assert_allclose(tail[j], np.sort(v)[: m + 1].mean(), rtol=1e-11)


@given(hnp.arrays(np.float64, st.integers(1, 60), elements=st.integers(-5, 5).map(float)),
       st.data())
def test_quickselect_with_ties(a, data):
    kth = data.draw(st.integers(0, len(a) - 1))
    b = a.copy()
    k.quickselect(b, len(b), kth)
    assert b[kth] == np.sort(a)[kth]
    assert (b[:kth] <= b[kth]).all() and (b[kth + 1:] >= b[kth]).all()
    c = a.copy()
    k.quickselect.py_func(c, len(c), kth)
    assert c[kth] == b[kth]


@given(matrices())
def test_higher_moments_and_extremes(x):
    n = x.shape[1]
    (m,) = both(k.higher_moments, x, out_shapes=[(n, 5)])
    lo, hi = both(k.extremes, x, out_shapes=[n, n])
    for j in range(n):
        v = x[:, j][~np.isnan(x[:, j])]
        assert m[j, 0] == len(v)
        if len(v) == 0:
            assert np.isnan(lo[j]) and np.isnan(hi[j])
            continue
        d = v - v.mean()
        np.testing.assert_allclose(m[j, 1:], [v.mean(), (d**2).mean(), (d**3).mean(), (d**4).mean()],
                                   rtol=1e-9, atol=1e-15)
        assert lo[j] == v.min() and hi[j] == v.max()


@given(matrices(min_rows=2), st.floats(-0.001, 0.001))
def test_alpha_beta(x, rf):
    n = x.shape[1]
    f = np.linspace(-0.02, 0.03, len(x)) ** 2 - 0.0002
    f[::7] = np.nan
    am, b = both(k.alpha_beta, x, f, np.array([rf]), 0, out_shapes=[n, n])
    for j in range(n):
        ok = ~np.isnan(x[:, j]) & ~np.isnan(f)
        if ok.sum() == 0:
            assert np.isnan(b[j])
            continue
        y, g = x[ok, j], f[ok]
        var = np.mean((g - g.mean()) ** 2)
        want_b = np.mean((g - g.mean()) * y) / var if var >= 1e-30 else np.nan
        np.testing.assert_allclose(b[j], want_b, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(am[j], np.mean((y - rf) - want_b * (g - rf)), rtol=1e-9, atol=1e-12)


@given(matrices(), st.integers(1, 8))
def test_group_compound(x, size):
    offsets = np.unique(np.r_[np.arange(0, len(x), size), len(x)]).astype(np.int64)
    if len(offsets) == 1:
        offsets = np.array([0, 0], np.int64)
    (out,) = both(k.group_compound, x, offsets, out_shapes=[(len(offsets) - 1, x.shape[1])])
    for g in range(len(offsets) - 1):
        block = x[offsets[g]:offsets[g + 1]]
        want = np.prod(1 + np.nan_to_num(block), axis=0) - 1
        want[np.isnan(block).all(axis=0)] = np.nan
        np.testing.assert_allclose(out[g], want, rtol=1e-12, atol=1e-15)


def test_first_infinite():
    x = np.zeros((4, 3))
    assert k.first_infinite(x) == -1
    x[2, 1] = -np.inf
    x[3, 0] = np.inf
    assert k.first_infinite(x) == 7 == k.first_infinite.py_func(x)


def test_trade_streaks_hand_checked():
    codes = np.array([0, 0, 0, 0, 1, 1])
    pnl = np.array([1.0, 2.0, -1.0, 0.0, -3.0, -1.0])
    (out,) = both(k.trade_streaks, codes, pnl, 2, out_shapes=[(2, 11)])
    assert out[0].tolist() == [4, 2, 1, 3.0, -1.0, 2.0, -1.0, 2, 1, 0, 0]
    assert out[1].tolist() == [2, 0, 2, 0.0, -4.0, np.nan, -1.0, 0, 2, 0, 2] or np.isnan(out[1, 5])


# ------------------------------------------------------------------ rolling


def ref_rolling(x, window, fn):
    out = np.full(x.shape, np.nan)
    for t in range(window - 1, len(x)):
        for j in range(x.shape[1]):
            out[t, j] = fn(x[t - window + 1:t + 1, j])
    return out


@given(matrices(max_rows=50), st.integers(1, 12), st.integers(0, 1))
def test_rolling_mean_std(x, window, ddof):
    (mean,) = both(kr.rolling_mean_std, x, np.zeros(1), 0, window, ddof, 2, 1.0, out_shapes=[x.shape])
    (std,) = both(kr.rolling_mean_std, x, np.zeros(1), 0, window, ddof, 0, 1.0, out_shapes=[x.shape])
    (ratio,) = both(kr.rolling_mean_std, x, np.zeros(1), 0, window, ddof, 1, 2.0, out_shapes=[x.shape])
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(ratio, mean / std * 2.0, rtol=1e-12, equal_nan=True)

    def m(v):
        v = v[~np.isnan(v)]
        return v.mean() if len(v) else np.nan

    def s(v):
        v = v[~np.isnan(v)]
        if len(v) <= ddof:
            return np.nan
        return 0.0 if v.min() == v.max() else v.std(ddof=ddof)

    np.testing.assert_allclose(mean, ref_rolling(x, window, m), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(std, ref_rolling(x, window, s), rtol=1e-7, atol=1e-9)


@given(matrices(max_rows=50), st.integers(2, 12))
def test_rolling_beta(x, window):
    f = np.cos(np.arange(len(x)) * 1.3) * 0.01
    (out,) = both(kr.rolling_beta, x, f, window, out_shapes=[x.shape])
    want = np.full(x.shape, np.nan)
    for t in range(window - 1, len(x)):
        for j in range(x.shape[1]):
            y = x[t - window + 1:t + 1, j]
            g = f[t - window + 1:t + 1]
            ok = ~np.isnan(y)
            if ok.sum() < 2:
                continue
            y, g = y[ok], g[ok]
            var = np.mean((g - g.mean()) ** 2)
            if var >= 1e-30:
                want[t, j] = np.mean((g - g.mean()) * (y - y.mean())) / var
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-8)


@given(matrices(max_rows=50, elements=st.one_of(st.floats(-0.9, 1.0), st.just(np.nan))),
       st.integers(1, 12), st.booleans())
def test_rolling_max_drawdown(x, window, include_start):
    (out,) = both(kr.rolling_max_drawdown, x, window, include_start, out_shapes=[x.shape])

    def mdd(v):
        out = np.empty(1)
        k.max_drawdown.py_func(v[:, None], include_start, out, np.empty(1), np.empty(1, np.int64))
        return out[0]

    np.testing.assert_allclose(out, ref_rolling(x, window, mdd), rtol=1e-10, atol=1e-12)


@pytest.mark.slow
@settings(max_examples=150)
@given(matrices(min_rows=100, max_rows=400, max_cols=2), st.integers(2, 40))
def test_rolling_long_series_drift(x, window):
    """Long runs of add-and-remove updates stay within rounding of a fresh computation."""
    (std,) = both(kr.rolling_mean_std, x, np.zeros(1), 0, window, 1, 0, 1.0, out_shapes=[x.shape])

    def s(v):
        v = v[~np.isnan(v)]
        if len(v) <= 1:
            return np.nan
        return 0.0 if v.min() == v.max() else v.std(ddof=1)

    np.testing.assert_allclose(std, ref_rolling(x, window, s), rtol=1e-7, atol=1e-9)


# ------------------------------------------------- row-major twins (C order)

ROW_TWINS = [
    ("total_return", lambda x: [x.shape[1], x.shape[1]], (), [np.float64, np.int64]),
    ("mean_std", lambda x: [x.shape[1], x.shape[1]], (np.array([0.001]), 0, 1), None),
    ("downside", lambda x: [x.shape[1], x.shape[1]], (np.array([0.001]), 0), None),
    ("max_drawdown", lambda x: [x.shape[1]] * 3, (True,), [np.float64, np.float64, np.int64]),
    ("omega", lambda x: [x.shape[1]] * 2, (np.array([0.0]), 0, 0.0001), None),
]


@pytest.mark.parametrize(("name", "shapes", "args", "dtypes"), ROW_TWINS, ids=[t[0] for t in ROW_TWINS])
@given(x=matrices(max_cols=6))
def test_row_major_twins(name, shapes, args, dtypes, x):
    x = np.ascontiguousarray(x)
    rows = both(getattr(k, name + "_rows"), x, *args, out_shapes=shapes(x), dtypes=dtypes)
    cols = both(getattr(k, name), x, *args, out_shapes=shapes(x), dtypes=dtypes)
    for a, b in zip(rows, cols):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13, equal_nan=True)


@given(matrices(min_rows=2, max_cols=6))
def test_alpha_beta_rows_twin(x):
    f = np.linspace(-0.02, 0.03, len(x))
    f[::5] = np.nan
    shapes = [x.shape[1], x.shape[1]]
    rows = both(k.alpha_beta_rows, x, f, np.array([0.0001]), 0, out_shapes=shapes)
    cols = both(k.alpha_beta, x, f, np.array([0.0001]), 0, out_shapes=shapes)
    for a, b in zip(rows, cols):
        # the row kernel forms the mean residual from means: absolute rounding ~ eps * |y|
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


@given(matrices(max_rows=50, max_cols=5, elements=st.one_of(finite, maybe_nan)),
       st.integers(1, 12), st.integers(0, 1))
def test_rolling_mean_std_rows_twin(x, window, ddof):
    rate = np.array([0.0002])
    x = np.ascontiguousarray(x)
    got = {}
    for what, rtol, atol in ((2, 1e-9, 1e-13), (0, 1e-7, 1e-9), (1, None, None)):
        (rows,) = both(kr.rolling_mean_std_rows, x, rate, 0, window, ddof, what, 1.0, out_shapes=[x.shape])
        got[what] = rows
        if rtol is None:
            continue
        (cols,) = both(kr.rolling_mean_std, x, rate, 0, window, ddof, what, 1.0, out_shapes=[x.shape])
        np.testing.assert_allclose(rows, cols, rtol=rtol, atol=atol)
    # the Sharpe path (its own loop, with a fast path for windows without NaN)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(got[1], got[2] / got[0], rtol=1e-12, equal_nan=True)


@given(matrices(min_rows=1, max_rows=60, max_cols=5, elements=finite), st.integers(1, 15))
def test_rolling_sharpe_rows_against_numpy(x, window):
    """Full windows (no NaN): the row kernel's Sharpe against numpy's mean / std."""
    x = np.ascontiguousarray(x)
    (got,) = both(kr.rolling_mean_std_rows, x, np.array([0.0]), 0, window, 1, 1, 3.0, out_shapes=[x.shape])

    def sharpe(v):
        if len(v) < 2:
            return np.nan
        sd = 0.0 if v.min() == v.max() else v.std(ddof=1)
        with np.errstate(all="ignore"):
            return v.mean() / sd * 3.0

    want = ref_rolling(x, window, sharpe)
    # a mean near 0 over a std near 0 is ill-conditioned: compare where sd is not tiny
    sd = ref_rolling(x, window, lambda v: v.std(ddof=1) if len(v) > 1 else np.nan)
    ok = ~(sd < 1e-6)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-7, atol=1e-9)


def test_rolling_constant_window_after_volatile_one():
    x = np.r_[np.array([0.3, -0.2, 0.25, -0.3]), np.full(12, 0.001)][:, None] * np.ones((1, 3))
    for kern in (kr.rolling_mean_std, kr.rolling_mean_std_rows):
        mean = np.empty(x.shape)
        std = np.empty(x.shape)
        kern(np.ascontiguousarray(x), np.zeros(1), 0, 5, 1, 2, 1.0, mean)
        kern(np.ascontiguousarray(x), np.zeros(1), 0, 5, 1, 0, 1.0, std)
        assert (std[8:] == 0.0).all() and (mean[8:] == 0.001).all()


def test_rolling_beta_flat_series_after_a_jump():
    # found by hypothesis: a jump, then a flat (constant) series with holes;
    # the covariance of a constant window is exactly 0, not rounding residue
    x = np.zeros((17, 2))
    x[0, 1] = 0.1875
    x[14:16, 1] = np.nan
    x[5:, 0] = 0.003
    f = np.cos(np.arange(17) * 1.3) * 0.01
    for layout in (np.ascontiguousarray, np.asfortranarray):
        out = np.empty(x.shape)
        kr.rolling_beta(layout(x), f, 4, out)
        assert (out[8:] == 0.0).all()


@given(matrices(max_rows=40, elements=st.one_of(st.floats(-0.5, 0.5), st.just(np.nan))), st.booleans())
def test_drawdown_details(x, include_start):
    n = x.shape[1]
    depth, amount, rows = both(k.drawdown_details, x, include_start, 100.0,
                               out_shapes=[n, n, (n, 3)], dtypes=[np.float64, np.float64, np.int64])
    for j in range(n):
        wealth = 100.0 * np.cumprod(1 + np.nan_to_num(x[:, j]))
        start = [100.0] if include_start else []
        path = np.r_[start, wealth]
        peak = np.maximum.accumulate(path) if len(path) else path
        dd = path / peak - 1 if len(path) else path
        worst = min(dd.min(), 0.0) if len(dd) else 0.0
        np.testing.assert_allclose(depth[j], worst, rtol=1e-12, atol=1e-15)
        if worst == 0.0:
            assert rows[j].tolist() == [-1, -1, -1]
            continue
        off = 1 if include_start else 0
        # the first lowest point; drawdowns equal but for rounding (found by hypothesis:
        # -0.125 twice, one of them computed as -0.125 - 1e-17) may tie either way
        ties = np.flatnonzero(dd <= worst + 1e-12 * abs(worst)) - off
        trough = int(rows[j, 1])
        assert trough in ties
        peak_value = peak[trough + off]
        np.testing.assert_allclose(amount[j], path[trough + off] - peak_value, rtol=1e-12, atol=1e-12)
        later = np.flatnonzero(wealth[trough + 1:] >= peak_value)
        assert rows[j, 2] == (trough + 1 + later[0] if len(later) else -1)


@given(hnp.arrays(np.float64, st.tuples(st.integers(0, 30), st.integers(1, 5)),
                  elements=st.one_of(st.floats(-1, 1), st.sampled_from([np.inf, -np.inf, np.nan]))))
def test_first_infinite_matches_numpy(x):
    got = k.first_infinite(x)
    assert got == k.first_infinite.py_func(x)
    bad = np.flatnonzero(np.isinf(x).ravel())
    assert got == (bad[0] if len(bad) else -1)


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([-2.0, -1.0, 0.0, 1.0, 3.0])), max_size=40))
def test_trade_streaks(rows):
    rows = sorted(rows, key=lambda r: r[0])  # grouped, order within a group kept
    codes = np.array([r[0] for r in rows], np.int64)
    pnl = np.array([r[1] for r in rows])
    (out,) = both(k.trade_streaks, codes, pnl, 4, out_shapes=[(4, 11)])
    for g in range(4):
        p = pnl[codes == g]
        streak_w = streak_l = best_w = best_l = 0
        for v in p:
            streak_w = streak_w + 1 if v > 0 else 0
            streak_l = streak_l + 1 if v < 0 else 0
            best_w, best_l = max(best_w, streak_w), max(best_l, streak_l)
        want = [len(p), (p > 0).sum(), (p < 0).sum(), p[p > 0].sum(), p[p < 0].sum(),
                p[p > 0].max() if (p > 0).any() else np.nan, p[p < 0].min() if (p < 0).any() else np.nan,
                best_w, best_l, streak_w, streak_l]
        np.testing.assert_allclose(out[g], want, equal_nan=True)


def test_rolling_mean_of_an_empty_window_is_nan():
    # found by hypothesis: values leave the window in another order than they
    # entered, so the running sum of an empty window held rounding residue
    # (times 1/0: an infinite mean in the row kernel, NaN in the column one)
    x = np.full((14, 2), np.nan)
    x[0, 1], x[9, 1], x[10, 1] = 0.375, 0.0, 0.25
    for kern in (kr.rolling_mean_std, kr.rolling_mean_std_rows):
        mean = np.empty(x.shape)
        kern(x, np.array([0.0002]), 0, 3, 0, 2, 1.0, mean)
        assert np.isnan(mean[13, 1]) and mean[12, 1] == pytest.approx(0.2498)


def test_rolling_kernels_report_an_infinity():
    x = np.zeros((30, 3))
    for kern in (kr.rolling_mean_std, kr.rolling_mean_std_rows):
        assert not kern(x, np.zeros(1), 0, 5, 1, 1, 1.0, np.empty(x.shape))
        y = x.copy()
        y[17, 2] = -np.inf
        with np.errstate(all="ignore"):
            assert kern(y, np.zeros(1), 0, 5, 1, 1, 1.0, np.empty(x.shape))


def test_rolling_sharpe_of_a_subnormal_variance_is_finite():
    # found by hypothesis: returns of 1e-157 have a squared deviation below the
    # smallest normal double; mean * sqrt(den / ss) overflowed to inf (the ratio is
    # 1, times the scale 2; subnormal arithmetic keeps about 9 digits)
    x = np.array([[0.0, 0.0], [1.0556723e-157, 1.0556723e-157]])
    for kern in (kr.rolling_mean_std, kr.rolling_mean_std_rows):
        for f in (kern, kern.py_func):
            out = np.empty(x.shape)
            f(x, np.zeros(1), 0, 2, 0, 1, 2.0, out)
            np.testing.assert_allclose(out[1], [2.0, 2.0], rtol=1e-8)
