"""Trade statistics: hand-checked values (worked by hand in the comments), groups, bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import pmcore.metrics as pm
from pmcore.errors import ValidationError
from pmcore.frames import from_arrow


def _trades():
    t0 = dt.datetime(2024, 1, 1)
    day = dt.timedelta(days=1)
    return pa.table({
        "entry_time": [t0, t0 + day, t0 + 2 * day, t0 + 3 * day, t0 + 4 * day, t0 + 5 * day],
        "exit_time": [t0 + day, t0 + 3 * day, t0 + 4 * day, t0 + 5 * day, t0 + 6 * day, None],
        "entry_price": [100.0, 50.0, 20.0, 10.0, 100.0, 40.0],
        "exit_price": [110.0, 55.0, 18.0, 9.0, 104.0, None],
        "quantity": [1.0, 2.0, 10.0, 5.0, 1.0, 3.0],
        "side": ["long", "short", "long", "long", "long", "short"],
        "fees": [1.0, 0.0, 0.5, 0.5, 0.0, 1.0],
        "funding": [0.0, 0.5, 0.0, 0.0, -0.5, 0.0],
        "mark_price": [None, None, None, None, None, 38.0],
        "strategy": ["trend", "trend", "carry", "carry", "trend", "carry"],
        "instrument_id": ["X", "Y", "Z", "Z", "X", "Y"],
    })


# by hand, net PnL of closed trades in exit order:
#   +10 - 1 = 9 ; -(2 * 5) - 0.5 = -10.5 ; 10 * -2 - 0.5 = -20.5 ; 5 * -1 - 0.5 = -5.5 ; +4 + 0.5 = 4.5
# open: short 3 from 40 marked at 38: +6 - 1 fee = 5
PNL = [9.0, -10.5, -20.5, -5.5, 4.5]


def test_hand_checked_statistics():
    s = pm.trade_stats(_trades())
    assert s.n_trades == 5 and s.n_open == 1
    assert s.realized_pnl == pytest.approx(sum(PNL))
    assert s.unrealized_pnl == pytest.approx(5.0)
    assert s.total_pnl == pytest.approx(sum(PNL) + 5.0)
    assert s.win_rate == pytest.approx(2 / 5)
    assert s.average_win == pytest.approx((9 + 4.5) / 2)
    assert s.average_loss == pytest.approx((-10.5 - 20.5 - 5.5) / 3)
    assert s.largest_win == 9.0 and s.largest_loss == -20.5
    assert s.profit_factor == pytest.approx(13.5 / 36.5)
    assert s.payoff_ratio == pytest.approx(6.75 / (36.5 / 3))
    assert s.expectancy == pytest.approx(sum(PNL) / 5)
    assert (s.max_consecutive_wins, s.max_consecutive_losses) == (1, 3)
    assert (s.current_consecutive_wins, s.current_consecutive_losses) == (1, 0)
    # durations 1, 2, 2, 2, 2 days
    assert s.average_duration == np.timedelta64(int(1.8 * 86400 * 1e6), "us")
    assert s.total_fees == pytest.approx(3.0) and s.total_funding == pytest.approx(0.0)
    np.testing.assert_allclose(pm.trade_pnl(_trades())[:5], PNL)
    assert "win_rate" in repr(s)
    assert s.to_pandas()["n_trades"] == 5
    assert s.to_polars().height == 1


def test_grouped_equals_filtered(backend):
    trades = from_arrow(_trades(), backend)
    by = pm.trade_stats_by(trades, by="strategy")
    table = by if isinstance(by, pa.Table) else (pa.Table.from_pandas(by) if isinstance(by, pd.DataFrame) else by.to_arrow())
    assert table.column("strategy").to_pylist() == ["trend", "carry"]
    full = _trades()
    for i, name in enumerate(["trend", "carry"]):
        sub = full.filter(pa.compute.equal(full.column("strategy"), name))
        want = pm.trade_stats(sub)
        for field in ("n_trades", "realized_pnl", "unrealized_pnl", "win_rate", "max_consecutive_losses"):
            got = table.column(field)[i].as_py()
            assert got == pytest.approx(getattr(want, field), nan_ok=True), field
    two = pm.trade_stats_by(_trades(), by=["strategy", "instrument_id"])
    assert two.num_rows == 4


def test_signed_quantity_without_side_and_numeric_times():
    trades = {"entry_time": [0.0, 1.0], "exit_time": [2.0, 4.0], "entry_price": [10.0, 10.0],
              "exit_price": [12.0, 12.0], "quantity": [2.0, -1.0]}
    s = pm.trade_stats(trades)
    assert s.realized_pnl == pytest.approx(4.0 - 2.0)
    assert s.average_duration == pytest.approx(2.5)


def test_no_trades_and_no_losses():
    empty = {"entry_time": pa.array([], pa.float64()), "exit_time": pa.array([], pa.float64()),
             "entry_price": pa.array([], pa.float64()), "exit_price": pa.array([], pa.float64()),
             "quantity": pa.array([], pa.float64())}
    s = pm.trade_stats(empty)
    assert s.n_trades == 0 and np.isnan(s.win_rate) and np.isnan(s.profit_factor)
    wins = {"entry_time": [0, 1], "exit_time": [1, 2], "entry_price": [1.0, 1.0],
            "exit_price": [2.0, 3.0], "quantity": [1.0, 1.0]}
    s = pm.trade_stats(wins)
    assert s.profit_factor == np.inf and np.isnan(s.payoff_ratio)


@pytest.mark.parametrize(
    ("change", "column", "row"),
    [
        ({"side": ["long", "sideways", "long", "long", "long", "short"]}, "side", 1),
        ({"exit_price": [110.0, 55.0, 18.0, None, 104.0, None]}, "exit_price", 3),
        ({"mark_price": [None] * 6}, "mark_price", 5),
        ({"entry_price": [100.0, -1.0, 20.0, 10.0, 100.0, 40.0]}, "entry_price", 1),
        ({"fees": [1.0, 0.0, -0.5, 0.5, 0.0, 1.0]}, "fees", 2),
    ],
)
def test_bad_trades_name_column_and_row(change, column, row):
    table = _trades()
    for name, values in change.items():
        i = table.column_names.index(name)
        table = table.set_column(i, name, pa.array(values, table.schema.field(name).type))
    with pytest.raises(ValidationError) as err:
        pm.trade_stats(table)
    assert err.value.column == column
    assert err.value.row == row


def test_missing_column_suggests_name():
    table = _trades().rename_columns(["entry_time", "exit_time", "entry_px", *_trades().column_names[3:]])
    with pytest.raises(ValidationError, match="entry_price"):
        pm.trade_stats(table)


def test_polars_output_kind():
    out = pm.trade_stats_by(pl.from_arrow(_trades()), by="instrument_id")
    assert isinstance(out, pl.DataFrame)
    assert out["instrument_id"].to_list() == ["X", "Y", "Z"]
