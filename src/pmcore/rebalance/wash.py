"""Wash sales: no repurchase within N days of a loss sale of the same instrument.

:func:`wash_sale_violations` reports buys that fall in a loss sale's window;
:func:`avoid_wash_sales` blocks such proposed buys and says from when they are
allowed. The window follows IRS Publication 550, "Wash Sales" (30 days before
or after the sale, configurable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..frames import day_column, encode, float_column, frame_kind, id_column, require_columns
from ..kernels import tax as kt
from ._tables import TablesMixin, as_kind, days_to_dates, pair_codes, read
from .tax import LotSelection, _days_option, _nonnegative

__all__ = ["WashSaleCheck", "wash_sale_violations", "avoid_wash_sales"]


@dataclass(frozen=True, repr=False)
class WashSaleCheck(TablesMixin):
    """Result of :func:`avoid_wash_sales`.

    Attributes
    ----------
    buys : frame
        The proposed buys with ``allowed_quantity`` (0 for a blocked buy),
        ``blocked``, ``earliest_date`` (first day a repurchase is outside every
        loss sale's window) and ``reason`` (empty when allowed).
    violations : frame
        As :func:`wash_sale_violations` returns for the proposed buys.
    n_blocked : int
    quantity_blocked : float
        Units of the blocked buys.
    window_days : int
    """

    buys: Any
    violations: Any
    n_blocked: int
    quantity_blocked: float
    window_days: int
    _parts = ("buys", "violations")


def _scan(buys, sales, window_days):
    window = _days_option(window_days, "window_days")
    if isinstance(sales, LotSelection):
        sales = sales.realized
    B = read(buys, "buys")
    S = read(sales, "sales")
    require_columns(B, "buys", ("portfolio_id", "instrument_id", "date", "quantity"))
    require_columns(S, "sales", ("portfolio_id", "instrument_id", "date", "gain"))
    (sc, bc), p_dict, i_dict, p_of, i_of = pair_codes([(S, "sales"), (B, "buys")])
    b_day = day_column(B, "buys", "date")
    b_qty = _nonnegative(B, "buys", "quantity", bc, p_dict, i_dict, p_of, i_of, "units bought, >= 0")
    s_day = day_column(S, "sales", "date")
    gain = float_column(S, "sales", "gain")
    b_lot = np.full(len(bc), -1, np.int64)
    s_lot = np.full(len(sc), -1, np.int64)
    if "lot_id" in B.column_names and "lot_id" in S.column_names:
        s_lot, lot_dict = encode(id_column(S, "sales", "lot_id"))
        b_lot, _ = encode(id_column(B, "buys", "lot_id"), lot_dict)
        s_lot, b_lot = s_lot.astype(np.int64), b_lot.astype(np.int64)
    loss = np.flatnonzero(gain < 0)
    loss = loss[np.lexsort((s_day[loss], sc[loss]))]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(sc[loss], minlength=len(p_of)))]).astype(np.int64)
    first, n_hit, clean = kt.wash_sale_scan(bc.astype(np.int64), b_day, b_lot, offsets, s_day[loss],
                                            s_lot[loss], window)
    hit = np.flatnonzero(first >= 0)
    srow = loss[first[hit]]
    violations = pa.table({
        "buy": hit.astype(np.int64), "sale": srow.astype(np.int64),
        "portfolio_id": p_dict.take(pa.array(p_of[bc[hit]])),
        "instrument_id": i_dict.take(pa.array(i_of[bc[hit]])),
        "buy_date": days_to_dates(b_day[hit]), "sale_date": days_to_dates(s_day[srow]),
        "days_apart": (b_day[hit] - s_day[srow]).astype(np.int64), "loss": gain[srow],
        "quantity": b_qty[hit], "n_loss_sales": n_hit[hit],
    })
    return B, b_qty, b_day, first, clean, violations, window


def wash_sale_violations(buys: Any, sales: Any, /, *, window_days: int = 30):
    """Buys that fall within ``window_days`` of a loss sale of the same account and instrument.

    Parameters
    ----------
    buys : frame
        ``portfolio_id``, ``instrument_id``, ``date``, ``quantity`` (units,
        >= 0); optionally ``lot_id``.
    sales : frame or LotSelection
        ``portfolio_id``, ``instrument_id``, ``date``, ``gain`` (realized;
        a loss sale has ``gain < 0``); optionally ``lot_id``. The
        ``realized`` frame of :func:`~pmcore.rebalance.tax.select_lots` fits as it is.
    window_days : int, keyword-only
        Days on each side of the loss sale (default 30).

    Returns
    -------
    frame
        One row per violating buy (kind of ``buys``): ``buy`` and ``sale``
        (input rows; the earliest loss sale in the window), ``portfolio_id``,
        ``instrument_id``, ``buy_date``, ``sale_date``, ``days_apart``
        (buy - sale), ``loss``, ``quantity`` (of the buy) and
        ``n_loss_sales`` in the window. Empty when the rule holds.

    Notes
    -----
    IRS Publication 550 ("Wash Sales"): a loss on a sale is disallowed when
    substantially identical stock is bought within 30 days before or after
    the sale, a 61-day window. A buy on day :math:`b` violates with a loss
    sale on day :math:`s` when :math:`|b - s| \\le N`. When both frames carry
    ``lot_id``, a buy of the very lot that was sold is the original purchase,
    not a replacement, and does not count. Substantially identical securities
    other than the same instrument id, and purchases in other accounts
    (such as an IRA), are not detected.

    Examples
    --------
    >>> sales = {"portfolio_id": ["A"], "instrument_id": ["X"], "date": ["2025-03-03"], "gain": [-500.0]}
    >>> buys = {"portfolio_id": ["A", "A"], "instrument_id": ["X", "X"],
    ...         "date": ["2025-03-20", "2025-04-03"], "quantity": [10.0, 10.0]}
    >>> v = wash_sale_violations(buys, sales)
    >>> v.column("buy").to_pylist(), v.column("days_apart").to_pylist()
    ([0], [17])
    """
    B, _, _, _, _, violations, _ = _scan(buys, sales, window_days)
    return as_kind(violations, frame_kind(buys))


def avoid_wash_sales(buys: Any, sales: Any, /, *, window_days: int = 30) -> WashSaleCheck:
    """Block proposed buys that would repurchase within ``window_days`` of a loss sale.

    Parameters
    ----------
    buys : frame
        Proposed buys: ``portfolio_id``, ``instrument_id``, ``date``,
        ``quantity`` (units, >= 0), any other columns (kept).
    sales : frame or LotSelection
        Sale history, and the sales proposed with the buys if any:
        ``portfolio_id``, ``instrument_id``, ``date``, ``gain``; see
        :func:`wash_sale_violations`.
    window_days : int, keyword-only
        Days on each side of a loss sale (default 30).

    Returns
    -------
    WashSaleCheck
        ``buys`` with ``allowed_quantity``, ``blocked``, ``earliest_date`` and
        ``reason``; frames in the kind of ``buys``.

    Notes
    -----
    Any repurchase in the window washes the loss on
    :math:`\\min(\\text{bought}, \\text{sold at a loss})` units, so shrinking a
    buy never avoids the rule: a violating buy is blocked whole
    (``allowed_quantity = 0``) and ``earliest_date`` gives the first day it
    could go through, :math:`\\max_s(s) + N + 1` over the loss sales in its
    window, repeated while that day falls in another sale's window. The
    allowed buys, and the blocked ones moved to ``earliest_date``, never
    violate the rule against ``sales`` (a tested property).

    Examples
    --------
    >>> sales = {"portfolio_id": ["A"], "instrument_id": ["X"], "date": ["2025-03-03"], "gain": [-500.0]}
    >>> buys = {"portfolio_id": ["A", "A"], "instrument_id": ["X", "Y"],
    ...         "date": ["2025-03-20", "2025-03-20"], "quantity": [10.0, 5.0]}
    >>> out = avoid_wash_sales(buys, sales)
    >>> out.buys.column("allowed_quantity").to_pylist(), str(out.buys.column("earliest_date")[0])
    ([0.0, 5.0], '2025-04-03')
    >>> out.buys.column("reason")[0].as_py()
    "repurchase of 'X' in account 'A' 17 days after a loss sale on 2025-03-03 (loss 500.00); \
allowed from 2025-04-03"
    """
    B, qty, b_day, first, clean, violations, window = _scan(buys, sales, window_days)
    blocked = first >= 0
    hit = np.flatnonzero(blocked)
    reasons = [""] * len(qty)
    clean_dates = days_to_dates(clean)
    if len(hit):
        inst = B.column("instrument_id").take(pa.array(hit)).to_pylist()
        acct = B.column("portfolio_id").take(pa.array(hit)).to_pylist()
        apart = violations.column("days_apart").to_pylist()
        sold = [str(d) for d in violations.column("sale_date").to_pylist()]
        loss = violations.column("loss").to_pylist()
        until = [str(d) for d in clean_dates.take(pa.array(hit)).to_pylist()]
        for k, b in enumerate(hit.tolist()):
            d = apart[k]
            when = f"{d} days after" if d >= 0 else f"{-d} days before"
            reasons[b] = (f"repurchase of {inst[k]!r} in account {acct[k]!r} {when} a loss sale on {sold[k]} "
                          f"(loss {-loss[k]:,.2f}); allowed from {until[k]}")
    out = B.append_column("allowed_quantity", pa.array(np.where(blocked, 0.0, qty)))
    out = out.append_column("blocked", pa.array(blocked))
    out = out.append_column("earliest_date", clean_dates)
    out = out.append_column("reason", pa.array(reasons, pa.string()))
    kind = frame_kind(buys)
    return WashSaleCheck(buys=as_kind(out, kind), violations=as_kind(violations, kind), n_blocked=int(len(hit)),
                         quantity_blocked=float(qty[blocked].sum()), window_days=window)
