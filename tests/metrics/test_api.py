"""Output mirrors input, degenerate input, bad input, threads and processes."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import pmcore.metrics as pm
from pmcore.errors import ValidationError

RNG = np.random.default_rng(3)
X = RNG.normal(0.0005, 0.01, size=(120, 3))
DATES = pd.bdate_range("2023-01-02", periods=120)
NAMES = ["a", "b", "c"]


def frames():
    pdf = pd.DataFrame(X, index=DATES, columns=NAMES)
    plf = pl.DataFrame({"date": [d.date() for d in DATES], **{c: X[:, j] for j, c in enumerate(NAMES)}})
    return {"pandas": pdf, "polars": plf, "arrow": plf.to_arrow(), "numpy": X}


@pytest.mark.parametrize("kind", ["numpy", "pandas", "polars", "arrow"])
def test_scalar_metrics_mirror_input(kind):
    data = frames()[kind]
    want = pm.sharpe_ratio(X)
    got = pm.sharpe_ratio(data)
    if kind == "numpy":
        assert isinstance(got, np.ndarray)
        values = got
    elif kind == "pandas":
        assert isinstance(got, pd.Series) and list(got.index) == NAMES
        values = got.to_numpy()
    elif kind == "polars":
        assert isinstance(got, pl.DataFrame) and got.columns == NAMES and got.height == 1
        values = got.row(0)
    else:
        assert isinstance(got, pa.Table) and got.column_names == NAMES
        values = [got.column(c)[0].as_py() for c in NAMES]
    np.testing.assert_allclose(values, want, rtol=1e-14)


@pytest.mark.parametrize("kind", ["numpy", "pandas", "polars", "arrow"])
def test_rolling_mirrors_input_and_keeps_time(kind):
    data = frames()[kind]
    got = pm.rolling_sharpe(data, 20)
    want = pm.rolling_sharpe(X, 20)
    if kind == "pandas":
        assert isinstance(got, pd.DataFrame) and got.index.equals(DATES)
        got = got.to_numpy()
    elif kind == "polars":
        assert isinstance(got, pl.DataFrame) and got.columns == ["date", *NAMES]
        assert got["date"].dtype == pl.Date
        got = got.select(NAMES).to_numpy()
    elif kind == "arrow":
        assert isinstance(got, pa.Table) and got.column_names == ["date", *NAMES]
        got = np.column_stack([got.column(c).to_numpy() for c in NAMES])
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_series_inputs_give_floats():
    s = pd.Series(X[:, 0], index=DATES, name="a")
    assert isinstance(pm.max_drawdown(s), float)
    assert isinstance(pm.max_drawdown(pl.Series("a", X[:, 0])), float)
    assert isinstance(pm.max_drawdown(pa.array(X[:, 0])), float)
    assert isinstance(pm.max_drawdown(list(X[:, 0])), float)
    dd = pm.drawdown(s)
    assert isinstance(dd, pd.Series) and dd.name == "a" and dd.index.equals(DATES)


def test_benchmark_kinds_and_risk_free_series():
    s = pd.DataFrame(X, index=DATES, columns=NAMES)
    b = pd.Series(X[:, 0] * 0.5, index=DATES)
    np.testing.assert_allclose(pm.beta(s, b).to_numpy(), pm.beta(X, X[:, 0] * 0.5), rtol=1e-14)
    assert pm.beta(s, b)["a"] == pytest.approx(2.0)
    pl_b = pl.Series("bench", X[:, 0] * 0.5)
    np.testing.assert_allclose(pm.beta(X, pl_b), pm.beta(X, X[:, 0] * 0.5), rtol=1e-14)
    rf = pd.Series(np.full(120, 0.0001), index=DATES)
    np.testing.assert_allclose(pm.sharpe_ratio(s, risk_free=rf).to_numpy(),
                               pm.sharpe_ratio(X, risk_free=0.0001), rtol=1e-12)


def test_drawdown_details_dates():
    r = pd.Series([0.1, -0.2, 0.05, 0.3, -0.01], index=DATES[:5])
    d = pm.drawdown_details(r, start_value=1000.0)
    assert d.peak == (DATES[0],) and d.trough == (DATES[1],) and d.recovery == (DATES[3],)
    assert d.max_drawdown_amount[0] == pytest.approx(-220.0)
    assert d.current_drawdown[0] == pytest.approx(-0.01)
    assert "DrawdownDetails" in repr(d)
    assert d.to_pandas().loc["0", "max_drawdown"] == pytest.approx(-0.2)
    assert d.to_polars().height == 1
    table = pm.drawdown_periods(r)
    assert isinstance(table, pd.DataFrame)
    assert table["depth"].tolist() == pytest.approx([-0.2, -0.01])
    assert table["recovered"].tolist() == [True, False]
    x = np.array([[-0.1, 0.0], [0.2, 0.0]])
    d = pm.drawdown_details(x)
    assert d.peak == (None, None) and d.trough == (0, None) and d.recovery == (1, None)
    assert d.max_drawdown.tolist() == pytest.approx([-0.1, 0.0])


# ------------------------------------------------------------ degenerate input


def test_empty_all_nan_one_observation_zero_vol():
    empty = np.empty((0, 2))
    for f in (pm.sharpe_ratio, pm.annual_return, pm.max_drawdown, pm.value_at_risk,
              pm.sortino_ratio, pm.calmar_ratio, pm.omega_ratio, pm.total_return, pm.skewness):
        assert np.isnan(f(empty)).all(), f.__name__
        assert np.isnan(f(np.full((5, 2), np.nan))).all(), f.__name__
    assert pm.rolling_sharpe(empty, 5).shape == (0, 2)
    assert np.isnan(pm.sharpe_ratio([0.01]))
    assert np.isnan(pm.annual_volatility([0.01]))
    assert pm.sharpe_ratio([0.01] * 10) == np.inf
    assert pm.sharpe_ratio([-0.01] * 10) == -np.inf
    assert np.isnan(pm.sharpe_ratio([0.0] * 10))
    assert pm.annual_volatility([0.01] * 10) == 0.0
    assert np.isnan(pm.beta(np.ones(10) * 0.01, np.ones(10) * 0.02))
    assert np.isnan(pm.max_drawdown([np.nan, np.nan]))
    assert pm.period_returns(np.empty(0)).shape == (0,)
    assert pm.drawdown_periods(np.empty(0)).num_rows == 0


# ------------------------------------------------------------------ bad input


def test_infinite_value_names_column_and_row():
    df = pd.DataFrame(X.copy(), columns=NAMES)
    df.iloc[7, 2] = np.inf
    with pytest.raises(ValidationError) as err:
        pm.sharpe_ratio(df)
    assert (err.value.argument, err.value.column, err.value.row) == ("returns", "c", 7)
    x = X.copy()
    x[9, 1] = -np.inf
    with pytest.raises(ValidationError, match="row 9"):
        pm.max_drawdown(x)
    with pytest.raises(ValidationError, match="column '1'"):
        pm.max_drawdown(np.asfortranarray(x))


def test_mismatched_benchmark_and_index():
    with pytest.raises(ValidationError, match="120 observations") as err:
        pm.beta(X, X[:100, 0])
    assert err.value.argument == "benchmark"
    s = pd.DataFrame(X, index=DATES, columns=NAMES)
    shifted = pd.Series(X[:, 0], index=DATES + pd.Timedelta(days=1))
    with pytest.raises(ValidationError, match="reindex"):
        pm.alpha(s, shifted)
    with pytest.raises(ValidationError, match="risk_free"):
        pm.sharpe_ratio(X, risk_free=np.zeros(3))


def test_wrong_types_and_options():
    with pytest.raises(ValidationError, match="column 'name'"):
        pm.sharpe_ratio(pd.DataFrame({"name": ["x", "y"], "a": [0.1, 0.2]}))
    with pytest.raises(ValidationError, match="column 'flag'"):
        pm.sharpe_ratio(pl.DataFrame({"flag": [True, False], "a": [0.1, 0.2]}))
    with pytest.raises(ValidationError, match="shape"):
        pm.sharpe_ratio(np.zeros((2, 2, 2)))
    with pytest.raises(ValidationError, match="periods_per_year"):
        pm.sharpe_ratio(X, periods_per_year=0)
    with pytest.raises(ValidationError, match="ddof"):
        pm.annual_volatility(X, ddof=-1)
    with pytest.raises(ValidationError, match="cutoff"):
        pm.value_at_risk(X, cutoff=5)
    with pytest.raises(ValidationError, match="method"):
        pm.value_at_risk(X, method="monte_carlo")
    with pytest.raises(ValidationError, match="window"):
        pm.rolling_sharpe(X, 0)
    with pytest.raises(ValidationError, match="timestamps"):
        pm.annual_return(X, calendar=True)
    with pytest.raises(ValidationError, match="non-positive"):
        pm.returns_from_equity(np.array([100.0, 0.0]))
    with pytest.raises(ValidationError, match="several time columns"):
        pm.sharpe_ratio(pl.DataFrame({"d1": [dt.date(2020, 1, 1)], "d2": [dt.date(2020, 1, 2)], "a": [0.1]}))


def test_calendar_cagr():
    idx = pd.DatetimeIndex(["2020-01-01", "2021-01-01"])
    r = pd.Series([0.0, 0.1], index=idx)
    assert pm.annual_return(r, calendar=True, days_per_year=366) == pytest.approx(0.1)


# --------------------------------------------------------- threads, processes


def _suite(x):
    return np.concatenate([pm.sharpe_ratio(x), pm.max_drawdown(x), pm.value_at_risk(x),
                           pm.rolling_sharpe(x, 10)[-1]])


def test_thread_pool_and_process_pool():
    want = _suite(X)
    with cf.ThreadPoolExecutor(4) as pool:
        for got in pool.map(_suite, [X] * 8):
            np.testing.assert_array_equal(got, want)
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        for got in pool.map(_suite, [X] * 2):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("func", [
    pm.total_return, pm.annual_return, pm.annual_volatility, pm.sharpe_ratio, pm.sortino_ratio,
    pm.downside_risk, pm.calmar_ratio, pm.recovery_factor, pm.max_drawdown,
    lambda x: pm.annual_return(x, compound=False),
    lambda x: pm.beta(x, X[:, 0]), lambda x: pm.alpha(x, X[:, 0]),
    lambda x: pm.information_ratio(x, X[:, 0]), lambda x: pm.tracking_error(x, X[:, 0]),
    pm.value_at_risk, pm.omega_ratio, lambda x: pm.rolling_sharpe(x, 10),
    lambda x: pm.rolling_volatility(x, 10),
])
@pytest.mark.parametrize("layout", ["C", "F", "series"])
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_every_metric_rejects_infinity(func, layout, bad):
    """Whether the scan runs first or after a kernel sum turned non-finite, the error is the same."""
    x = X.copy()
    x[17, 2] = bad
    x[3, 1] = -1.0  # a wiped-out wealth: 0 * inf must still be caught
    data = {"C": x, "F": np.asfortranarray(x), "series": x[:, 2].copy()}[layout]
    with pytest.raises(ValidationError) as err:
        func(data)
    assert err.value.row == 17
    assert err.value.column == ("0" if layout == "series" else "2")
