"""Reconciliation of ledger lines against an external statement (bank, custodian, exchange)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import day_column, first_duplicate, frame_kind, from_arrow, require_columns, to_arrow
from ..kernels.cash import match_strings
from ._frames import key_codes
from .amounts import (
    DEFAULT_SCALE,
    check_scale,
    from_units,
    units_column,
    units_to_arrow,
)

__all__ = ["RECON_STATUSES", "Reconciliation", "reconcile"]

RECON_STATUSES = ("matched", "amount_mismatch", "date_mismatch", "missing_in_statement",
                  "missing_in_ledger")


@dataclass(frozen=True)
class Reconciliation:
    """Result of :func:`reconcile`.

    Attributes
    ----------
    lines : frame
        One row per key on either side (ledger rows in order, then the
        statement's unmatched rows): the keys, ``status`` (one of
        ``RECON_STATUSES``, a dictionary/categorical column), ``ledger_amount``, ``statement_amount``,
        ``difference`` (ledger - statement; exact decimals, null where a side
        is missing), ``ledger_date`` and ``statement_date``.
    counts : dict
        Number of lines per status.
    ledger_total, statement_total, difference : Decimal
        Exact sums over all lines of each side and their difference.

    Notes
    -----
    Built by :func:`reconcile`; ``lines`` has the kind of the ledger input.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"txn_id": ["a", "b"], "amount": ["1.5", "2"]})
    >>> reconcile(t, t.slice(0, 1), date=None)
    Reconciliation(matched=1, amount_mismatch=0, date_mismatch=0, missing_in_statement=1, missing_in_ledger=0; ledger 3.50000000, statement 1.50000000, difference 2.00000000)
    """

    lines: Any
    counts: dict
    ledger_total: Decimal
    statement_total: Decimal
    difference: Decimal

    @property
    def is_reconciled(self) -> bool:
        """True if every line matched.

        Notes
        -----
        Equivalent to all counts other than ``matched`` being zero.

        Examples
        --------
        >>> import pyarrow as pa
        >>> t = pa.table({"txn_id": ["a"], "amount": ["1"]})
        >>> reconcile(t, t, date=None).is_reconciled
        True
        """
        return all(v == 0 for k, v in self.counts.items() if k != "matched")

    def to_arrow(self) -> pa.Table:
        """The lines as a pyarrow Table.

        Notes
        -----
        The same rows and columns in every kind; exact decimal columns stay exact.

        Examples
        --------
        >>> import pyarrow as pa
        >>> t = pa.table({"txn_id": ["a"], "amount": ["1"]})
        >>> b = reconcile(t, t, date=None)
        >>> b.to_arrow().num_rows
        1
        """
        return to_arrow(self.lines, "lines")

    def to_polars(self):
        """The lines as a polars DataFrame.

        Notes
        -----
        The same rows and columns in every kind; exact decimal columns stay exact.

        Examples
        --------
        >>> import pyarrow as pa
        >>> t = pa.table({"txn_id": ["a"], "amount": ["1"]})
        >>> b = reconcile(t, t, date=None)
        >>> b.to_polars().height
        1
        """
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        """The lines as a pandas DataFrame.

        Notes
        -----
        The same rows and columns in every kind; exact decimal columns stay exact.

        Examples
        --------
        >>> import pyarrow as pa
        >>> t = pa.table({"txn_id": ["a"], "amount": ["1"]})
        >>> b = reconcile(t, t, date=None)
        >>> len(b.to_pandas())
        1
        """
        return from_arrow(self.to_arrow(), "pandas")

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in self.counts.items())
        return (f"Reconciliation({parts}; ledger {format(self.ledger_total, 'f')}, statement "
                f"{format(self.statement_total, 'f')}, difference {format(self.difference, 'f')})")


def _chunk(arr: Any) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _exact_sum(units: np.ndarray) -> int:
    """Exact sum of int64 units as a Python int.

    The high and low 32-bit halves are summed separately in int64, which
    cannot overflow for fewer than 2**31 rows.
    """
    hi = (units >> 32).sum()
    lo = (units & 0xFFFFFFFF).sum()
    return int(hi) * (1 << 32) + int(lo)


def _match(keys: dict, on: list, n_l: int) -> np.ndarray:
    """Ledger row matching each statement row (-1 if none); duplicate keys raise."""
    err = np.zeros(3, np.int64)
    if len(on) == 1 and pa.types.is_string(keys[on[0]][0].type):
        a, b = (_chunk(x) for x in keys[on[0]])
        match = np.empty(len(b), np.int64)

        def parts(arr):
            off = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset: arr.offset + len(arr) + 1]
            data = arr.buffers()[2]
            return off, (np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8))

        match_strings(*parts(a), *parts(b), match, err)
    else:
        both = pa.table({name: pa.chunked_array([_chunk(x) for x in keys[name]]) for name in on})
        group, _ = key_codes(both, "ledger", tuple(on))
        lg, sg = group[:n_l], group[n_l:]
        for kind, g in ((1, lg), (2, sg)):
            dup = first_duplicate(g)
            if dup is not None:
                err[:] = (kind, dup[1], dup[0])
                break
        if err[0] == 0:
            pos = np.full(len(group) and int(group.max()) + 1, -1, np.int64)
            pos[lg] = np.arange(n_l)
            match = pos[sg] if len(sg) else np.zeros(0, np.int64)
    if err[0]:
        arg = "ledger" if err[0] == 1 else "statement"
        raise ValidationError(f"has a duplicate key (first seen in row {int(err[2])})", argument=arg,
                              column=",".join(on), row=int(err[1]), expected="unique keys",
                              hint="reconcile on more columns, e.g. on=('txn_id', 'leg')")
    return match


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
        ld, sd = day_column(lt, "ledger", date), day_column(st, "statement", date)
    keys = {}
    for name in on:
        a, b = lt.column(name), st.column(name)
        if pa.types.is_dictionary(a.type):
            a = a.cast(a.type.value_type)
        if pa.types.is_dictionary(b.type):
            b = b.cast(b.type.value_type)
        if pa.types.is_string_view(a.type) or pa.types.is_large_string(a.type):
            a = a.cast(pa.string())
        if a.type != b.type:
            try:
                b = b.cast(a.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise ValidationError("has a different type on the two sides", argument="statement",
                                      column=name, value=str(b.type), expected=str(a.type)) from None
        for arg, col in (("ledger", a), ("statement", b)):
            if col.null_count:
                raise ValidationError("has a missing key", argument=arg, column=name,
                                      expected="a non-null key")
        keys[name] = (a, b)
    n_l = lt.num_rows
    s_match = _match(keys, on, n_l)
    l_match = np.full(n_l, -1, np.int64)
    hit = s_match >= 0
    l_match[s_match[hit]] = np.flatnonzero(hit)
    s_only = np.flatnonzero(~hit)
    n_k = n_l + len(s_only)
    has_l = np.zeros(n_k, np.bool_)
    has_l[:n_l] = True
    has_s = np.ones(n_k, np.bool_)
    has_s[:n_l] = l_match >= 0
    la = np.zeros(n_k, np.int64)
    sa = np.zeros(n_k, np.int64)
    la[:n_l] = lu
    srow = np.concatenate([np.where(l_match >= 0, l_match, 0), s_only])
    sa[has_s] = su[srow[has_s]]
    status = np.full(n_k, 0, np.int8)
    both = has_l & has_s
    diff = la - sa
    if both.any() and (((la ^ sa) & (la ^ diff)) < 0)[both].any():
        raise ValidationError("the exact difference overflows", argument="ledger")
    amt_bad = both & (la != sa)
    status[amt_bad] = 1
    if date is not None:
        ldd = np.zeros(n_k, np.int64)
        sdd = np.zeros(n_k, np.int64)
        ldd[:n_l] = ld
        sdd[has_s] = sd[srow[has_s]]
        status[both & ~amt_bad & (np.abs(ldd - sdd) > int(date_tolerance_days))] = 2
    status[has_l & ~has_s] = 3
    status[has_s & ~has_l] = 4
    ltot, stot = _exact_sum(lu), _exact_sum(su)
    cols = {}
    for name in on:
        a, b = keys[name]
        cols[name] = pa.concat_arrays([_chunk(a), _chunk(b).take(pa.array(s_only))])
    cols["status"] = pa.DictionaryArray.from_arrays(pa.array(status), pa.array(RECON_STATUSES))
    cols["ledger_amount"] = units_to_arrow(la, scale, has_l)
    cols["statement_amount"] = units_to_arrow(sa, scale, has_s)
    cols["difference"] = units_to_arrow(diff, scale, both)
    if date is not None:
        cols["ledger_date"] = pa.array(ldd.astype(np.int32), pa.int32(), mask=~has_l).cast(pa.date32())
        cols["statement_date"] = pa.array(sdd.astype(np.int32), pa.int32(), mask=~has_s).cast(pa.date32())
    counts = np.bincount(status, minlength=5)
    return Reconciliation(from_arrow(pa.table(cols), kind),
                          {name: int(c) for name, c in zip(RECON_STATUSES, counts)},
                          from_units(ltot, scale), from_units(stot, scale), from_units(ltot - stot, scale))
