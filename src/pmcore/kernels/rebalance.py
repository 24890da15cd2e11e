"""Drift and trigger kernels over many accounts at once (CSR by account).

The trade-list kernels are in :mod:`pmcore.kernels.rebalance_trades`.

Current weights of account ``p`` are rows ``offsets[p]:offsets[p + 1]``;
its target weights are rows ``t_start[p]:t_end[p]`` of the target arrays (so
one model portfolio can serve every account without being copied). Keys are
integer codes ``0 .. n_keys - 1`` (instruments or groups). Current rows that
repeat a key within an account are summed (aggregation to a grouping column);
target keys are unique within an account (the caller checks).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# columns of the per-account summary returned by ``drift_accounts`` (AT_MAX: signed drift of the ARGMAX row)
MAX_ABS, TOTAL_ABS, ARGMAX, AT_MAX = range(4)
N_SUMMARY = 4


@jit
def _count_rows(offsets, order, code, t_start, t_end, t_code, mark, extra_code):
    """Output rows per account (distinct keys held or targeted, plus ``extra_code`` if >= 0)."""
    n_p = offsets.shape[0] - 1
    has_order = order.shape[0] > 0
    out_offsets = np.zeros(n_p + 1, np.int64)
    dup = -1
    for p in range(n_p):
        c = 0
        for k in range(offsets[p], offsets[p + 1]):
            r = order[k] if has_order else k
            i = code[r]
            if mark[i] != p:
                mark[i] = p
                c += 1
            elif dup < 0 or r < dup:
                dup = r
        for k in range(t_start[p], t_end[p]):
            if mark[t_code[k]] != p:
                mark[t_code[k]] = p
                c += 1
        if extra_code >= 0 and mark[extra_code] != p:
            c += 1
        out_offsets[p + 1] = out_offsets[p] + c
    mark[:] = -1
    return out_offsets, dup


@jit
def merge_targets(offsets, order, code, value, t_start, t_end, t_code, t_weight, n_keys):
    """Merge each account's current rows with its target rows (one output row per key).

    Parameters
    ----------
    offsets : int64[n_accounts + 1]
        Current rows of account ``p`` are ``order[offsets[p]:offsets[p + 1]]``.
    order : int64[n_rows] or int64[0]
        Row numbers grouped by account; empty when the rows already are.
    code : int32[n_rows]
        Key code of each current row (repeats within an account are summed).
    value : float64[n_rows]
        Current weight of each row.
    t_start, t_end : int64[n_accounts]
        Target rows of account ``p`` are ``t_start[p]:t_end[p]``.
    t_code : int32[n_target_rows]
        Key code of each target row (unique within an account).
    t_weight : float64[n_target_rows]
    n_keys : int

    Returns
    -------
    out_offsets : int64[n_accounts + 1]
        Output rows of account ``p``: keys held first (in order of first
        appearance), then keys only in the target.
    out_code : int32[n_out]
    current, target : float64[n_out]
        Summed current value and target weight (0 where absent).
    dup : int
        First input row that repeats a key within its account, or -1.
    """
    n_p = offsets.shape[0] - 1
    has_order = order.shape[0] > 0
    mark = np.full(n_keys, -1, np.int64)
    slot = np.zeros(n_keys, np.int64)
    out_offsets, dup = _count_rows(offsets, order, code, t_start, t_end, t_code, mark, -1)
    n_out = out_offsets[n_p]
    out_code = np.empty(n_out, np.int32)
    current = np.zeros(n_out)
    target = np.zeros(n_out)
    for p in range(n_p):
        r = out_offsets[p]
        for k in range(offsets[p], offsets[p + 1]):
            row = order[k] if has_order else k
            i = code[row]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                r += 1
            current[slot[i]] += value[row]
        for k in range(t_start[p], t_end[p]):
            i = t_code[k]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                r += 1
            target[slot[i]] = t_weight[k]
    return out_offsets, out_code, current, target, dup


@jit
def _summarize(lo, hi, current, target, drift, summary, p):
    mx = 0.0
    arg = -1
    tot = 0.0
    at = np.nan
    for j in range(lo, hi):
        d = current[j] - target[j]
        drift[j] = d
        a = abs(d)
        tot += a
        if arg < 0 or a > mx or a != a:
            mx = a
            arg = j
            at = d
    summary[p, MAX_ABS] = mx
    summary[p, TOTAL_ABS] = tot
    summary[p, ARGMAX] = arg
    summary[p, AT_MAX] = at


@jit
def drift_rows(out_offsets, current, target):
    """Drift of merged rows and the per-account summary.

    Returns
    -------
    drift : float64[n_out]
        ``current - target``.
    summary : float64[n_accounts, N_SUMMARY]
        Maximum absolute drift, total absolute drift, the output row of
        the maximum (-1 for an account without rows) and the drift of that
        row (NaN without rows). NaN weights give NaN.
    """
    n_p = out_offsets.shape[0] - 1
    drift = np.empty(current.shape[0])
    summary = np.zeros((n_p, N_SUMMARY))
    for p in range(n_p):
        _summarize(out_offsets[p], out_offsets[p + 1], current, target, drift, summary, p)
    return drift, summary


@jit
def drift_accounts(offsets, order, code, weight, t_start, t_end, t_code, t_weight, n_keys):
    """Merge current and target weights per account and compute their drift.

    Arguments as :func:`merge_targets` (``value`` is the current weight).

    Returns
    -------
    out_offsets, out_code, current, target, dup
        As :func:`merge_targets`.
    drift, summary
        As :func:`drift_rows`.
    """
    out_offsets, out_code, current, target, dup = merge_targets(offsets, order, code, weight, t_start, t_end,
                                                                t_code, t_weight, n_keys)
    drift, summary = drift_rows(out_offsets, current, target)
    return out_offsets, out_code, current, target, dup, drift, summary


# columns of the per-account figures returned by ``holdings_drift``
VALUE, CASH, GROSS, TARGET_GROSS = range(4)


@jit
def holdings_drift(offsets, order, code, code_map, quantity, cash, cash_code, price, t_start, t_end, t_code,
                   t_weight, n_keys, out_offsets, out_code, qty, target, drift, account, summary):
    """Drift of accounts given by quantities held and cash, in one pass over the rows.

    Parameters
    ----------
    offsets, order, t_start, t_end, t_code, t_weight, n_keys
        As :func:`merge_targets`.
    code, code_map : int32[n_rows], int32[n_codes]
        The key of row ``r`` is ``code_map[code[r]]`` (``code`` may be the
        indices of a dictionary column and ``code_map`` the key of each
        dictionary entry, so that no per-row key array is built).
    quantity : float64[n_rows]
        Quantity held per row.
    cash : float64[n_accounts]
        Cash of each account; it becomes a row with key ``cash_code`` (price 1).
    price : float64[n_keys]
    out_offsets : int64[n_accounts + 1]
        Output: rows of account ``p`` are ``out_offsets[p]:out_offsets[p + 1]``.
    out_code : int32[bound]; qty, target, drift : float64[bound]
        Output, for at most ``bound`` rows (:func:`holdings_outputs`): key,
        quantity held (cash amount on the cash row), target weight, and drift
        ``quantity * price * (1 / value) - target`` (NaN when the value is
        not positive). Keys held come first, then keys only targeted, then
        cash. An empty ``drift`` is not written (the caller derives it on
        demand; the summary is computed either way).
    account : float64[n_accounts, 4]
        Output: value (cash included), cash, gross exposure
        ``sum |quantity| price`` and the sum of the instruments' targets.
    summary : float64[n_accounts, N_SUMMARY]
        Output, as :func:`drift_rows`.

    Returns
    -------
    n_out : int
        Rows written (the outputs' first ``n_out`` entries).
    dup : int
        First input row that repeats an instrument within its account, or -1.

    Notes
    -----
    The outputs are written once, front to back. Allocate them with
    :func:`holdings_outputs` (numpy asks the kernel for huge pages on large
    arrays, which makes their first touch several times cheaper than
    arrays allocated inside a kernel).
    """
    n_p = offsets.shape[0] - 1
    has_order = order.shape[0] > 0
    store = drift.shape[0] > 0
    mark = np.full(n_keys, -1, np.int64)
    slot = np.zeros(n_keys, np.int64)
    out_offsets[0] = 0
    dup = -1
    r = 0
    for p in range(n_p):
        lo = r
        for k in range(offsets[p], offsets[p + 1]):
            row = order[k] if has_order else k
            i = code_map[code[row]]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                qty[r] = quantity[row]
                target[r] = 0.0
                r += 1
            else:
                qty[slot[i]] += quantity[row]
                if dup < 0 or row < dup:
                    dup = row
        for k in range(t_start[p], t_end[p]):
            i = t_code[k]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                qty[r] = 0.0
                r += 1
            target[slot[i]] = t_weight[k]
        if mark[cash_code] != p:
            mark[cash_code] = p
            slot[cash_code] = r
            out_code[r] = cash_code
            target[r] = 0.0
            r += 1
        qty[slot[cash_code]] = cash[p]
        out_offsets[p + 1] = r
        v = 0.0
        g = 0.0
        tg = 0.0
        for j in range(lo, r):
            x = qty[j] * price[out_code[j]]
            v += x
            if out_code[j] != cash_code:
                g += abs(x)
                tg += target[j]
        account[p, VALUE] = v
        account[p, CASH] = cash[p]
        account[p, GROSS] = g
        account[p, TARGET_GROSS] = tg
        inv = 1.0 / v if v > 0.0 else np.nan
        mx = 0.0
        arg = -1
        tot = 0.0
        at = np.nan
        for j in range(lo, r):
            d = qty[j] * price[out_code[j]] * inv - target[j]
            if store:
                drift[j] = d
            a = abs(d)
            tot += a
            if arg < 0 or a > mx or a != a:
                mx = a
                arg = j
                at = d
        summary[p, MAX_ABS] = mx
        summary[p, TOTAL_ABS] = tot
        summary[p, ARGMAX] = arg
        summary[p, AT_MAX] = at
    return r, dup


def holdings_outputs(offsets, t_start, t_end, store_drift=True):
    """Output arrays of :func:`holdings_drift` (plain numpy, outside the kernel).

    Returns
    -------
    out_offsets, out_code, qty, target, drift, account, summary
        Sized for the largest merge: every row, every target row and a cash
        row per account (``drift`` empty unless ``store_drift``).
    """
    n_p = offsets.shape[0] - 1
    bound = int(offsets[n_p]) + n_p + int((t_end - t_start).sum())
    return (np.zeros(n_p + 1, np.int64), np.empty(bound, np.int32), np.empty(bound), np.empty(bound),
            np.empty(bound if store_drift else 0), np.zeros((n_p, 4)), np.zeros((n_p, N_SUMMARY)))


@jit
def drift_tracking_error(out_offsets, out_code, drift, cov_index, cov):
    """Ex-ante tracking error ``sqrt(d' Sigma d)`` of each account's drift.

    Parameters
    ----------
    out_offsets, out_code, drift
        As returned by :func:`drift_accounts`.
    cov_index : int64[n_keys]
        Row of each key in ``cov`` (-1: riskless, e.g. cash).
    cov : float64[n, n]
        Covariance of the keys' returns (per period).

    Returns
    -------
    float64[n_accounts]
    """
    n_p = out_offsets.shape[0] - 1
    out = np.empty(n_p)
    for p in range(n_p):
        s = 0.0
        for a in range(out_offsets[p], out_offsets[p + 1]):
            da = drift[a]
            ia = cov_index[out_code[a]]
            if da == 0.0 or ia < 0:
                continue
            inner = 0.0
            for b in range(out_offsets[p], out_offsets[p + 1]):
                ib = cov_index[out_code[b]]
                if ib >= 0:
                    inner += cov[ia, ib] * drift[b]
            s += da * inner
        out[p] = np.sqrt(max(s, 0.0))
    return out


@jit
def breaches(out_offsets, drift, target, threshold, relative_band):
    """Find, per account, the asset that is furthest outside its tolerance band.

    The band half-width of an asset is ``threshold`` (absolute) and, when
    ``relative_band`` is finite, at most ``relative_band * |target|`` (the
    "5/25" rule: 5 percentage points or 25 % of the target, whichever is
    tighter): an asset breaches when ``|drift| > band``. Either may be ``inf``
    (turned off).

    Parameters
    ----------
    out_offsets, drift, target
        As returned by :func:`drift_accounts`.
    threshold, relative_band : float
        Absolute band and relative band (``inf`` turns one off).

    Returns
    -------
    worst : int64[n_accounts]
        Output row of the asset with the largest ``|drift| / band`` (ties: the
        largest ``|drift|``, then the first row; -1 when the account has no rows).
    band : float64[n_accounts]
        Band half-width of the worst asset.
    ratio : float64[n_accounts]
        ``|drift| / band`` of the worst asset (0 without drift, inf for a
        drift outside a zero-width band); the account breaches when > 1.
    """
    n_p = out_offsets.shape[0] - 1
    worst = np.full(n_p, -1, np.int64)
    band = np.full(n_p, np.nan)
    ratio = np.zeros(n_p)
    for p in range(n_p):
        best = -1.0
        best_abs = -1.0
        for j in range(out_offsets[p], out_offsets[p + 1]):
            b = threshold
            if relative_band < np.inf:
                b = min(b, relative_band * abs(target[j]))
            a = abs(drift[j])
            if a == 0.0:
                q = 0.0
            elif b == 0.0:
                q = np.inf
            else:
                q = a / b
            if q > best or (q == best and a > best_abs):
                best = q
                best_abs = a
                worst[p] = j
                band[p] = b
        ratio[p] = max(best, 0.0)
    return worst, band, ratio
