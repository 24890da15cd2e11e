"""Drift and trigger kernels over many accounts at once (CSR by account).

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

# columns of the per-account summary returned by ``drift_accounts``
MAX_ABS, TOTAL_ABS, ARGMAX = range(3)
N_SUMMARY = 3


@jit
def drift_accounts(offsets, code, weight, t_start, t_end, t_code, t_weight, n_keys):
    """Merge current and target weights per account and compute their drift.

    Parameters
    ----------
    offsets : int64[n_accounts + 1]
        Current rows of account ``p`` are ``offsets[p]:offsets[p + 1]``.
    code : int32[n_rows]
        Key code of each current row.
    weight : float64[n_rows]
        Current weight of each row.
    t_start, t_end : int64[n_accounts]
        Target rows of account ``p`` are ``t_start[p]:t_end[p]``.
    t_code : int32[n_target_rows]
        Key code of each target row (unique within an account).
    t_weight : float64[n_target_rows]
        Target weight of each target row.
    n_keys : int
        Number of key codes.

    Returns
    -------
    out_offsets : int64[n_accounts + 1]
        Output rows of account ``p``: keys held first (in order of first
        appearance), then keys only in the target.
    out_code : int32[n_out]
    current, target, drift, relative : float64[n_out]
        ``drift = current - target``; ``relative = drift / target`` (0 when
        both are 0, +-inf when only the target is 0).
    summary : float64[n_accounts, N_SUMMARY]
        Maximum absolute drift, total absolute drift, and the output row of
        the maximum (-1 for an account without rows).
    """
    n_p = offsets.shape[0] - 1
    mark = np.full(n_keys, -1, np.int64)
    slot = np.zeros(n_keys, np.int64)
    out_offsets = np.zeros(n_p + 1, np.int64)
    for p in range(n_p):
        c = 0
        for k in range(offsets[p], offsets[p + 1]):
            i = code[k]
            if mark[i] != p:
                mark[i] = p
                c += 1
        for k in range(t_start[p], t_end[p]):
            if mark[t_code[k]] != p:
                c += 1
        out_offsets[p + 1] = out_offsets[p] + c
    n_out = out_offsets[n_p]
    out_code = np.empty(n_out, np.int32)
    current = np.zeros(n_out)
    target = np.zeros(n_out)
    drift = np.empty(n_out)
    relative = np.empty(n_out)
    summary = np.zeros((n_p, N_SUMMARY))
    mark[:] = -1
    for p in range(n_p):
        r = out_offsets[p]
        for k in range(offsets[p], offsets[p + 1]):
            i = code[k]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                r += 1
            current[slot[i]] += weight[k]
        for k in range(t_start[p], t_end[p]):
            i = t_code[k]
            if mark[i] != p:
                mark[i] = p
                slot[i] = r
                out_code[r] = i
                r += 1
            target[slot[i]] = t_weight[k]
        mx = 0.0
        arg = -1
        tot = 0.0
        for j in range(out_offsets[p], out_offsets[p + 1]):
            d = current[j] - target[j]
            drift[j] = d
            if d == 0.0:
                relative[j] = 0.0
            elif target[j] == 0.0:
                relative[j] = np.inf if d > 0.0 else -np.inf
            else:
                relative[j] = d / target[j]
            a = abs(d)
            tot += a
            if arg < 0 or a > mx:
                mx = a
                arg = j
        summary[p, MAX_ABS] = mx
        summary[p, TOTAL_ABS] = tot
        summary[p, ARGMAX] = arg
    return out_offsets, out_code, current, target, drift, relative, summary


@jit
def drift_tracking_error(out_offsets, out_code, drift, cov_index, cov):
    """Ex-ante tracking error ``sqrt(d' Sigma d)`` of each account's drift.

    Parameters
    ----------
    out_offsets, out_code, drift
        As returned by :func:`drift_accounts`.
    cov_index : int64[n_keys]
        Row of each key in ``cov``.
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
            if da == 0.0:
                continue
            ia = cov_index[out_code[a]]
            inner = 0.0
            for b in range(out_offsets[p], out_offsets[p + 1]):
                inner += cov[ia, cov_index[out_code[b]]] * drift[b]
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
