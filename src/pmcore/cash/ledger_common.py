"""Pieces shared by the ledger's modules: status rules, time parsing, batch row errors."""

from __future__ import annotations

import datetime as dt
import time
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ._frames import STATUSES
from .calendar import to_day

__all__ = ["ALLOWED_TRANSITIONS"]

#: status -> statuses it may move to; settled, failed and cancelled are final
ALLOWED_TRANSITIONS = {"pending": ("settled", "failed", "cancelled"), "settled": (),
                       "failed": (), "cancelled": ()}
_ALLOWED = {STATUSES.index(a): {STATUSES.index(b) for b in bs} for a, bs in ALLOWED_TRANSITIONS.items()}


def _now_ns() -> int:
    return time.time_ns()


def _to_ns(value: Any, argument: str) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp()) * 10**9 + value.microsecond * 1000
    if isinstance(value, dt.date):
        return to_day(value) * 86_400 * 10**9
    try:
        return int(np.datetime64(value, "ns").astype(np.int64))
    except (ValueError, TypeError):
        raise ValidationError("is not a time", argument=argument, value=value,
                              expected="a datetime, an ISO string or int nanoseconds since 1970") from None


def _plain_strings(table: pa.Table) -> pa.Table:
    """Cast string views and dictionary columns to plain strings (polars and pandas round trips)."""
    for i, f in enumerate(table.schema):
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
        elif pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(t))
    return table


def _row_error(exc: ValidationError, row: int, amount: Any) -> ValidationError:
    """The error of one row of a batch: the same reason, naming the row."""
    message = exc.args[0]
    if exc.argument and message.startswith(f"{exc.argument}: "):
        message = message[len(exc.argument) + 2:]
    if exc.column is not None:
        for lead in (f"column {exc.column!r}: ", f"column {exc.column!r}, "):
            message = message.removeprefix(lead)
    for cut in ("; got ", "; expected ", ". Hint: "):
        message = message.split(cut)[0]
    value = amount if exc.column == "amount" else exc.value
    return ValidationError(message, argument="transactions", row=row, value=value,
                           expected=exc.expected, hint=exc.hint)


def _fraction(value: Any, name: str, positive: bool = False) -> Fraction:
    try:
        f = Fraction(repr(float(value))) if isinstance(value, float) else Fraction(str(value)) \
            if not isinstance(value, Fraction) else value
    except (ValueError, ZeroDivisionError):
        raise ValidationError("is not a number", argument=name, value=value) from None
    if f < 0 or (positive and f == 0):
        raise ValidationError("is out of range", argument=name, value=value,
                              expected="a number > 0" if positive else "a number >= 0")
    return f
