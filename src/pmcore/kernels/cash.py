"""Kernels of the cash ledger: exact int64 fixed-point sums with overflow detection.

Amounts are int64 units (``amount * 10**scale``). Every sum is checked: a
kernel returns the row at which an int64 addition would overflow (the caller
raises), or -1. Status codes: 0 pending, 1 settled, 2 failed, 3 cancelled.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["balance_table", "group_sum", "projected_balances", "status_as_of", "first_short_day"]


@jit
def _overflows(a, b, s):
    return ((a ^ s) & (b ^ s)) < 0


@jit
def balance_table(group, status, units, out):
    """Add each row's units into ``out[group]``: settled, pending in, pending out.

    ``out`` is an int64 array of shape (n_groups, 3), zeroed by the caller:
    column 0 the settled sum, 1 pending inflows, 2 pending outflows (a
    positive number). Failed and cancelled rows are skipped. Returns the
    first row whose addition overflows, or -1.
    """
    for i in range(group.shape[0]):
        st = status[i]
        u = units[i]
        g = group[i]
        if st == 1:
            k = 0
        elif st == 0:
            if u >= 0:
                k = 1
            else:
                k = 2
                u = -u
        else:
            continue
        a = out[g, k]
        s = a + u
        if _overflows(a, u, s):
            return i
        out[g, k] = s
    return -1


@jit
def group_sum(group, units, out):
    """Add ``units[i]`` into ``out[group[i]]`` (rows with group < 0 skipped); -1 or the overflow row."""
    for i in range(group.shape[0]):
        g = group[i]
        if g < 0:
            continue
        a = out[g]
        u = units[i]
        s = a + u
        if _overflows(a, u, s):
            return i
        out[g] = s
    return -1


@jit
def projected_balances(group, status, value_day, units, days, out):
    """Balance of each group at the end of each day in ``days`` (sorted int days).

    Settled rows count from the first day; pending rows from the first day on
    or after their value date (never, if that is after the last day).
    ``out`` is int64 (n_groups, n_days), zeroed. Returns -1 or the overflow row
    (row index, or ``n_rows + group`` for an overflow in the running sum).
    """
    n_days = days.shape[0]
    if n_days == 0:
        return -1
    for i in range(group.shape[0]):
        st = status[i]
        if st > 1:
            continue
        j = 0
        if st == 0:
            lo = 0
            hi = n_days
            v = value_day[i]
            while lo < hi:
                mid = (lo + hi) // 2
                if days[mid] < v:
                    lo = mid + 1
                else:
                    hi = mid
            j = lo
            if j == n_days:
                continue
        g = group[i]
        a = out[g, j]
        u = units[i]
        s = a + u
        if _overflows(a, u, s):
            return i
        out[g, j] = s
    for g in range(out.shape[0]):
        for j in range(1, n_days):
            a = out[g, j - 1]
            b = out[g, j]
            s = a + b
            if _overflows(a, b, s):
                return group.shape[0] + g
            out[g, j] = s
    return -1


@jit
def status_as_of(txn, status, time, as_of, out):
    """Status of each transaction at time ``as_of`` from its events (in time order).

    ``out`` (n_txn,) is filled by the caller with -1 (not yet recorded); each
    event with ``time <= as_of`` overwrites its transaction's status.
    """
    for i in range(txn.shape[0]):
        if time[i] <= as_of:
            out[txn[i]] = status[i]


@jit
def first_short_day(start, flows, out):
    """Running cash ``start + cumsum(flows)`` of each scenario and the first day below zero.

    ``flows`` is (n_days, n_scenarios) float64, ``start`` (n_scenarios,);
    ``out`` (n_scenarios,) int64 receives the first day index whose running
    cash is negative, or -1. Returns nothing.
    """
    n_days = flows.shape[0]
    for k in range(flows.shape[1]):
        c = start[k]
        out[k] = -1
        for t in range(n_days):
            c += flows[t, k]
            if c < 0.0:
                out[k] = t
                break
