"""pmcore.frames.day_column: dates from date, timestamp and ISO-string columns; bad values named by row."""

import datetime as dt

import pyarrow as pa
import pytest

from pmcore.errors import ValidationError
from pmcore.frames import day_column


def test_day_column_reads_dates_timestamps_and_strings():
    days = [dt.date(1970, 1, 2), dt.date(2024, 1, 1)]
    expected = [1, 19723]  # days since 1970-01-01, by date arithmetic
    assert day_column(pa.table({"d": pa.array(days)}), "a", "d").tolist() == expected
    stamps = pa.array([dt.datetime(1970, 1, 2, 15), dt.datetime(2024, 1, 1)], pa.timestamp("us"))
    assert day_column(pa.table({"d": stamps}), "a", "d").tolist() == expected
    assert day_column(pa.table({"d": ["1970-01-02", "2024-01-01"]}), "a", "d").tolist() == expected


def test_day_column_names_the_first_bad_string_row():
    with pytest.raises(ValidationError, match=r"sales: column 'd', row 1: .*'2024-13-01'"):
        day_column(pa.table({"d": ["2024-01-01", "2024-13-01", "x"]}), "sales", "d")


def test_day_column_names_the_first_null_row():
    with pytest.raises(ValidationError, match=r"row 2: is null"):
        day_column(pa.table({"d": ["2024-01-01", "2024-01-02", None]}), "sales", "d")


def test_day_column_refuses_other_types():
    with pytest.raises(ValidationError, match="has the wrong type"):
        day_column(pa.table({"d": [1.5]}), "sales", "d")
