"""Tiered maintenance-margin brackets, as perpetual-futures exchanges publish them.

A bracket table has one row per instrument and tier: ``instrument_id``,
``notional_floor`` (base currency, the first tier of an instrument starts at
0), ``maintenance_rate`` (fraction) and optionally ``notional_cap`` (the next
tier's floor), ``maintenance_amount`` (derived from the rates when left out;
when given it must follow from them, to the cent) and ``max_leverage`` (1 to
125).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..book import Book
from ..errors import ValidationError
from ..frames import KINDS, encode, float_column, from_arrow, id_column, require_columns, to_arrow
from ..kernels.margin import tier_table

__all__ = ["sample_margin_brackets", "align_brackets", "maintenance_amounts", "MAX_LEVERAGE"]

MAX_LEVERAGE = 125.0
BRACKET_COLUMNS = ("instrument_id", "notional_floor", "maintenance_rate")


def maintenance_amounts(floor: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Maintenance amounts of one instrument's tiers, from floors and rates.

    Parameters
    ----------
    floor, rate : numpy.ndarray
        float64[n_tiers]: notional floor (increasing, first 0) and maintenance
        rate of each tier.

    Returns
    -------
    numpy.ndarray
        float64[n_tiers]: the amount that makes the maintenance margin
        continuous across tiers.

    Notes
    -----
    The exchange's rule (Binance, "How to Calculate Liquidation Price of
    USDⓈ-M Futures Contracts"):

    .. math::

        cum_1 = 0, \\qquad cum_n = cum_{n-1} + floor_n \\, (r_n - r_{n-1})

    so that :math:`MM(N) = N r_n - cum_n` for a notional :math:`N` in tier
    :math:`n` is continuous.

    Examples
    --------
    >>> import numpy as np
    >>> maintenance_amounts(np.array([0.0, 50_000.0, 250_000.0]),
    ...                     np.array([0.004, 0.005, 0.01])).tolist()
    [0.0, 50.0, 1300.0]
    """
    out = np.zeros(len(floor))
    for j in range(1, len(floor)):
        out[j] = out[j - 1] + floor[j] * (rate[j] - rate[j - 1])
    return out


def sample_margin_brackets(kind: str = "arrow") -> Any:
    """Bracket table for the sample book's perpetuals (BTC-PERP, ETH-PERP, SOL-PERP).

    The BTC and ETH tiers are the exchange's published USDⓈ-M tiers for
    BTCUSDT and ETHUSDT at the time of its liquidation-price worked example;
    SOL's are illustrative.

    Parameters
    ----------
    kind : {"arrow", "polars", "pandas"}

    Returns
    -------
    frame
        Columns instrument_id, notional_floor, notional_cap, max_leverage,
        maintenance_rate, maintenance_amount.

    Examples
    --------
    >>> from pmcore.margin import sample_margin_brackets
    >>> t = sample_margin_brackets()
    >>> t.column("instrument_id").to_pylist().count("BTC-PERP")
    10
    """
    if kind not in KINDS:
        raise ValidationError("is not a frame kind", argument="kind", value=kind,
                              expected=f"one of {list(KINDS)}")
    with resources.files("pmcore").joinpath("data", "margin_brackets.csv").open("rb") as fh:
        table = pacsv.read_csv(fh, convert_options=pacsv.ConvertOptions(
            column_types={"instrument_id": pa.string(), "notional_floor": pa.float64(),
                          "notional_cap": pa.float64(), "max_leverage": pa.float64(),
                          "maintenance_rate": pa.float64(), "maintenance_amount": pa.float64()}))
    return from_arrow(table, kind)


def align_brackets(book: Book, brackets: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a bracket table and lay it out by the book's instrument codes.

    Returns
    -------
    br_offsets : int64[n_instruments + 1]
    br : float64[n_tiers, 5]
        Floor, maintenance rate, maintenance amount, ``1 / (rate - 1)`` and
        ``1 / (rate + 1)`` of each tier, grouped by instrument, floors
        increasing; every instrument with tiers is padded to the same count
        with copies of its last tier at floor +inf (which change nothing).
    max_leverage : float64[n_tiers]
        Maximum leverage of each tier (125 where the table gives none).
    """
    n_i = book.n_instruments
    if brackets is None:
        return np.zeros(n_i + 1, np.int64), np.zeros((0, 5)), np.zeros(0)
    arg = "brackets"
    table = to_arrow(brackets, arg)
    require_columns(table, arg, BRACKET_COLUMNS)
    ids = id_column(table, arg, "instrument_id")
    floor = float_column(table, arg, "notional_floor", nonnegative=True)
    rate = float_column(table, arg, "maintenance_rate", nonnegative=True)
    bad = rate >= 1.0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError("holds a rate of 100 % or more", argument=arg, column="maintenance_rate",
                              row=row, value=float(rate[row]), expected="a fraction in [0, 1)")
    has_amount = "maintenance_amount" in table.column_names
    amount = float_column(table, arg, "maintenance_amount", default=0.0, nonnegative=True)
    max_lev = float_column(table, arg, "max_leverage", default=MAX_LEVERAGE, positive=True)
    bad = (max_lev < 1.0) | (max_lev > MAX_LEVERAGE)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError("holds a leverage out of range", argument=arg, column="max_leverage",
                              row=row, value=float(max_lev[row]), expected="a number in [1, 125]")
    cap = float_column(table, arg, "notional_cap") if "notional_cap" in table.column_names else None
    code, _ = encode(ids, book.instrument_ids)
    if len(code) and code.min() < 0:
        row = int(np.flatnonzero(code < 0)[0])
        raise ValidationError("names an instrument that is not in the book", argument=arg,
                              column="instrument_id", row=row, value=ids[row].as_py(),
                              expected="an instrument_id of the book's instruments",
                              hint="drop the rows of instruments you do not hold")
    order = np.argsort(code, kind="stable")
    code_s = code[order]
    counts = np.bincount(code_s, minlength=n_i)
    offsets = np.zeros(n_i + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    f, r, a = floor[order], rate[order], amount[order]
    first = np.zeros(len(order), bool)
    first[offsets[:-1][counts > 0]] = True
    same = ~first[1:]  # row j + 1 continues the instrument of row j
    bad = first & (f != 0.0)
    if bad.any():
        row = int(order[np.flatnonzero(bad)[0]])
        raise ValidationError("does not start at a notional floor of 0", argument=arg,
                              column="notional_floor", row=row, value=float(floor[row]),
                              expected="the first tier of each instrument to start at 0")
    bad = np.zeros(len(order), bool)
    bad[1:] = same & (f[1:] <= f[:-1])
    if bad.any():
        row = int(order[np.flatnonzero(bad)[0]])
        raise ValidationError("has notional floors that are not increasing", argument=arg,
                              column="notional_floor", row=row, value=float(floor[row]),
                              expected="a floor above the previous tier's floor",
                              hint="list each instrument's tiers once, in increasing notional")
    bad[1:] = same & (r[1:] < r[:-1])
    if bad.any():
        row = int(order[np.flatnonzero(bad)[0]])
        raise ValidationError("has maintenance rates that decrease with notional", argument=arg,
                              column="maintenance_rate", row=row, value=float(rate[row]),
                              expected="a rate >= the previous tier's rate")
    if cap is not None:
        c = cap[order]
        bad = c <= f
        if bad.any():
            row = int(order[np.flatnonzero(bad)[0]])
            raise ValidationError("is not above the tier's floor", argument=arg, column="notional_cap",
                                  row=row, value=float(cap[row]), expected="a cap > notional_floor")
        gap = np.zeros(len(order), bool)
        gap[:-1] = same & (c[:-1] != f[1:])
        if gap.any():
            j = int(np.flatnonzero(gap)[0])
            kind = "overlaps" if c[j] > f[j + 1] else "leaves a gap before"
            raise ValidationError(f"{kind} the next tier", argument=arg, column="notional_cap",
                                  row=int(order[j]), value=float(cap[order[j]]),
                                  expected=f"the next tier's floor {f[j + 1]!r}")
    if len(order):
        # cum_n = cum_{n-1} + floor_n (r_n - r_{n-1}), restarting at each instrument's first tier
        step = np.zeros(len(order))
        step[1:] = np.where(same, f[1:] * (r[1:] - r[:-1]), 0.0)
        total = np.cumsum(step)
        derived = total - total[np.flatnonzero(first)][np.cumsum(first) - 1]
        if has_amount:
            bad = np.abs(a - derived) > 1e-6 * np.maximum(np.abs(derived), 1.0) + 0.01
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                raise ValidationError(
                    "does not follow from the floors and rates", argument=arg,
                    column="maintenance_amount", row=int(order[j]), value=float(a[j]),
                    expected=f"{derived[j]!r} (previous amount + floor x rate step)",
                    hint="leave the column out to derive it")
        a = derived
    if not len(order):
        return offsets, np.zeros((0, 5)), np.zeros(0)
    br = tier_table(f, r, a)
    lev_s = max_lev[order]
    # pad every instrument to the same number of tiers with copies of its last tier at
    # floor +inf: the kernel loops then run a fixed count (no mispredicted loop exits)
    has = counts > 0
    width = int(counts.max())
    if (counts[has] < width).any():
        j = np.arange(width)
        cnt = counts[has]
        idx = (offsets[:-1][has][:, None] + np.minimum(j[None, :], cnt[:, None] - 1)).ravel()
        pad = (j[None, :] >= cnt[:, None]).ravel()
        br = br[idx]
        br[pad, 0] = np.inf
        lev_s = lev_s[idx]
        offsets = np.zeros(n_i + 1, np.int64)
        np.cumsum(np.where(has, width, 0), out=offsets[1:])
    return offsets, np.ascontiguousarray(br), lev_s
