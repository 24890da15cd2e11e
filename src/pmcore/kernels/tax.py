"""Tax-lot kernels: lot selection for sales and the wash-sale window scan.

Plain loops over CSR groups (one group per account and instrument). Days are
integer day numbers (days since 1970-01-01) carried as float64 or int64.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["FIFO", "LIFO", "HIFO", "MIN_TAX", "SPECIFIC", "allocate_sales", "wash_sale_scan"]

FIFO = 0
LIFO = 1
HIFO = 2
MIN_TAX = 3
SPECIFIC = 4

# columns of the ``lots`` and ``sales`` matrices
LOT_DAY, LOT_QTY, LOT_COST, LOT_LAST_SHORT = 0, 1, 2, 3
SALE_DAY, SALE_QTY, SALE_PRICE, SALE_LOT = 0, 1, 2, 3


@jit
def allocate_sales(lot_offsets, lots, sale_offsets, sales, method, rates):
    """Consume lots for each sale, group by group.

    Parameters
    ----------
    lot_offsets : int64[n_groups + 1]
        Lots of group ``g`` are rows ``lot_offsets[g]:lot_offsets[g + 1]`` of
        ``lots``, in order of acquisition (ties in input order).
    lots : float64[n_lots, 4]
        Acquisition day, quantity (>= 0), cost per unit, and the last day on
        which a sale of the lot is short-term (a later sale is long-term).
    sale_offsets : int64[n_groups + 1]
        Sales of group ``g``, in the order they happen.
    sales : float64[n_sales, 4]
        Sale day, quantity (>= 0), price per unit, and (``SPECIFIC`` only) the
        row of the lot to sell in ``lots``.
    method : int
        ``FIFO``, ``LIFO``, ``HIFO``, ``MIN_TAX`` or ``SPECIFIC``.
    rates : float64[2]
        Short-term and long-term tax rates (``MIN_TAX`` only).

    Returns
    -------
    fill_sale, fill_lot : int64[n_fills]
        Sale row and lot row of each fill, in the order they were made.
    fill_qty : float64[n_fills]
    remaining : float64[n_lots]
        Lot quantities left after every sale.
    unfilled : float64[n_sales]
        Quantity of each sale no eligible lot could cover (0 when it is fully
        covered). A lot is eligible when acquired on or before the sale day.
    """
    n_lots = lots.shape[0]
    n_sales = sales.shape[0]
    cap = n_lots + n_sales
    fill_sale = np.empty(cap, np.int64)
    fill_lot = np.empty(cap, np.int64)
    fill_qty = np.empty(cap, np.float64)
    remaining = lots[:, LOT_QTY].copy()
    unfilled = np.zeros(n_sales, np.float64)
    st, lt = rates[0], rates[1]
    n = 0
    for g in range(len(lot_offsets) - 1):
        l0 = lot_offsets[g]
        l1 = lot_offsets[g + 1]
        key = np.empty(l1 - l0, np.float64)
        for s in range(sale_offsets[g], sale_offsets[g + 1]):
            day = sales[s, SALE_DAY]
            need = sales[s, SALE_QTY]
            if method == SPECIFIC:
                j = np.int64(sales[s, SALE_LOT])
                if lots[j, LOT_DAY] <= day and remaining[j] > 0.0 and need > 0.0:
                    take = min(need, remaining[j])
                    fill_sale[n] = s
                    fill_lot[n] = j
                    fill_qty[n] = take
                    n += 1
                    remaining[j] -= take
                    need -= take
                unfilled[s] = need
                continue
            price = sales[s, SALE_PRICE]
            for k in range(l1 - l0):
                j = l0 + k
                if method == FIFO:
                    key[k] = k
                elif method == LIFO:
                    key[k] = -k
                elif method == HIFO:
                    key[k] = -lots[j, LOT_COST]
                else:
                    rate = lt if day > lots[j, LOT_LAST_SHORT] else st
                    key[k] = rate * (price - lots[j, LOT_COST])
            order = np.argsort(key, kind="mergesort")
            for k in order:
                if need <= 0.0:
                    break
                j = l0 + k
                if remaining[j] <= 0.0 or lots[j, LOT_DAY] > day:
                    continue
                take = min(need, remaining[j])
                fill_sale[n] = s
                fill_lot[n] = j
                fill_qty[n] = take
                n += 1
                remaining[j] -= take
                need -= take
            unfilled[s] = need
    return fill_sale[:n], fill_lot[:n], fill_qty[:n], remaining, unfilled


@jit
def wash_sale_scan(buy_group, buy_day, buy_lot, sale_offsets, sale_day, sale_lot, window):
    """For each buy: the first loss sale within ``window`` days, and the first clean day.

    Parameters
    ----------
    buy_group : int64[n_buys]
        Group (account and instrument) of each buy; -1 when the group has no
        loss sale.
    buy_day : int64[n_buys]
    buy_lot : int64[n_buys]
        Lot code of each buy (-1 if unknown).
    sale_offsets : int64[n_groups + 1]
        Loss sales of group ``g`` are ``sale_offsets[g]:sale_offsets[g + 1]``,
        sorted by day.
    sale_day, sale_lot : int64[n_loss_sales]
        Day and lot code (-1 if unknown) of each loss sale. A buy and a sale
        of the same (known) lot are the same shares, not a repurchase.
    window : int
        Days on each side of a loss sale.

    Returns
    -------
    first_sale : int64[n_buys]
        Row of the earliest loss sale with ``|buy_day - sale_day| <= window``,
        or -1 (no conflict).
    n_conflicts : int64[n_buys]
        Number of such loss sales.
    clean_day : int64[n_buys]
        The first day on or after ``buy_day`` outside every loss sale's window.
    """
    n = len(buy_day)
    first_sale = np.full(n, -1, np.int64)
    n_conflicts = np.zeros(n, np.int64)
    clean_day = buy_day.copy()
    for b in range(n):
        g = buy_group[b]
        if g < 0:
            continue
        s0 = sale_offsets[g]
        s1 = sale_offsets[g + 1]
        days = sale_day[s0:s1]
        d = buy_day[b]
        k = s0 + np.searchsorted(days, d - window)
        while k < s1 and sale_day[k] <= d + window:
            if not (buy_lot[b] >= 0 and buy_lot[b] == sale_lot[k]):
                if first_sale[b] < 0:
                    first_sale[b] = k
                n_conflicts[b] += 1
            k += 1
        # move past every window that covers the candidate day
        moved = True
        while moved:
            moved = False
            k = s0 + np.searchsorted(days, d - window)
            last = -1
            while k < s1 and sale_day[k] <= d + window:
                if not (buy_lot[b] >= 0 and buy_lot[b] == sale_lot[k]):
                    last = k
                k += 1
            if last >= 0:
                d = sale_day[last] + window + 1
                moved = True
        clean_day[b] = d
    return first_sale, n_conflicts, clean_day
