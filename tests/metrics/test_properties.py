"""Metamorphic properties of the public metrics (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pmcore.metrics as pm

returns = hnp.arrays(
    np.float64,
    st.tuples(st.integers(3, 60), st.integers(1, 5)),
    elements=st.one_of(st.floats(-0.3, 0.3, allow_nan=False), st.just(np.nan)),
)
BENCH = np.sin(np.arange(60) * 0.7) * 0.01

PER_COLUMN = {
    "annual_return": lambda x: pm.annual_return(x),
    "annual_return_arith": lambda x: pm.annual_return(x, compound=False),
    "annual_volatility": lambda x: pm.annual_volatility(x),
    "sharpe_ratio": lambda x: pm.sharpe_ratio(x, risk_free=0.0001),
    "sortino_ratio": lambda x: pm.sortino_ratio(x),
    "max_drawdown": lambda x: pm.max_drawdown(x),
    "current_drawdown": lambda x: pm.current_drawdown(x),
    "calmar_ratio": lambda x: pm.calmar_ratio(x),
    "omega_ratio": lambda x: pm.omega_ratio(x),
    "tail_ratio": lambda x: pm.tail_ratio(x),
    "value_at_risk": lambda x: pm.value_at_risk(x),
    "cvar": lambda x: pm.conditional_value_at_risk(x),
    "gaussian_var": lambda x: pm.value_at_risk(x, method="gaussian"),
    "cf_cvar": lambda x: pm.conditional_value_at_risk(x, method="cornish_fisher"),
    "skewness": lambda x: pm.skewness(x),
    "kurtosis": lambda x: pm.kurtosis(x),
    "recovery_factor": lambda x: pm.recovery_factor(x),
    "alpha": lambda x: pm.alpha(x, BENCH[: len(x)]),
    "beta": lambda x: pm.beta(x, BENCH[: len(x)]),
    "information_ratio": lambda x: pm.information_ratio(x, BENCH[: len(x)]),
    "tracking_error": lambda x: pm.tracking_error(x, BENCH[: len(x)]),
    "best_period": lambda x: pm.best_period(x),
    "worst_period": lambda x: pm.worst_period(x),
}

ROLLING = {
    "rolling_sharpe": lambda x: pm.rolling_sharpe(x, 7),
    "rolling_volatility": lambda x: pm.rolling_volatility(x, 5),
    "rolling_max_drawdown": lambda x: pm.rolling_max_drawdown(x, 6),
    "rolling_beta": lambda x: pm.rolling_beta(x, BENCH[: len(x)], 8),
    "drawdown": lambda x: pm.drawdown(x),
    "cumulative_returns": lambda x: pm.cumulative_returns(x),
}


def _quiet(f, x):
    with np.errstate(all="ignore"):
        return np.asarray(f(x), dtype=float)


@pytest.mark.parametrize("name", sorted(PER_COLUMN))
@given(x=returns, data=st.data())
def test_column_order_and_column_by_column(name, x, data):
    f = PER_COLUMN[name]
    full = _quiet(f, x)
    assert full.shape == (x.shape[1],)
    # a matrix runs the row-major kernel, a column the column kernel: equal up
    # to summation order
    for j in range(x.shape[1]):
        np.testing.assert_allclose(_quiet(f, x[:, j]), full[j], rtol=1e-9, atol=1e-13)
    perm = data.draw(st.permutations(range(x.shape[1])))
    # same layout (fancy indexing may hand back a Fortran-ordered copy): bit-identical
    np.testing.assert_array_equal(_quiet(f, np.ascontiguousarray(x[:, perm])), full[perm])


@pytest.mark.parametrize("name", sorted(ROLLING))
@given(x=returns, extra=st.integers(1, 10))
def test_rolling_no_look_ahead_and_column_by_column(name, x, extra):
    f = ROLLING[name]
    n = len(x) - min(extra, len(x) - 1)
    full = _quiet(f, x)
    assert full.shape == x.shape
    head = _quiet(f, x[:n])
    np.testing.assert_allclose(full[:n], head, rtol=1e-9, atol=1e-12)
    for j in range(x.shape[1]):
        np.testing.assert_allclose(_quiet(f, x[:, j]), full[:, j], rtol=1e-12, atol=1e-15)


@given(hnp.arrays(np.float64, st.integers(1, 80), elements=st.floats(0.0, 0.2)))
def test_monotone_equity_has_no_drawdown(x):
    assert pm.max_drawdown(x) == 0.0
    assert pm.current_drawdown(x) == 0.0
    assert np.all(pm.rolling_max_drawdown(x, 5)[4:] == 0.0)
    assert np.isnan(pm.calmar_ratio(x))


@given(hnp.arrays(np.float64, st.integers(3, 60), elements=st.floats(-0.05, 0.05)),
       st.floats(0.1, 10.0))
def test_scaling(x, c):
    # volatility is homogeneous of degree 1; Sharpe is scale-free; beta on itself is 1
    with np.errstate(all="ignore"):
        vol = pm.annual_volatility(x)
        np.testing.assert_allclose(pm.annual_volatility(x * c), vol * c, rtol=1e-9, atol=1e-15)
        s = pm.sharpe_ratio(x)
        if np.isfinite(s) and pm.annual_volatility(x) > 1e-6:
            np.testing.assert_allclose(pm.sharpe_ratio(x * c), s, rtol=1e-8)
        if np.var(x) > 1e-12:
            np.testing.assert_allclose(pm.beta(x, x), 1.0, rtol=1e-9)


@given(hnp.arrays(np.float64, st.integers(2, 60), elements=st.floats(-0.05, 0.05)))
def test_var_cvar_order(x):
    var = pm.value_at_risk(x)
    cvar = pm.conditional_value_at_risk(x)
    assert cvar <= var + 1e-15
    assert np.nanmin(x) <= cvar + 1e-15  # a mean of equal values may round up


def test_equity_flows_are_not_performance():
    # deposits and withdrawals only: no performance at all
    equity = np.array([100.0, 150.0, 150.0, 120.0])
    flows = np.array([0.0, 50.0, 0.0, -30.0])
    np.testing.assert_allclose(pm.returns_from_equity(equity, flows=flows)[1:], 0.0, atol=1e-15)
    np.testing.assert_allclose(
        pm.returns_from_equity(np.array([100.0, 160.0]), flows=np.array([0.0, 50.0]), flow_timing="start"),
        [np.nan, 160 / 150 - 1])
