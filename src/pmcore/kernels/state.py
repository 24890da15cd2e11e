"""Kernels of the portfolio state engine: a slot per (portfolio, instrument), fills, cash flows.

Positions live in flat slot arrays; the key ``portfolio * n_instruments +
instrument`` maps to a slot through a dense table when the universe is small
enough (``keys`` empty, ``vals[key]`` the slot or -1), else through an
open-addressing hash (linear probing, Fibonacci hashing), and a singly linked list per portfolio (``head``, ``next``) finds the
slots of one portfolio. Fill ids live in a second hash set. Every mutation of
a batch is written to an undo log first, so the public layer can roll a batch
back (atomic batches) without copying the state.

Slot arrays (``n_slots`` used, capacity ``cap``):

* ``s_int``: int32[3, cap] rows portfolio, instrument, next slot of the portfolio (-1 ends)
* ``s_num``: float64[cap, 3] columns quantity, average price, realized PnL (instrument currency), one cache line per slot
* ``s_status``: int8[cap] (ACTIVE, PENDING, CLOSED, SUSPENDED)
* ``s_opened``: int64[cap] time the current position was opened (ns), 0 if flat

``meta`` is int64[4]: number of slots, number of fill ids, hash shift, id-set shift.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .valuation import EQUITY, N_FIELDS, _neumaier, cash_in_base, value_book

# position status codes
ACTIVE, PENDING, CLOSED, SUSPENDED = 0, 1, 2, 3
STATUS_NAMES = ("ACTIVE", "PENDING", "CLOSED", "SUSPENDED")

# per-row result codes
OK, REJ_SHORT, REJ_DUPLICATE, REJ_SUSPENDED, REJ_CASH, IGNORED = 0, 1, 2, 3, 4, 6  # codes >= 10: static

# transaction types of a fill
T_TRADE, T_BUY, T_SELL, T_TRANSFER = 0, 1, 2, 3
TRANSACTION_TYPES = ("trade", "buy", "sell", "transfer")

# cash flow types; the sign rule is applied by the public layer
FLOW_TYPES = ("deposit", "withdrawal", "fee", "funding", "dividend", "interest")

# meta fields
M_SLOTS, M_IDS, M_SHIFT, M_IDSHIFT = 0, 1, 2, 3

EMPTY_KEY = -1  # position keys are >= 0
EMPTY_ID = np.iinfo(np.int64).min  # fill ids may be any other int64
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)

# undo log columns: slot, created, cash cell 1 (p*n_c+c), cash cell 2, batch row
U_SLOT, U_CREATED, U_CELL1, U_CELL2, U_ROW = range(5)
# undo log values: quantity, avg price, realized, status, opened, cash 1, cash 2, old price
V_QTY, V_AVG, V_REAL, V_STATUS, V_OPENED, V_CASH1, V_CASH2 = range(7)

# impact vector of ``apply_one``
I_CODE = 0
I_Q0, I_A0, I_Q1, I_A1, I_REAL = 1, 2, 3, 4, 5
I_EQ0, I_EQ1, I_CASH0, I_CASH1, I_MV0, I_MV1, I_STATUS = 6, 7, 8, 9, 10, 11, 12
I_GROUPS = 13  # then per grouping column: gross before, gross after


@jit
def _home(key, shift):
    return np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(shift))


@jit
def hash_find(keys, key, shift, empty):
    """Index of ``key`` in the open-addressing table ``keys``, or -1."""
    mask = keys.shape[0] - 1
    j = _home(key, shift)
    while True:
        k = keys[j]
        if k == key:
            return j
        if k == empty:
            return -1
        j = (j + 1) & mask


@jit
def hash_insert(keys, key, shift, empty):
    """Insert ``key`` (known absent) and return its index."""
    mask = keys.shape[0] - 1
    j = _home(key, shift)
    while keys[j] != empty:
        j = (j + 1) & mask
    keys[j] = key
    return j


@jit
def hash_delete(keys, vals, key, shift, empty):
    """Remove ``key`` by backward-shift deletion (no tombstones); ``vals`` moves along."""
    mask = keys.shape[0] - 1
    j = hash_find(keys, key, shift, empty)
    if j < 0:
        return
    keys[j] = empty
    i = j
    while True:
        i = (i + 1) & mask
        k = keys[i]
        if k == empty:
            return
        h = _home(k, shift)
        # move k back to the hole j unless its home lies cyclically in (j, i]
        if j < i:
            stay = j < h <= i
        else:
            stay = h > j or h <= i
        if not stay:
            keys[j] = k
            vals[j] = vals[i]
            keys[i] = empty
            j = i


@jit
def slot_find(keys, vals, key, shift):
    """Slot of position ``key`` or -1: a dense table (``keys`` empty, ``vals`` indexed by key) or the hash."""
    if keys.shape[0] == 0:
        return vals[key]
    j = hash_find(keys, key, shift, EMPTY_KEY)
    return vals[j] if j >= 0 else -1


@jit
def slot_insert(keys, vals, key, shift, s):
    """Map position ``key`` (known absent) to slot ``s``."""
    if keys.shape[0] == 0:
        vals[key] = s
    else:
        j = hash_insert(keys, key, shift, EMPTY_KEY)
        vals[j] = s


@jit
def slot_delete(keys, vals, key, shift):
    """Forget position ``key``."""
    if keys.shape[0] == 0:
        vals[key] = -1
    else:
        hash_delete(keys, vals, key, shift, EMPTY_KEY)


@jit
def rebuild_positions(keys, vals, s_int, n_slots, n_instruments, shift):
    """Fill an empty position index (dense or hash) from the slot arrays."""
    for s in range(n_slots):
        slot_insert(keys, vals, np.int64(s_int[0, s]) * n_instruments + s_int[1, s], shift, s)


@jit
def rebuild_ids(new_keys, old_keys, shift):
    """Insert every id of ``old_keys`` into the empty table ``new_keys``."""
    for j in range(old_keys.shape[0]):
        k = old_keys[j]
        if k != EMPTY_ID:
            hash_insert(new_keys, k, shift, EMPTY_ID)


@jit
def _slot_for(p, i, n_instruments, keys, vals, s_int, s_num, s_status, s_opened, head, meta):
    """Slot of (p, i), created flat if missing; returns (slot, created)."""
    key = np.int64(p) * n_instruments + i
    found = slot_find(keys, vals, key, meta[M_SHIFT])
    if found >= 0:
        return found, False
    s = meta[M_SLOTS]
    meta[M_SLOTS] = s + 1
    slot_insert(keys, vals, key, meta[M_SHIFT], s)
    s_int[0, s] = p
    s_int[1, s] = i
    s_int[2, s] = head[p]
    head[p] = s
    s_num[s, 0] = 0.0
    s_num[s, 1] = 0.0
    s_num[s, 2] = 0.0
    s_status[s] = CLOSED
    s_opened[s] = 0
    return s, True


@jit
def _is_zero(q, a, b):
    """Quantity ``q`` (the result of a + b) is zero up to rounding of the operands."""
    return abs(q) <= 1e-12 * max(abs(a), abs(b))


@jit
def fill_step(q0, a0, dq, px, mult):
    """One fill on one position by average cost.

    Returns ``(quantity, avg_price, realized)``: increases move the average
    cost, reductions book ``closed * (px - a0) * mult`` (sign of the old side),
    a position crossing zero flips with the fill price as its cost, and a
    position at zero has average price 0.
    """
    q1 = q0 + dq
    if q0 == 0.0 or (q0 > 0.0) == (dq > 0.0):
        if q0 == 0.0:
            return q1, px, 0.0
        return q1, (q0 * a0 + dq * px) / q1, 0.0
    if _is_zero(q1, q0, dq):
        return 0.0, 0.0, q0 * (px - a0) * mult
    if abs(dq) < abs(q0):
        return q1, a0, -dq * (px - a0) * mult
    return q1, px, q0 * (px - a0) * mult


@jit
def portfolio_order(port, status, n_portfolios):
    """Rows with status OK grouped by portfolio, input order kept within a portfolio.

    Fills of different portfolios touch different slots and cash cells, so
    applying them grouped by portfolio gives bit-for-bit the result of input
    order while the slots of one portfolio stay in cache.
    """
    n = port.shape[0]
    if n < 256:
        m = 0
        out = np.empty(n, np.int64)
        for r in range(n):
            if status[r] == OK:
                out[m] = r
                m += 1
        return out[:m]
    if 4 * n < n_portfolios:
        idx = np.argsort(port, kind="mergesort")
        m = 0
        out = np.empty(n, np.int64)
        for k in range(n):
            r = idx[k]
            if status[r] == OK:
                out[m] = r
                m += 1
        return out[:m]
    counts = np.zeros(n_portfolios + 1, np.int64)
    m = 0
    for r in range(n):
        if status[r] == OK:
            counts[port[r] + 1] += 1
            m += 1
    for p in range(n_portfolios):
        counts[p + 1] += counts[p]
    out = np.empty(m, np.int64)
    for r in range(n):
        if status[r] == OK:
            p = port[r]
            out[counts[p]] = r
            counts[p] += 1
    return out


@jit
def check_ids(fid, status, ignore_dup, atomic, ids, meta, id_ins):
    """Reject (or ignore) fill ids seen before or earlier in the batch, inserting the new ones.

    Input order: the second occurrence of an id in a batch is the duplicate.
    ``id_ins[r]`` marks the ids inserted. Returns the first rejected row of an
    atomic batch (its inserted ids removed again) or -1.
    """
    for r in range(fid.shape[0]):
        id_ins[r] = False
        if status[r] != OK:
            continue
        if hash_find(ids, fid[r], meta[M_IDSHIFT], EMPTY_ID) >= 0:
            if ignore_dup:
                status[r] = IGNORED
                continue
            status[r] = REJ_DUPLICATE
            if atomic:
                remove_ids(fid, id_ins, ids, meta)
                return r
            continue
        hash_insert(ids, fid[r], meta[M_IDSHIFT], EMPTY_ID)
        meta[M_IDS] += 1
        id_ins[r] = True
    return -1


@jit
def remove_ids(fid, mask, ids, meta):
    """Delete ``fid[r]`` from the id set for every ``mask[r]``."""
    for r in range(fid.shape[0]):
        if mask[r]:
            hash_delete(ids, ids, fid[r], meta[M_IDSHIFT], EMPTY_ID)
            meta[M_IDS] -= 1
            mask[r] = False


@jit
def apply_fills(port, inst, qty, px, fee, fee_ccy, ttype, fid, use_ids, ignore_dup, ts, status, atomic, check,
                state_i, state_f, slots_i, slots_f, s_status, s_opened, ids, undo_i, undo_f, id_ins):
    """Apply a batch of fills with the result of applying them one by one in input order.

    Parameters
    ----------
    port, inst : int32[n] portfolio and instrument codes
    qty, px, fee : float64[n] signed quantity change, price, fee (fee currency)
    fee_ccy : int32[n] currency code of the fee
    ttype : int8[n] transaction type (T_TRADE, T_BUY, T_SELL, T_TRANSFER)
    fid : int64[n] fill ids (used when ``use_ids``)
    ignore_dup : a fill id seen before (or earlier in the batch) gets IGNORED instead of REJ_DUPLICATE
    ts : int64[n] timestamps (ns)
    status : int8[n] in: OK or a code set by the public layer (row skipped);
        out: the row's result code
    atomic : stop at the first rejected row (the caller rolls back with the undo log)
    check : apply the no-short, suspended and duplicate-id rules (off for replay)
    state_i : tuple (keys, vals, head, meta, inst_ccy, is_margin)
    state_f : tuple (cash float64[n_p, n_c, 2], prices, multiplier)
    slots_i, slots_f : s_int, s_num
    ids : int64 fill-id hash set
    undo_i : int64[n, 5], undo_f : float64[n, 8] undo log (application order)
    id_ins : bool[n] out: ids inserted

    Returns
    -------
    (n_logged, first_rejected_row or -1)

    Notes
    -----
    Ids are checked first, in input order. Rows are then applied grouped by
    portfolio (input order within a portfolio): a portfolio's slots and cash
    cells see exactly the sequence of updates of input order. Instruments
    without a market price are marked at their first applied fill, in input
    order, at the end. An atomic batch stops at the first rejected row met.
    """
    keys, vals, head, meta, inst_ccy, is_margin = state_i
    cash, prices, mult = state_f
    n_i = prices.shape[0]
    n_c = cash.shape[1]
    if use_ids and check:
        bad = check_ids(fid, status, ignore_dup, atomic, ids, meta, id_ins)
        if bad >= 0:
            return 0, bad
    elif use_ids:
        for r in range(fid.shape[0]):
            id_ins[r] = False
            if status[r] == OK:
                hash_insert(ids, fid[r], meta[M_IDSHIFT], EMPTY_ID)
                meta[M_IDS] += 1
                id_ins[r] = True
    order = portfolio_order(port, status, head.shape[0])
    # the columns in application order: sequential reads in the loop below
    o_port = port[order]
    o_inst = inst[order]
    o_qty = qty[order]
    o_px = px[order]
    log = 0
    for k in range(order.shape[0]):
        r = order[k]
        p = o_port[k]
        i = o_inst[k]
        dq = o_qty[k]
        price = o_px[k]
        s = slot_find(keys, vals, np.int64(p) * n_i + i, meta[M_SHIFT])
        q0 = 0.0
        a0 = 0.0
        st0 = CLOSED
        if s >= 0:
            q0 = slots_f[s, 0]
            a0 = slots_f[s, 1]
            st0 = s_status[s]
        m = mult[i]
        q1, a1, realized = fill_step(q0, a0, dq, price, m)
        code = OK
        if check and st0 == SUSPENDED:
            code = REJ_SUSPENDED
        elif check and not is_margin[p] and q1 < 0.0 and dq < 0.0:
            code = REJ_SHORT
        if code != OK:
            status[r] = code
            if atomic:
                return log, r
            if use_ids and id_ins[r]:
                hash_delete(ids, ids, fid[r], meta[M_IDSHIFT], EMPTY_ID)
                meta[M_IDS] -= 1
                id_ins[r] = False
            continue
        created = False
        if s < 0:
            s, created = _slot_for(p, i, n_i, keys, vals, slots_i, slots_f, s_status, s_opened, head, meta)
        c1 = inst_ccy[i]
        c2 = fee_ccy[r]
        undo_i[log, U_SLOT] = s
        undo_i[log, U_CREATED] = created
        undo_i[log, U_CELL1] = p * n_c + c1
        undo_i[log, U_CELL2] = p * n_c + c2
        undo_i[log, U_ROW] = r
        undo_f[log, V_QTY] = slots_f[s, 0]
        undo_f[log, V_AVG] = slots_f[s, 1]
        undo_f[log, V_REAL] = slots_f[s, 2]
        undo_f[log, V_STATUS] = s_status[s]
        undo_f[log, V_OPENED] = s_opened[s]
        undo_f[log, V_CASH1] = cash[p, c1, 0]
        undo_f[log, V_CASH2] = cash[p, c2, 0]
        log += 1
        slots_f[s, 0] = q1
        slots_f[s, 1] = a1
        slots_f[s, 2] += realized
        if q1 == 0.0:
            s_status[s] = CLOSED
            s_opened[s] = 0
        else:
            if q0 == 0.0 or (q0 > 0.0) != (q1 > 0.0):
                s_opened[s] = ts[r]
            s_status[s] = ACTIVE
        if ttype[r] != T_TRANSFER:
            if is_margin[p]:
                cash[p, c1, 0] += realized
            else:
                cash[p, c1, 0] -= dq * price * m
        cash[p, c2, 0] -= fee[r]
    for r in range(port.shape[0]):  # mark unpriced instruments at their first fill, input order
        if status[r] == OK and not (prices[inst[r]] > 0.0):
            prices[inst[r]] = px[r]
    return log, -1


@jit
def undo_fills(log, fid, use_ids, id_ins, state_i, state_f, slots_i, slots_f, s_status, s_opened, ids, undo_i,
               undo_f):
    """Roll back the first ``log`` entries of the undo log (newest first) and the inserted ids.

    Prices are untouched by an atomic batch that stopped (they are marked last).
    """
    keys, vals, head, meta, inst_ccy, is_margin = state_i
    cash, prices, mult = state_f
    n_i = prices.shape[0]
    n_c = cash.shape[1]
    for e in range(log - 1, -1, -1):
        s = undo_i[e, U_SLOT]
        p = slots_i[0, s]
        i = slots_i[1, s]
        c2 = undo_i[e, U_CELL2] - p * n_c
        cash[p, c2, 0] = undo_f[e, V_CASH2]
        c1 = undo_i[e, U_CELL1] - p * n_c
        cash[p, c1, 0] = undo_f[e, V_CASH1]
        if undo_i[e, U_CREATED]:
            slot_delete(keys, vals, np.int64(p) * n_i + i, meta[M_SHIFT])
            head[p] = slots_i[2, s]
            meta[M_SLOTS] -= 1
        else:
            slots_f[s, 0] = undo_f[e, V_QTY]
            slots_f[s, 1] = undo_f[e, V_AVG]
            slots_f[s, 2] = undo_f[e, V_REAL]
            s_status[s] = np.int8(undo_f[e, V_STATUS])
            s_opened[s] = np.int64(undo_f[e, V_OPENED])
    if use_ids:
        remove_ids(fid, id_ins, ids, meta)


@jit
def apply_cash(port, ccy, amount, check_cash, status, atomic, cash, undo_f):
    """Apply signed cash amounts in order.

    ``check_cash[r]`` marks rows (withdrawals) that may not take the balance
    below the locked amount of that currency; such a row gets REJ_CASH.
    ``undo_f`` float64[n] receives the old balance of each applied row.
    Returns the first rejected row (atomic) or -1.
    """
    for r in range(port.shape[0]):
        if status[r] != OK:
            continue
        p = port[r]
        c = ccy[r]
        new = cash[p, c, 0] + amount[r]
        if check_cash[r] and new < cash[p, c, 1] - 1e-9 * abs(amount[r]):
            status[r] = REJ_CASH
            if atomic:
                return r
            continue
        undo_f[r] = cash[p, c, 0]
        cash[p, c, 0] = new
    return -1


@jit
def undo_cash(upto, port, ccy, status, cash, undo_f):
    """Restore the balances of applied rows ``< upto``, newest first."""
    for r in range(upto - 1, -1, -1):
        if status[r] == OK:
            cash[port[r], ccy[r], 0] = undo_f[r]


@jit
def gather(portfolios, head, slots_i, slots_f, s_status, skip_closed):
    """Positions of ``portfolios`` grouped by portfolio, instruments ascending within one.

    Returns ``(offsets, slot)``: slots of ``portfolios[k]`` are
    ``slot[offsets[k]:offsets[k + 1]]``.
    """
    n = portfolios.shape[0]
    offsets = np.zeros(n + 1, np.int64)
    total = 0
    for k in range(n):
        s = head[portfolios[k]]
        while s >= 0:
            if not (skip_closed and s_status[s] == CLOSED):
                total += 1
            s = slots_i[2, s]
    slot = np.empty(total, np.int64)
    r = 0
    for k in range(n):
        start = r
        s = head[portfolios[k]]
        while s >= 0:
            if not (skip_closed and s_status[s] == CLOSED):
                slot[r] = s
                r += 1
            s = slots_i[2, s]
        seg = slot[start:r]
        order = np.argsort(slots_i[1, seg])
        slot[start:r] = seg[order]
        offsets[k + 1] = r
    return offsets, slot


@jit
def _portfolio_values(p, head, slots_i, slots_f, cash, is_margin, prices, scale, fx, groups, n_groups,
                      g_inst, out, col):
    """Equity, cash and group gross exposure of portfolio ``p`` via the valuation kernels."""
    n = 0
    s = head[p]
    while s >= 0:
        n += slots_f[s, 0] != 0.0
        s = slots_i[2, s]
    inst = np.empty(n, np.int32)
    q = np.empty(n)
    a = np.empty(n)
    s = head[p]
    k = 0
    while s >= 0:
        if slots_f[s, 0] != 0.0:  # flat slots (CLOSED, PENDING) may sit on unpriced instruments
            inst[k] = slots_i[1, s]
            q[k] = slots_f[s, 0]
            a[k] = slots_f[s, 1]
            k += 1
        s = slots_i[2, s]
    offsets = np.zeros(2, np.int64)
    offsets[1] = n
    n_c = cash.shape[1]
    c_off = np.zeros(2, np.int64)
    c_off[1] = n_c
    c_cur = np.arange(n_c).astype(np.int32)
    cb = np.empty((1, 2))
    cash_in_base(c_off, c_cur, cash[p], fx, cb)
    vals = np.empty((1, N_FIELDS))
    margin = np.empty(1, np.bool_)
    margin[0] = is_margin[p]
    value_book(offsets, inst, q, a, prices, scale, cb, margin, vals)
    out[I_EQ0 + col] = vals[0, EQUITY]
    out[I_CASH0 + col] = cb[0, 0]
    for g in range(groups.shape[0]):
        # gross exposure of the traded instrument's group, summed as valuation.group_exposures
        # sums it (compensated long and short sums), for that one group only
        target = groups[g, g_inst]
        ls, lc, ss, sc = 0.0, 0.0, 0.0, 0.0
        for k in range(n):
            if groups[g, inst[k]] == target:
                mv = q[k] * prices[inst[k]] * scale[inst[k]]
                ls, lc = _neumaier(ls, lc, max(mv, 0.0))
                ss, sc = _neumaier(ss, sc, min(mv, 0.0))
        out[I_GROUPS + 2 * g + col] = (ls + lc) - (ss + sc)


@jit
def apply_one(p, i, dq, price, fee, fee_c, ttype, fid, use_id, ts, impact, groups, n_groups, fx, scale,
              state_i, state_f, slots_i, slots_f, s_status, s_opened, ids, out):
    """Apply one fill with checks and, if ``impact``, value the portfolio before and after.

    ``out`` float64[I_GROUPS + 2 * n_group_columns] receives the result code
    and the impact fields (I_*). The state is untouched when the code is not OK.
    """
    keys, vals, head, meta, inst_ccy, is_margin = state_i
    cash, prices, mult = state_f
    n_i = prices.shape[0]
    if use_id and hash_find(ids, fid, meta[M_IDSHIFT], EMPTY_ID) >= 0:
        out[I_CODE] = REJ_DUPLICATE
        return
    s = slot_find(keys, vals, np.int64(p) * n_i + i, meta[M_SHIFT])
    q0 = 0.0
    a0 = 0.0
    if s >= 0:
        if s_status[s] == SUSPENDED:
            out[I_CODE] = REJ_SUSPENDED
            return
        q0 = slots_f[s, 0]
        a0 = slots_f[s, 1]
    m = mult[i]
    q1, a1, realized = fill_step(q0, a0, dq, price, m)
    if not is_margin[p] and q1 < 0.0 and dq < 0.0:
        out[I_CODE] = REJ_SHORT
        return
    if not (prices[i] > 0.0):
        prices[i] = price
    if impact:
        _portfolio_values(p, head, slots_i, slots_f, cash, is_margin, prices, scale, fx, groups, n_groups,
                          i, out, 0)
    s, created = _slot_for(p, i, n_i, keys, vals, slots_i, slots_f, s_status, s_opened, head, meta)
    if use_id:
        hash_insert(ids, fid, meta[M_IDSHIFT], EMPTY_ID)
        meta[M_IDS] += 1
    slots_f[s, 0] = q1
    slots_f[s, 1] = a1
    slots_f[s, 2] += realized
    if q1 == 0.0:
        s_status[s] = CLOSED
        s_opened[s] = 0
    else:
        if q0 == 0.0 or (q0 > 0.0) != (q1 > 0.0):
            s_opened[s] = ts
        s_status[s] = ACTIVE
    c1 = inst_ccy[i]
    if ttype != T_TRANSFER:
        if is_margin[p]:
            cash[p, c1, 0] += realized
        else:
            cash[p, c1, 0] -= dq * price * m
    cash[p, fee_c, 0] -= fee
    out[I_CODE] = OK
    out[I_Q0] = q0
    out[I_A0] = a0
    out[I_Q1] = q1
    out[I_A1] = a1
    out[I_REAL] = realized
    out[I_STATUS] = s_status[s]
    out[I_MV0] = q0 * prices[i] * scale[i]
    out[I_MV1] = q1 * prices[i] * scale[i]
    if impact:
        _portfolio_values(p, head, slots_i, slots_f, cash, is_margin, prices, scale, fx, groups, n_groups,
                          i, out, 1)


@jit
def ids_seen(ids, fid, shift):
    """bool[n]: fill id already in the set."""
    out = np.zeros(fid.shape[0], np.bool_)
    for r in range(fid.shape[0]):
        out[r] = hash_find(ids, fid[r], shift, EMPTY_ID) >= 0
    return out


@jit
def ids_add(ids, fid, mask, meta):
    """Insert ``fid[r]`` for every ``mask[r]`` (ids known absent; room reserved)."""
    for r in range(fid.shape[0]):
        if mask[r]:
            hash_insert(ids, fid[r], meta[M_IDSHIFT], EMPTY_ID)
            meta[M_IDS] += 1


@jit
def touched(log, undo_i, undo_f, n_slots):
    """Slots changed by the first ``log`` undo entries and their values before the batch.

    Returns ``(slot int64[m], before float64[m, 4])`` with before = quantity,
    average price, realized PnL, status (NaN quantity for a slot the batch created).
    """
    mark = np.zeros(n_slots, np.bool_)
    slot = np.empty(log, np.int64)
    before = np.empty((log, 4))
    m = 0
    for e in range(log):
        s = undo_i[e, U_SLOT]
        if mark[s]:
            continue
        mark[s] = True
        slot[m] = s
        before[m, 0] = np.nan if undo_i[e, U_CREATED] else undo_f[e, V_QTY]
        before[m, 1] = undo_f[e, V_AVG]
        before[m, 2] = undo_f[e, V_REAL]
        before[m, 3] = undo_f[e, V_STATUS]
        m += 1
    return slot[:m].copy(), before[:m].copy()
