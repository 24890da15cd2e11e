"""Kernels of the cash ledger: exact int64 fixed-point sums with overflow detection.

Amounts are int64 units (``amount * 10**scale``). Every sum is checked: a
kernel returns the row at which an int64 addition would overflow (the caller
raises), or -1. Status codes: 0 pending, 1 settled, 2 failed, 3 cancelled.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = [
    "balance_table",
    "first_short_day",
    "group_sum",
    "keyed_balances",
    "match_strings",
    "projected_balances",
    "status_as_of",
]


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


@jit
def keyed_balances(c0, c1, c2, n1, n2, sidx, smap, lo, hi, out):
    """One pass: group code from three key codes, status via a lookup, exact sums.

    Group ``g = (c0 * n1 + c1) * n2 + c2``; ``smap[sidx[i]]`` is the status
    code (0 pending, 1 settled, 2 failed, 3 cancelled). ``lo``/``hi`` are the
    two int64 words of each decimal128 amount (units); a row whose high word
    is not the sign extension of the low one does not fit int64. ``out`` is
    int64 (n_groups, 4): settled, pending in, pending out, row count. Returns
    -1, the first overflow row ``i``, or ``-2 - i`` for the first amount out
    of the int64 range.
    """
    for i in range(c0.shape[0]):
        u = lo[i]
        if hi[i] != (u >> 63):
            return -2 - i
        g = (c0[i] * n1 + c1[i]) * n2 + c2[i]
        out[g, 3] += 1
        st = smap[sidx[i]]
        if st == 1:
            k = 0
        elif st == 0:
            if u >= 0:
                k = 1
            else:
                k = 2
                u = -u
                if u < 0:  # -(-2**63) wraps
                    return i
        else:
            continue
        a = out[g, k]
        s = a + u
        if ((a ^ s) & (u ^ s)) < 0:
            return i
        out[g, k] = s
    return -1


@jit
def _fnv(data, start, stop):
    h = np.uint64(14695981039346656037)
    for k in range(start, stop):
        h = (h ^ np.uint64(data[k])) * np.uint64(1099511628211)
    return h


@jit
def _same(data_a, a0, a1, data_b, b0, b1):
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):
        if data_a[a0 + k] != data_b[b0 + k]:
            return False
    return True


@jit
def _hash_all(off, data, out):
    """FNV-1a hash of each string."""
    for i in range(out.shape[0]):
        out[i] = _fnv(data, off[i], off[i + 1])

@jit
def _partition(h, shift, n_parts, start, order):
    """Stable counting sort of rows by the top bits of their hash."""
    counts = np.zeros(n_parts + 1, np.int64)
    for i in range(h.shape[0]):
        counts[(h[i] >> shift) + np.uint64(1)] += 1
    for p in range(n_parts):
        counts[p + 1] += counts[p]
    for p in range(n_parts + 1):
        start[p] = counts[p]
    for i in range(h.shape[0]):
        p = h[i] >> shift
        order[counts[p]] = i
        counts[p] += 1

@jit
def match_strings(l_off, l_data, s_off, s_data, match, err):
    """Match statement strings to ledger strings by exact bytes (partitioned hash join).

    ``l_off``/``s_off`` are Arrow offsets (length n + 1, already shifted by
    the array offset), ``*_data`` the UTF-8 bytes. ``match`` (n_statement,)
    receives the ledger row of each statement row or -1. ``err`` (3,) gets
    ``[kind, row, first_row]`` for the first duplicate (lowest row): kind 1
    in the ledger (reported first), 2 in the statement, 0 if none.

    Rows are hashed (FNV-1a), split by the top hash bits into partitions of
    about 4,096 keys (stable counting sort), and each partition is joined in
    a small open-addressing table that stays in cache. Each slot packs 32
    bits of the hash and the row + 1 (0 = empty).
    """
    n_l = l_off.shape[0] - 1
    n_s = s_off.shape[0] - 1
    hl = np.empty(n_l, np.uint64)
    hs = np.empty(n_s, np.uint64)
    _hash_all(l_off, l_data, hl)
    _hash_all(s_off, s_data, hs)
    pbits = 0
    while (n_l + n_s) >> pbits > 4096 and pbits < 20:
        pbits += 1
    n_parts = 1 << pbits
    shift = np.uint64(64 - pbits) if pbits > 0 else np.uint64(63)
    if pbits == 0:  # small input: two partitions by the top bit
        n_parts = 2
    ls = np.empty(n_parts + 1, np.int64)
    lo_ = np.empty(n_l, np.int64)
    ss = np.empty(n_parts + 1, np.int64)
    so = np.empty(n_s, np.int64)
    _partition(hl, shift, n_parts, ls, lo_)
    _partition(hs, shift, n_parts, ss, so)
    biggest = 0
    for p in range(n_parts):
        c = (ls[p + 1] - ls[p]) + (ss[p + 1] - ss[p])
        biggest = max(biggest, c)
    size = 1
    while size < 2 * biggest + 2:
        size *= 2
    table = np.zeros(size, np.uint64)
    low = np.uint64(0xFFFFFFFF)
    first_s = np.full(n_l, -1, np.int64)
    dup_l = n_l
    dup_l_first = -1
    dup_s = n_s
    dup_s_first = -1
    for j in range(n_s):
        match[j] = -1
    for p in range(n_parts):
        c = (ls[p + 1] - ls[p]) + (ss[p + 1] - ss[p])
        sz = 1
        while sz < 2 * c + 2:
            sz *= 2
        mask = np.uint64(sz - 1)
        for k in range(sz):
            table[k] = 0
        for t in range(ls[p], ls[p + 1]):
            i = lo_[t]
            h = hl[i]
            tag = (h << np.uint64(32)) & ~low  # low 32 bits of the hash as tag
            slot = h & mask
            while True:
                e = table[slot]
                if e == 0:
                    table[slot] = tag | np.uint64(i + 1)
                    break
                if (e & ~low) == tag:
                    r = np.int64(e & low) - 1
                    if _same(l_data, l_off[r], l_off[r + 1], l_data, l_off[i], l_off[i + 1]):
                        if i < dup_l:
                            dup_l = i
                            dup_l_first = r
                        break
                slot = (slot + np.uint64(1)) & mask
        for t in range(ss[p], ss[p + 1]):
            j = so[t]
            h = hs[j]
            tag = (h << np.uint64(32)) & ~low
            slot = h & mask
            stop = False
            while True:
                e = table[slot]
                if e == 0:
                    table[slot] = tag | np.uint64(n_l + j + 1)
                    break
                if (e & ~low) == tag:
                    r = np.int64(e & low) - 1
                    if r < n_l:
                        if _same(l_data, l_off[r], l_off[r + 1], s_data, s_off[j], s_off[j + 1]):
                            if first_s[r] >= 0:
                                if j < dup_s:
                                    dup_s = j
                                    dup_s_first = first_s[r]
                                stop = True
                            else:
                                first_s[r] = j
                                match[j] = r
                            break
                    else:
                        q = r - n_l
                        if _same(s_data, s_off[q], s_off[q + 1], s_data, s_off[j], s_off[j + 1]):
                            if j < dup_s:
                                dup_s = j
                                dup_s_first = q
                            stop = True
                            break
                slot = (slot + np.uint64(1)) & mask
            if stop:
                break
    err[0] = 0
    if dup_l < n_l:
        err[0] = 1
        err[1] = dup_l
        err[2] = dup_l_first
    elif dup_s < n_s:
        err[0] = 2
        err[1] = dup_s
        err[2] = dup_s_first
