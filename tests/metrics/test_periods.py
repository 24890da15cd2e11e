"""Calendar-period and custom-range returns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import pmcore.metrics as pm
from pmcore.errors import ValidationError


def test_calendar_boundaries_hand_checked():
    # two trading days in late December, one in January: (1.01 * 1.02 - 1), 0.03
    idx = pd.DatetimeIndex(["2021-12-30", "2021-12-31", "2022-01-03"])
    r = pd.Series([0.01, 0.02, 0.03], index=idx)
    got = pm.period_returns(r, period="yearly")
    assert got.index.tolist() == [pd.Timestamp("2021-01-01"), pd.Timestamp("2022-01-01")]
    np.testing.assert_allclose(got.to_numpy(), [1.01 * 1.02 - 1, 0.03], rtol=1e-15)
    # ISO weeks: 2021-12-30 (Thu) and 2021-12-31 (Fri) share a week; 2022-01-03 is a Monday
    weekly = pm.period_returns(r, period="weekly")
    assert weekly.index.tolist() == [pd.Timestamp("2021-12-27"), pd.Timestamp("2022-01-03")]
    q = pm.period_returns(r, period="quarterly")
    assert q.index.tolist() == [pd.Timestamp("2021-10-01"), pd.Timestamp("2022-01-01")]
    d = pm.period_returns(r, period="daily")
    np.testing.assert_allclose(d.to_numpy(), r.to_numpy())


def test_polars_and_arrow_time_column():
    dates = pl.date_range(pl.date(2020, 1, 1), pl.date(2020, 3, 31), eager=True)
    df = pl.DataFrame({"date": dates, "a": np.full(len(dates), 0.001), "b": np.zeros(len(dates))})
    out = pm.period_returns(df, period="monthly")
    assert isinstance(out, pl.DataFrame)
    assert out.columns == ["period", "a", "b"]
    assert out.height == 3
    np.testing.assert_allclose(out["a"].to_numpy(), [1.001**31 - 1, 1.001**29 - 1, 1.001**31 - 1])
    table = pm.period_returns(df.to_arrow(), period="quarterly")
    assert isinstance(table, pa.Table)
    assert table.num_rows == 1


def test_arrays_use_periods_per_year():
    r = np.full((63, 2), 0.001)
    out = pm.period_returns(r, period="monthly", periods_per_year=252)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out, 1.001**21 - 1)
    # a partial last block still compounds what it has
    out = pm.period_returns(np.full(50, 0.001), period="monthly")
    np.testing.assert_allclose(out, [1.001**21 - 1, 1.001**21 - 1, 1.001**8 - 1])


def test_range_return_dates_and_rows():
    idx = pd.date_range("2022-01-03", periods=5, freq="B")
    r = pd.Series([0.1, 0.1, -0.5, 0.2, 0.0], index=idx)
    assert pm.range_return(r, start="2022-01-04", end="2022-01-05") == pytest.approx(1.1 * 0.5 - 1)
    assert pm.range_return(r, start=pd.Timestamp("2022-01-06")) == pytest.approx(0.2)
    assert pm.range_return(r.to_numpy(), start=1, end=3) == pytest.approx(1.1 * 0.5 - 1)
    assert np.isnan(pm.range_return(r.to_numpy(), start=4, end=2))
    with pytest.raises(ValidationError, match="row position"):
        pm.range_return(r.to_numpy(), start="2022-01-04")


def test_non_monotonic_timestamps_are_rejected():
    idx = pd.DatetimeIndex(["2022-01-03", "2022-01-05", "2022-01-04"])
    with pytest.raises(ValidationError, match="row 2") as err:
        pm.period_returns(pd.Series([0.1, 0.2, 0.3], index=idx))
    assert err.value.column == "index"
    df = pl.DataFrame({"date": [dt.date(2022, 1, 3), dt.date(2022, 1, 3)], "a": [0.1, 0.2]})
    with pytest.raises(ValidationError, match="strictly increasing") as err:
        pm.sharpe_ratio(df)
    assert err.value.column == "date"


def test_bad_period_name():
    with pytest.raises(ValidationError, match="period"):
        pm.period_returns(np.zeros(3), period="fortnightly")


def test_pivot_long_returns(backend):
    from pmcore.frames import from_arrow

    long = pa.table({"series_id": ["a", "b", "a", "b", "a"],
                     "date": [dt.date(2024, 1, 3), dt.date(2024, 1, 2), dt.date(2024, 1, 2),
                              dt.date(2024, 1, 3), dt.date(2024, 1, 4)],
                     "return": [0.1, 0.0, 0.2, 0.05, -0.1]})
    wide = pm.pivot_returns(from_arrow(long, backend))
    if backend == "pandas":
        assert list(wide.columns) == ["a", "b"]
        np.testing.assert_allclose(wide["a"].to_numpy(), [0.2, 0.1, -0.1])
        assert np.isnan(wide["b"].iloc[2])
    else:
        table = wide if backend == "arrow" else wide.to_arrow()
        assert table.column_names == ["date", "a", "b"]
        assert table.column("date").to_pylist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
        np.testing.assert_allclose(table.column("b").to_numpy(), [0.0, 0.05, np.nan])
    # the wide frame goes straight into the metrics, time axis included
    sharpe = pm.sharpe_ratio(wide)
    assert sharpe is not None


def test_pivot_rejects_duplicates():
    long = {"series_id": ["a", "a"], "date": [1, 1], "return": [0.1, 0.2]}
    with pytest.raises(ValidationError, match="rows 0 and 1") as err:
        pm.pivot_returns(long)
    assert err.value.row == 1
