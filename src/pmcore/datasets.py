"""Sample data bundled with pmcore, loaded offline."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import ValidationError
from .frames import KINDS, from_arrow

__all__ = ["SampleBook", "load_sample_book"]

_TYPES = {
    "instrument_id": pa.string(),
    "portfolio_id": pa.string(),
    "currency": pa.string(),
    "timestamp": pa.timestamp("ns", "UTC"),
}


def _read(name: str) -> pa.Table:
    with resources.files("pmcore").joinpath("data", f"{name}.csv").open("rb") as fh:
        return pacsv.read_csv(fh, convert_options=pacsv.ConvertOptions(column_types=_TYPES))


@dataclass(frozen=True)
class SampleBook:
    """The tables of the bundled sample book (see :func:`load_sample_book`)."""

    positions: Any
    instruments: Any
    prices: Any
    fx: Any
    cash: Any
    accounts: Any

    def __repr__(self) -> str:
        return "SampleBook(positions, instruments, prices, fx, cash, accounts)"


def load_sample_book(kind: str = "arrow") -> SampleBook:
    """Load the bundled sample book: six multi-currency portfolios as of 2026-11-20.

    Four cash accounts (global equity, European income, balanced, long/short)
    and two margin accounts (futures, crypto perpetuals) holding 31
    instruments in USD, EUR, GBP, CHF, JPY and USDT, with grouping columns
    ``asset_class``, ``sector`` and ``country``, close prices with
    timestamps, fx rates to USD, cash in several currencies (one negative
    balance, two with locked funds) and account types.

    Parameters
    ----------
    kind : {"arrow", "polars", "pandas"}
        Kind of frame to return.

    Returns
    -------
    SampleBook
        Attributes ``positions``, ``instruments``, ``prices``, ``fx``,
        ``cash``, ``accounts``.

    Examples
    --------
    >>> from pmcore.datasets import load_sample_book
    >>> sample = load_sample_book()
    >>> sample.positions.num_rows, sample.instruments.num_rows
    (39, 31)
    """
    if kind not in KINDS:
        raise ValidationError("is not a frame kind", argument="kind", value=kind,
                              expected=f"one of {list(KINDS)}")
    tables = {name: from_arrow(_read(name), kind)
              for name in ("positions", "instruments", "prices", "fx", "cash", "accounts")}
    return SampleBook(**tables)
