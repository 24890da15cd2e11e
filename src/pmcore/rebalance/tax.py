"""Tax lots: lot selection for sales, realized gains by holding period, estimated tax, wash sales.

A lot is one purchase still held: ``portfolio_id``, ``instrument_id``,
``lot_id``, ``acquired`` (date), ``quantity`` (units, >= 0) and ``unit_cost``
(cost basis per unit). Sales name the account, instrument, ``date``,
``quantity`` (units sold, >= 0) and ``price``; lots are consumed by FIFO, LIFO,
HIFO, specific identification or the tax-minimizing order. Only long lots are
modelled. Wash sales are in :mod:`pmcore.rebalance.wash`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import day_column, encode, first_duplicate, float_column, frame_kind, id_column, require_columns
from ..kernels import tax as kt
from ._tables import TablesMixin, as_kind, days_to_dates, group_order, pair_codes, pair_name, read

__all__ = ["LotSelection", "check_lots", "select_lots", "anniversary"]

METHODS = {"fifo": kt.FIFO, "lifo": kt.LIFO, "hifo": kt.HIFO, "min_tax": kt.MIN_TAX, "specific": kt.SPECIFIC}
LOT_COLUMNS = ("portfolio_id", "instrument_id", "lot_id", "acquired", "quantity", "unit_cost")
SALE_COLUMNS = ("portfolio_id", "instrument_id", "date", "quantity", "price")


@dataclass(frozen=True, repr=False)
class LotSelection(TablesMixin):
    """Result of :func:`select_lots`.

    Attributes
    ----------
    realized : frame
        One row per (sale, lot) consumed: ``portfolio_id``, ``instrument_id``,
        ``sale`` (row of the sale in the input), ``lot_id``, ``acquired``,
        ``date`` (of the sale), ``quantity``, ``unit_cost``, ``price``,
        ``proceeds``, ``cost_basis``, ``gain``, ``holding_days``, ``term``
        (``"short"`` or ``"long"``) and ``tax`` (gain x the rate of its term;
        negative for a loss: the tax it saves against other gains).
    remaining : frame
        The lots still held after the sales (the input's columns, exhausted
        lots dropped), ready for the next call.
    summary : frame
        Per account: ``short_term_gain``, ``long_term_gain``, ``gain``, ``tax``.
    method : str
    short_term_gain, long_term_gain, tax : float
        Totals over every sale.
    """

    realized: Any
    remaining: Any
    summary: Any
    method: str
    short_term_gain: float
    long_term_gain: float
    tax: float
    _parts = ("realized", "remaining", "summary")


# ---------------------------------------------------------------- inputs
def _rate(value: float, arg: str) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0 or v > 1:
        raise ValidationError("is not a tax rate", argument=arg, value=value, expected="a fraction in [0, 1]")
    return v


def _days_option(value: int, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValidationError("is not a number of days", argument=arg, value=value, expected="an integer >= 0")
    return int(value)


def _nonnegative(table: pa.Table, arg: str, name: str, codes, p_dict, i_dict, p_of, i_of, rule: str):
    values = float_column(table, arg, name)
    bad = np.flatnonzero(values < 0)
    if len(bad):
        r = int(bad[0])
        g = codes[r]
        raise ValidationError(f"is negative for {pair_name(p_dict, i_dict, p_of[g], i_of[g])}", argument=arg,
                              column=name, row=r, value=float(values[r]), expected=rule)
    return values


def check_lots(lots: Any, positions: Any, /, *, tolerance: float = 1e-9):
    """Check that the lots of each account and instrument add up to its position.

    Parameters
    ----------
    lots : frame
        ``portfolio_id``, ``instrument_id``, ``quantity`` (units, >= 0), and
        usually ``lot_id``, ``acquired``, ``unit_cost``.
    positions : frame
        ``portfolio_id``, ``instrument_id``, ``quantity``.
    tolerance : float, keyword-only
        Allowed difference, relative to ``max(1, |position|)``.

    Returns
    -------
    frame
        Per (account, instrument): ``position_quantity``, ``lot_quantity``,
        ``n_lots``; the kind of ``positions``.

    Raises
    ------
    ValidationError
        Naming the first account and instrument whose lots do not add up
        (including positions without lots, lots without a position, and short
        positions, which carry no lots here), or a negative lot quantity.

    Notes
    -----
    The rule is :math:`|\\sum_{\\text{lots}} q - Q| \\le \\text{tol}\\,\\max(1, |Q|)`.

    Examples
    --------
    >>> lots = {"portfolio_id": ["A", "A"], "instrument_id": ["X", "X"], "quantity": [60.0, 40.0]}
    >>> check_lots(lots, {"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [100.0]}).to_pylist()
    [{'portfolio_id': 'A', 'instrument_id': 'X', 'position_quantity': 100.0, 'lot_quantity': 100.0, 'n_lots': 2}]
    >>> check_lots(lots, {"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [90.0]})
    Traceback (most recent call last):
    ...
    pmcore.errors.ValidationError: lots: column 'quantity': do not add up to the position of account 'A', \
instrument 'X'; got 100.0, expected 90.0 (the position's quantity)
    """
    L = read(lots, "lots")
    P = read(positions, "positions")
    kind = frame_kind(positions)
    (lc, pc_), p_dict, i_dict, p_of, i_of = pair_codes([(L, "lots"), (P, "positions")])
    lq = _nonnegative(L, "lots", "quantity", lc, p_dict, i_dict, p_of, i_of, "a quantity >= 0")
    pq = float_column(P, "positions", "quantity")
    dup = first_duplicate(pc_)
    if dup is not None:
        g = pc_[dup[1]]
        raise ValidationError(f"repeats {pair_name(p_dict, i_dict, p_of[g], i_of[g])}", argument="positions",
                              row=dup[1], expected="one row per account and instrument")
    n = len(p_of)
    lot_sum = np.bincount(lc, weights=lq, minlength=n)
    n_lots = np.bincount(lc, minlength=n)
    pos = np.zeros(n)
    pos[pc_] = pq
    bad = np.abs(lot_sum - pos) > tolerance * np.maximum(1.0, np.abs(pos))
    if bad.any():
        g = int(np.flatnonzero(bad)[0])
        hint = "tax lots are kept for long positions only" if pos[g] < 0 else None
        raise ValidationError(f"do not add up to the position of {pair_name(p_dict, i_dict, p_of[g], i_of[g])}",
                              argument="lots", column="quantity", value=float(lot_sum[g]),
                              expected=f"{float(pos[g])!r} (the position's quantity)", hint=hint)
    out = pa.table({"portfolio_id": p_dict.take(pa.array(p_of)), "instrument_id": i_dict.take(pa.array(i_of)),
                    "position_quantity": pos, "lot_quantity": lot_sum, "n_lots": n_lots.astype(np.int64)})
    return as_kind(out, kind)


# ---------------------------------------------------------------- lot selection
def select_lots(lots: Any, sales: Any, /, *, method: str = "fifo", short_term_rate: float = 0.37,
                long_term_rate: float = 0.20, long_term_days: int | None = 365,
                positions: Any = None) -> LotSelection:
    """Choose the lots each sale consumes; realized gains by term and the estimated tax.

    Parameters
    ----------
    lots : frame, n_lots rows
        ``portfolio_id``, ``instrument_id``, ``lot_id``, ``acquired`` (date),
        ``quantity`` (units, >= 0), ``unit_cost`` (cost basis per unit, >= 0).
    sales : frame, n_sales rows
        ``portfolio_id``, ``instrument_id``, ``date``, ``quantity`` (units
        sold, >= 0), ``price`` (per unit, > 0); with ``method="specific"`` also
        ``lot_id``: each row sells from that one lot. Sales of one account
        and instrument are applied in date order (ties in row order).
    method : {"fifo", "lifo", "hifo", "specific", "min_tax"}, keyword-only
        Oldest lot first, newest first, highest cost first, the named lot,
        or lowest estimated tax per unit first (see Notes).
    short_term_rate, long_term_rate : float, keyword-only
        Tax rates on short- and long-term gains (defaults 37 % and 20 %, the
        top US federal rates in 2024).
    long_term_days : int or None, keyword-only
        A gain is long-term when the lot was held more than this many days
        (default 365). ``None`` applies the IRS calendar rule instead: held
        more than one year, i.e. sold after the anniversary of the
        acquisition (a lot bought on February 29 has its anniversary on
        February 28).
    positions : frame, optional, keyword-only
        If given, :func:`check_lots` first checks the lots against it.

    Returns
    -------
    LotSelection
        Frames in the kind of ``sales``.

    Raises
    ------
    ValidationError
        Missing columns, negative quantities or costs, non-positive prices,
        duplicate lot ids, a sale of an account and instrument without lots,
        a sale larger than the lots acquired by its date, an unknown or
        over-sold lot with ``"specific"``; each names the account and
        instrument.

    Notes
    -----
    A unit of lot :math:`j` sold at price :math:`p` on day :math:`d` realizes
    :math:`p - c_j`, long-term when :math:`d - a_j > D` (``long_term_days``;
    with ``None``, when :math:`d` is after the anniversary of :math:`a_j`),
    and is taxed at :math:`r_j = r_{LT}` or :math:`r_{ST}`. Estimated tax is
    linear, :math:`T = \\sum_j q_j r_j (p - c_j)`: a loss counts at the rate
    of its term, the value of offsetting other gains of that term.

    ``"min_tax"`` sells in increasing :math:`r_j (p - c_j)`: losses first
    (short-term losses, worth more, before long-term ones of the same size),
    then gains with the smallest tax per unit, which puts long-term gains
    before short-term gains unless the short-term gain per unit is much
    smaller. For one sale this greedy order is the exact minimum of the linear
    tax over every way of choosing the units (a fractional knapsack), so it
    is never above FIFO, LIFO or HIFO. HIFO maximizes the cost basis sold, so
    it never realizes more gain than FIFO over the same sales.

    With the default the holding period counts days, not calendar years: a
    lot bought on 2024-01-01 and sold on 2025-01-01 is held 366 days (a leap
    year) and counts as long-term, where the IRS, and ``long_term_days=None``,
    count it as short-term.

    Examples
    --------
    Two lots of X: 100 bought at 50 on 2023-01-10, 100 at 80 on 2024-09-01;
    sell 120 at 70 on 2024-12-02.

    >>> lots = {"portfolio_id": ["A", "A"], "instrument_id": ["X", "X"], "lot_id": ["L1", "L2"],
    ...         "acquired": ["2023-01-10", "2024-09-01"], "quantity": [100.0, 100.0],
    ...         "unit_cost": [50.0, 80.0]}
    >>> sale = {"portfolio_id": ["A"], "instrument_id": ["X"], "date": ["2024-12-02"],
    ...         "quantity": [120.0], "price": [70.0]}
    >>> fifo = select_lots(lots, sale)               # 100 x (70 - 50) long + 20 x (70 - 80) short
    >>> fifo.long_term_gain, fifo.short_term_gain, round(fifo.tax, 2)
    (2000.0, -200.0, 326.0)
    >>> best = select_lots(lots, sale, method="min_tax")   # the loss lot first, then 20 of L1
    >>> best.long_term_gain, best.short_term_gain, round(best.tax, 2)
    (400.0, -1000.0, -290.0)
    >>> best.remaining.to_pylist()[0]["quantity"]
    80.0
    """
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValidationError("is not a lot selection method", argument="method", value=method,
                              expected=f"one of {list(METHODS)}")
    method = method.lower()
    code = METHODS[method]
    rates = np.array([_rate(short_term_rate, "short_term_rate"), _rate(long_term_rate, "long_term_rate")])
    lt_days = None if long_term_days is None else _days_option(long_term_days, "long_term_days")
    L = read(lots, "lots")
    S = read(sales, "sales")
    kind = frame_kind(sales)
    require_columns(L, "lots", LOT_COLUMNS)
    require_columns(S, "sales", SALE_COLUMNS + (("lot_id",) if code == kt.SPECIFIC else ()))
    if positions is not None:
        check_lots(L, positions)
    (lc, sc), p_dict, i_dict, p_of, i_of = pair_codes([(L, "lots"), (S, "sales")])
    n_groups = len(p_of)
    lot_day = day_column(L, "lots", "acquired")
    lot_qty = _nonnegative(L, "lots", "quantity", lc, p_dict, i_dict, p_of, i_of, "a quantity >= 0")
    lot_cost = _nonnegative(L, "lots", "unit_cost", lc, p_dict, i_dict, p_of, i_of, "a cost >= 0")
    lot_ids = id_column(L, "lots", "lot_id")
    lid, lid_dict = encode(lot_ids)
    dup = first_duplicate(lc * max(len(lid_dict), 1) + lid)
    if dup is not None:
        g = lc[dup[1]]
        raise ValidationError(f"repeats lot id {lot_ids[dup[1]].as_py()!r} of "
                              f"{pair_name(p_dict, i_dict, p_of[g], i_of[g])}", argument="lots",
                              column="lot_id", row=dup[1], expected="unique lot ids per account and instrument")
    sale_day = day_column(S, "sales", "date")
    sale_qty = _nonnegative(S, "sales", "quantity", sc, p_dict, i_dict, p_of, i_of,
                            "units sold as a quantity >= 0")
    sale_px = float_column(S, "sales", "price", positive=True)
    has_lots = np.bincount(lc, minlength=n_groups) > 0
    orphan = np.flatnonzero(~has_lots[sc] & (sale_qty > 0))
    if len(orphan):
        r = int(orphan[0])
        raise ValidationError(f"sells {pair_name(p_dict, i_dict, p_of[sc[r]], i_of[sc[r]])}, which has no lots",
                              argument="sales", row=r, value=float(sale_qty[r]), expected="lots to sell from")
    lot_order = group_order(lc, lot_day)
    sale_order = group_order(sc, sale_day)
    lot_offsets = np.concatenate([[0], np.cumsum(np.bincount(lc, minlength=n_groups))]).astype(np.int64)
    sale_offsets = np.concatenate([[0], np.cumsum(np.bincount(sc, minlength=n_groups))]).astype(np.int64)
    last_short = lot_day + lt_days if lt_days is not None else anniversary(lot_day)
    lot_mat = np.column_stack([lot_day, lot_qty, lot_cost, last_short]).astype(np.float64)[lot_order]
    sale_lot = np.zeros(len(sc))
    if code == kt.SPECIFIC:
        sale_lot = _specific_rows(S, sc, lc, lid, lid_dict, lot_order, p_dict, i_dict, p_of, i_of)
    sale_mat = np.column_stack([sale_day, sale_qty, sale_px, sale_lot]).astype(np.float64)[sale_order]
    fs, fl, fq, remaining, unfilled = kt.allocate_sales(lot_offsets, lot_mat, sale_offsets, sale_mat, code, rates)
    short = np.flatnonzero(unfilled > 1e-9 * np.maximum(1.0, sale_mat[:, 1]))
    if len(short):
        k = int(short[0])
        r = int(sale_order[k])
        g = sc[r]
        what = "the named lot holds" if code == kt.SPECIFIC else "the lots acquired by its date hold"
        raise ValidationError(f"sells more of {pair_name(p_dict, i_dict, p_of[g], i_of[g])} than {what}",
                              argument="sales", column="quantity", row=r, value=float(sale_qty[r]),
                              expected=f"at most {float(sale_qty[r] - unfilled[k])!r}")
    return _selection(L, S, kind, method, rates, lot_order, sale_order, fs, fl, fq, remaining,
                      (lot_day, lot_cost, sale_day, sale_px, last_short), p_dict, p_of, i_of, sc)


def anniversary(days: np.ndarray) -> np.ndarray:
    """Day number of the same month and day one year later (February 29 -> February 28).

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array(["2024-01-01", "2024-02-29"], "datetime64[D]").astype(np.int64)
    >>> anniversary(d).astype("datetime64[D]").astype(str).tolist()
    ['2025-01-01', '2025-02-28']
    """
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    nxt = month + 12
    length = ((nxt + 1).astype("datetime64[D]") - nxt.astype("datetime64[D]")).astype(np.int64)
    return (nxt.astype("datetime64[D]") + np.minimum(day_of_month, length - 1)).astype(np.int64)


def _specific_rows(S, sc, lc, lid, lid_dict, lot_order, p_dict, i_dict, p_of, i_of) -> np.ndarray:
    """Row, in sorted lot order, of the lot each sale names."""
    s_lid, _ = encode(id_column(S, "sales", "lot_id"), lid_dict)
    n_ids = max(len(lid_dict), 1)
    lot_key = (lc.astype(np.int64) * n_ids + lid)[lot_order]
    sale_key = sc.astype(np.int64) * n_ids + s_lid
    pos_sorted = np.argsort(lot_key, kind="stable")
    at = np.searchsorted(lot_key[pos_sorted], sale_key)
    at = np.minimum(at, max(len(lot_key) - 1, 0))
    found = (s_lid >= 0) & (len(lot_key) > 0)
    if len(lot_key):
        found &= lot_key[pos_sorted[at]] == sale_key
    if not found.all():
        r = int(np.flatnonzero(~found)[0])
        raise ValidationError(f"names a lot that {pair_name(p_dict, i_dict, p_of[sc[r]], i_of[sc[r]])} does not hold",
                              argument="sales", column="lot_id", row=r, value=S.column("lot_id")[r].as_py(),
                              expected="a lot id of the same account and instrument")
    return pos_sorted[at].astype(np.float64)


def _selection(L, S, kind, method, rates, lot_order, sale_order, fs, fl, fq, remaining, cols,
               p_dict, p_of, i_of, sc) -> LotSelection:
    lot_day, lot_cost, sale_day, sale_px, last_short = cols
    sale_row = sale_order[fs]
    lot_row = lot_order[fl]
    if len(sale_row) > 1 and not bool(np.all(sale_row[1:] >= sale_row[:-1])):
        order = np.argsort(sale_row, kind="stable")
        sale_row, lot_row, fq = sale_row[order], lot_row[order], fq[order]
    q = fq
    price = sale_px[sale_row]
    cost = lot_cost[lot_row]
    held = sale_day[sale_row] - lot_day[lot_row]
    long_ = sale_day[sale_row] > last_short[lot_row]
    gain = q * price - q * cost
    tax = gain * np.where(long_, rates[1], rates[0])
    ids = L.select(["portfolio_id", "instrument_id", "lot_id"]).take(pa.array(lot_row))
    realized = pa.table({
        "portfolio_id": ids.column(0), "instrument_id": ids.column(1),
        "sale": sale_row.astype(np.int64),
        "lot_id": ids.column(2),
        "acquired": days_to_dates(lot_day[lot_row]),
        "date": days_to_dates(sale_day[sale_row]),
        "quantity": q, "unit_cost": cost, "price": price, "proceeds": q * price, "cost_basis": q * cost,
        "gain": gain, "holding_days": held.astype(np.int64),
        "term": pa.DictionaryArray.from_arrays(pa.array(long_.astype(np.int8)), pa.array(["short", "long"]))
        .cast(pa.string()),
        "tax": tax,
    })
    rem = np.empty(len(lot_order))
    rem[lot_order] = remaining
    keep = np.flatnonzero(rem > 0)
    left = L.set_column(L.column_names.index("quantity"), "quantity", pa.array(rem)).take(pa.array(keep))
    acct = p_of[sc[sale_row]] if len(sale_row) else np.zeros(0, np.int64)
    accounts, a_code = np.unique(acct, return_inverse=True)
    na = len(accounts)
    st = np.bincount(a_code, weights=np.where(long_, 0.0, gain), minlength=na)
    lt = np.bincount(a_code, weights=np.where(long_, gain, 0.0), minlength=na)
    summary = pa.table({"portfolio_id": p_dict.take(pa.array(accounts.astype(np.int64))),
                        "short_term_gain": st, "long_term_gain": lt, "gain": st + lt,
                        "tax": np.bincount(a_code, weights=tax, minlength=na)})
    return LotSelection(realized=as_kind(realized, kind), remaining=as_kind(left, kind),
                        summary=as_kind(summary, kind), method=method,
                        short_term_gain=float(np.where(long_, 0.0, gain).sum()),
                        long_term_gain=float(np.where(long_, gain, 0.0).sum()), tax=float(tax.sum()))
