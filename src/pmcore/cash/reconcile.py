"""Reconciliation of ledger lines against an external statement (bank, custodian, exchange)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationError
from ..frames import first_duplicate, frame_kind, from_arrow, require_columns, to_arrow
from ._frames import key_codes
from .amounts import DEFAULT_SCALE, check_scale, from_units, units_column, units_to_arrow

__all__ = ["Reconciliation", "reconcile", "RECON_STATUSES"]

RECON_STATUSES = ("matched", "amount_mismatch", "date_mismatch", "missing_in_statement",
                  "missing_in_ledger")


@dataclass(frozen=True)
class Reconciliation:
    """Result of :func:`reconcile`.

    Attributes
    ----------
    lines : frame
        One row per key on either side: the keys, ``status`` (one of
        ``RECON_STATUSES``), ``ledger_amount``, ``statement_amount``,
        ``difference`` (ledger - statement; exact decimals, null where a side
        is missing), ``ledger_date`` and ``statement_date``.
    counts : dict
        Number of lines per status.
    ledger_total, statement_total, difference : Decimal
        Exact sums over all lines of each side and their difference.
    """

    lines: Any
    counts: dict
    ledger_total: Decimal
    statement_total: Decimal
    difference: Decimal

    @property
    def is_reconciled(self) -> bool:
        """True if every line matched."""
        return all(v == 0 for k, v in self.counts.items() if k != "matched")

    def to_arrow(self) -> pa.Table:
        """The lines as a pyarrow Table."""
        return to_arrow(self.lines, "lines")

    def to_polars(self):
        """The lines as a polars DataFrame."""
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        """The lines as a pandas DataFrame."""
        return from_arrow(self.to_arrow(), "pandas")

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in self.counts.items())
        return (f"Reconciliation({parts}; ledger {format(self.ledger_total, 'f')}, statement "
                f"{format(self.statement_total, 'f')}, difference {format(self.difference, 'f')})")


def _dates(table: pa.Table, arg: str, name: str) -> np.ndarray:
    require_columns(table, arg, [name])
    col = table.column(name)
    try:
        col = col.cast(pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ValidationError("is not a date column", argument=arg, column=name, value=str(col.type),
                              expected="dates") from None
    if col.null_count:
        raise ValidationError("is null", argument=arg, column=name, expected="a date")
    return col.to_numpy().astype("datetime64[D]").astype(np.int64)


def reconcile(ledger: Any, statement: Any, /, *, on: Any = ("txn_id",), amount: str = "amount",
              date: str | None = "value_date", date_tolerance_days: int = 0,
              scale: int = DEFAULT_SCALE) -> Reconciliation:
    """Match ledger lines against a statement, exactly.

    Parameters
    ----------
    ledger, statement : frame
        Lines with the ``on`` key columns, ``amount`` and (if ``date`` is set)
        a date column. Keys must be unique on each side (for multi-leg ledger
        transactions use ``on=("txn_id", "leg")`` or sum the legs first).
    on : sequence of str, keyword-only
        Key columns shared by both sides (for example the bank reference).
    amount : str, keyword-only
        Amount column (decimal, string, integer or float; compared exactly).
    date : str or None, keyword-only
        Date column to compare (None: amounts only).
    date_tolerance_days : int, keyword-only
        Largest date difference still matched (default 0).

    Returns
    -------
    Reconciliation
        Lines with their status, counts per status and exact totals.

    Notes
    -----
    A key on both sides is ``matched`` if the amounts are equal to the last
    unit and the dates within the tolerance, ``amount_mismatch`` if the
    amounts differ (checked first), else ``date_mismatch``. Keys on one side
    only are ``missing_in_statement`` or ``missing_in_ledger``. Totals are exact
    int64 sums, so ``ledger_total - statement_total`` equals the sum of the
    differences plus the missing lines, to the unit.

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> d = dt.date(2026, 11, 20)
    >>> led = pa.table({"txn_id": ["a", "b", "c"], "amount": ["10", "5.5", "1"], "value_date": [d] * 3})
    >>> st = pa.table({"txn_id": ["a", "b", "z"], "amount": ["10", "5.4", "2"], "value_date": [d] * 3})
    >>> r = reconcile(led, st)
    >>> r.counts
    {'matched': 1, 'amount_mismatch': 1, 'date_mismatch': 0, 'missing_in_statement': 1, 'missing_in_ledger': 1}
    >>> r.difference
    Decimal('-0.90000000')
    """
    scale = check_scale(scale)
    kind = frame_kind(ledger)
    kind = kind if kind != "other" else "arrow"
    on = [on] if isinstance(on, str) else list(on)
    lt, st = to_arrow(ledger, "ledger"), to_arrow(statement, "statement")
    require_columns(lt, "ledger", on + [amount])
    require_columns(st, "statement", on + [amount])
    lu = units_column(lt, "ledger", amount, scale)
    su = units_column(st, "statement", amount, scale)
    if date is not None:
        ld, sd = _dates(lt, "ledger", date), _dates(st, "statement", date)
    keys = {}
    for name in on:
        a, b = lt.column(name), st.column(name)
        if pa.types.is_dictionary(a.type):
            a = a.cast(a.type.value_type)
        if pa.types.is_dictionary(b.type):
            b = b.cast(b.type.value_type)
        if a.type != b.type:
            try:
                b = b.cast(a.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise ValidationError("has a different type on the two sides", argument="statement",
                                      column=name, value=str(b.type), expected=str(a.type)) from None
        keys[name] = pa.chunked_array(a.chunks + b.chunks, a.type)
    group, key_table = key_codes(pa.table(keys), "ledger", tuple(on))
    n_l, n_k = lt.num_rows, key_table.num_rows
    lg, sg = group[:n_l], group[n_l:]
    for arg, g in (("ledger", lg), ("statement", sg)):
        dup = first_duplicate(g)
        if dup is not None:
            raise ValidationError(f"has a duplicate key (first seen in row {dup[0]})", argument=arg,
                                  column=",".join(on), row=dup[1], expected="unique keys",
                                  hint="reconcile on more columns, e.g. on=('txn_id', 'leg')")
    has_l = np.zeros(n_k, np.bool_)
    has_s = np.zeros(n_k, np.bool_)
    has_l[lg] = True
    has_s[sg] = True
    la = np.zeros(n_k, np.int64)
    sa = np.zeros(n_k, np.int64)
    la[lg] = lu
    sa[sg] = su
    status = np.full(n_k, 0, np.int8)
    both = has_l & has_s
    diff = la - sa
    if both.any() and ((la ^ sa) & (la ^ diff) < 0)[both].any():
        raise ValidationError("the exact difference overflows", argument="ledger")
    amt_bad = both & (la != sa)
    status[amt_bad] = 1
    if date is not None:
        ldd = np.zeros(n_k, np.int64)
        sdd = np.zeros(n_k, np.int64)
        ldd[lg] = ld
        sdd[sg] = sd
        status[both & ~amt_bad & (np.abs(ldd - sdd) > int(date_tolerance_days))] = 2
    status[has_l & ~has_s] = 3
    status[has_s & ~has_l] = 4
    ltot, stot = int(lu.astype(object).sum()), int(su.astype(object).sum())
    cols = {name: key_table.column(name) for name in on}
    cols["status"] = pa.array(np.array(RECON_STATUSES, object)[status], pa.string())
    cols["ledger_amount"] = pc.if_else(pa.array(has_l), units_to_arrow(la, scale),
                                       pa.nulls(n_k, pa.decimal128(38, scale)))
    cols["statement_amount"] = pc.if_else(pa.array(has_s), units_to_arrow(sa, scale),
                                          pa.nulls(n_k, pa.decimal128(38, scale)))
    cols["difference"] = pc.if_else(pa.array(both), units_to_arrow(diff, scale),
                                    pa.nulls(n_k, pa.decimal128(38, scale)))
    if date is not None:
        cols["ledger_date"] = pc.if_else(pa.array(has_l), pa.array(ldd.astype("datetime64[D]")),
                                         pa.nulls(n_k, pa.date32()))
        cols["statement_date"] = pc.if_else(pa.array(has_s), pa.array(sdd.astype("datetime64[D]")),
                                            pa.nulls(n_k, pa.date32()))
    counts = np.bincount(status, minlength=5)
    return Reconciliation(from_arrow(pa.table(cols), kind),
                          {name: int(c) for name, c in zip(RECON_STATUSES, counts)},
                          from_units(ltot, scale), from_units(stot, scale), from_units(ltot - stot, scale))
