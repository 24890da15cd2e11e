"""Kernels of :mod:`pmcore.metrics`: per-column statistics of a returns matrix.

Every kernel takes a float64 matrix ``x`` of shape ``(n_obs, n_series)`` (time
on axis 0, series on axis 1) and writes one value per column into output arrays
passed last. NaN is a missing observation. Nothing here validates its input.

Rates that may be a scalar or a per-period series (risk-free rate, minimum
acceptable return, benchmark) arrive as a 1-D array ``r`` with a step
``r_step`` of 0 (scalar, ``r[0]`` every period) or 1 (``r[t]``), so a scalar is
never broadcast into a full array.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = [
    "total_return",
    "mean_std",
    "downside",
    "max_drawdown",
    "drawdown_series",
    "drawdown_details",
    "omega",
    "tail_quantiles",
    "higher_moments",
    "alpha_beta",
    "extremes",
    "group_compound",
    "quickselect",
]


@jit
def total_return(x, out_total, out_count):
    """Compounded total return ``prod(1 + x) - 1`` per column (NaN counts as 0 return)."""
    n_obs, n_series = x.shape
    for j in range(n_series):
        wealth = 1.0
        count = 0
        for t in range(n_obs):
            v = x[t, j]
            if v == v:
                wealth *= 1.0 + v
                count += 1
        out_total[j] = wealth - 1.0
        out_count[j] = count


@jit
def mean_std(x, r, r_step, ddof, out_mean, out_std):
    """Mean and standard deviation of ``x - r`` per column, NaN skipped.

    Two passes (mean, then squared deviations). A column whose present
    values are all equal has a standard deviation of exactly 0; fewer than
    ``ddof + 1`` present values give NaN.
    """
    n_obs, n_series = x.shape
    for j in range(n_series):
        total = 0.0
        count = 0
        lo = np.inf
        hi = -np.inf
        for t in range(n_obs):
            v = x[t, j] - r[t * r_step]
            if v == v:
                total += v
                count += 1
                if v < lo:
                    lo = v
                if v > hi:
                    hi = v
        if count == 0:
            out_mean[j] = np.nan
            out_std[j] = np.nan
            continue
        mean = total / count
        out_mean[j] = mean
        if count - ddof <= 0:
            out_std[j] = np.nan
            continue
        if lo == hi:
            out_std[j] = 0.0
            continue
        ss = 0.0
        for t in range(n_obs):
            v = x[t, j] - r[t * r_step]
            if v == v:
                d = v - mean
                ss += d * d
        out_std[j] = np.sqrt(ss / (count - ddof))


@jit
def downside(x, mar, mar_step, out_mean, out_dd):
    """Mean of ``x - mar`` and root mean square of ``min(x - mar, 0)`` per column, NaN skipped."""
    n_obs, n_series = x.shape
    for j in range(n_series):
        total = 0.0
        squares = 0.0
        count = 0
        for t in range(n_obs):
            v = x[t, j] - mar[t * mar_step]
            if v == v:
                total += v
                count += 1
                if v < 0.0:
                    squares += v * v
        if count == 0:
            out_mean[j] = np.nan
            out_dd[j] = np.nan
        else:
            out_mean[j] = total / count
            out_dd[j] = np.sqrt(squares / count)


@jit
def max_drawdown(x, include_start, out):
    """Most negative ``wealth / running_peak - 1`` per column (NaN counts as 0 return).

    With ``include_start`` the starting wealth (1 before the first return)
    counts as a peak; without, the first close is the first peak.
    """
    n_obs, n_series = x.shape
    for j in range(n_series):
        wealth = 1.0
        peak = 1.0 if include_start else -np.inf
        worst = 0.0
        for t in range(n_obs):
            v = x[t, j]
            if v == v:
                wealth *= 1.0 + v
            if wealth > peak:
                peak = wealth
            dd = (wealth - peak) / peak
            if dd < worst:
                worst = dd
        out[j] = worst


@jit
def drawdown_series(x, include_start, out):
    """``wealth / running_peak - 1`` at every row, per column (NaN counts as 0 return)."""
    n_obs, n_series = x.shape
    for j in range(n_series):
        wealth = 1.0
        peak = 1.0 if include_start else -np.inf
        for t in range(n_obs):
            v = x[t, j]
            if v == v:
                wealth *= 1.0 + v
            if wealth > peak:
                peak = wealth
            out[t, j] = (wealth - peak) / peak


@jit
def drawdown_details(x, include_start, start_value, out_depth, out_amount, out_rows):
    """Maximum drawdown per column with its amount and rows.

    ``out_rows[j]`` holds (peak, trough, recovery) rows: the row of the
    running peak (-1 for the starting value), the trough row, and the first
    row at or above the peak afterwards (-1 if not recovered; all -1 when
    there is no drawdown). ``out_amount`` is the wealth lost from peak to
    trough for a starting wealth of ``start_value``.
    """
    n_obs, n_series = x.shape
    for j in range(n_series):
        wealth = start_value
        peak = start_value if include_start else -np.inf
        peak_row = -1
        worst = 0.0
        worst_amount = 0.0
        best_peak_row = -1
        trough_row = -1
        best_peak = np.nan
        for t in range(n_obs):
            v = x[t, j]
            if v == v:
                wealth *= 1.0 + v
            if wealth > peak:
                peak = wealth
                peak_row = t
            dd = (wealth - peak) / peak
            if dd < worst:
                worst = dd
                worst_amount = wealth - peak
                trough_row = t
                best_peak_row = peak_row
                best_peak = peak
        recovery_row = -1
        if trough_row >= 0:
            wealth = start_value
            for t in range(n_obs):
                v = x[t, j]
                if v == v:
                    wealth *= 1.0 + v
                if t > trough_row and wealth >= best_peak:
                    recovery_row = t
                    break
        out_depth[j] = worst
        out_amount[j] = worst_amount
        out_rows[j, 0] = best_peak_row
        out_rows[j, 1] = trough_row
        out_rows[j, 2] = recovery_row


@jit
def omega(x, r, r_step, threshold, out):
    """Sum of gains over sum of losses of ``x - r - threshold`` per column (NaN if no loss)."""
    n_obs, n_series = x.shape
    for j in range(n_series):
        gains = 0.0
        losses = 0.0
        for t in range(n_obs):
            v = x[t, j] - r[t * r_step] - threshold
            if v > 0.0:
                gains += v
            elif v < 0.0:
                losses -= v
        out[j] = gains / losses if losses > 0.0 else np.nan


@jit
def quickselect(a, n, k):
    """Reorder ``a[:n]`` in place so that ``a[k]`` is its k-th smallest value.

    Afterwards ``a[:k]`` holds values <= ``a[k]`` and ``a[k+1:n]`` values >= it.
    """
    lo = 0
    hi = n - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        # median of three to a[hi] as the pivot
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[mid] < a[hi]:
            a[mid], a[hi] = a[hi], a[mid]
        pivot = a[hi]
        i = lo
        for m in range(lo, hi):
            if a[m] < pivot:
                a[i], a[m] = a[m], a[i]
                i += 1
        a[i], a[hi] = a[hi], a[i]
        # a[lo:i] < pivot == a[i] <= a[i+1:hi+1]
        if i == k:
            return
        if i < k:
            lo = i + 1
        else:
            hi = i - 1


@jit
def _compact(x, j, buf):
    n = 0
    for t in range(x.shape[0]):
        v = x[t, j]
        if v == v:
            buf[n] = v
            n += 1
    return n


@jit
def _linear_quantile(buf, n, q):
    # numpy's default ("linear") percentile of buf[:n]; reorders buf
    pos = q * (n - 1)
    k = int(np.floor(pos))
    frac = pos - k
    quickselect(buf, n, k)
    lo = buf[k]
    if frac == 0.0 or k + 1 >= n:
        return lo
    hi = buf[k + 1]
    for m in range(k + 2, n):
        if buf[m] < hi:
            hi = buf[m]
    return lo + (hi - lo) * frac


@jit
def tail_quantiles(x, q, out_quantile, out_tail_mean):
    """Per column, NaN skipped: the linear-interpolated ``q`` quantile and the
    mean of the ``int((n - 1) * q) + 1`` smallest values (NaN for no data)."""
    n_obs, n_series = x.shape
    buf = np.empty(n_obs)
    for j in range(n_series):
        n = _compact(x, j, buf)
        if n == 0:
            out_quantile[j] = np.nan
            out_tail_mean[j] = np.nan
            continue
        out_quantile[j] = _linear_quantile(buf, n, q)
        k = int((n - 1) * q)
        quickselect(buf, n, k)
        total = 0.0
        for m in range(k + 1):
            total += buf[m]
        out_tail_mean[j] = total / (k + 1)


@jit
def two_quantiles(x, q_low, q_high, out_low, out_high):
    """Linear-interpolated ``q_low`` and ``q_high`` quantiles per column, NaN skipped."""
    n_obs, n_series = x.shape
    buf = np.empty(n_obs)
    for j in range(n_series):
        n = _compact(x, j, buf)
        if n == 0:
            out_low[j] = np.nan
            out_high[j] = np.nan
            continue
        out_high[j] = _linear_quantile(buf, n, q_high)
        out_low[j] = _linear_quantile(buf, n, q_low)


@jit
def higher_moments(x, out):
    """Per column, NaN skipped: count, mean, and central moments m2, m3, m4 (divided by n).

    ``out`` has shape ``(n_series, 5)``.
    """
    n_obs, n_series = x.shape
    for j in range(n_series):
        total = 0.0
        count = 0
        for t in range(n_obs):
            v = x[t, j]
            if v == v:
                total += v
                count += 1
        out[j, 0] = count
        if count == 0:
            out[j, 1:] = np.nan
            continue
        mean = total / count
        m2 = 0.0
        m3 = 0.0
        m4 = 0.0
        for t in range(n_obs):
            v = x[t, j]
            if v == v:
                d = v - mean
                d2 = d * d
                m2 += d2
                m3 += d2 * d
                m4 += d2 * d2
        out[j, 1] = mean
        out[j, 2] = m2 / count
        out[j, 3] = m3 / count
        out[j, 4] = m4 / count


@jit
def alpha_beta(x, f, r, r_step, out_alpha_mean, out_beta):
    """Regression of each column on the factor ``f`` over rows where both are present.

    ``out_beta = mean(fc * y) / mean(fc ** 2)`` with ``fc = f - mean(f)``
    (NaN when the factor variance is below 1e-30) and ``out_alpha_mean`` the
    mean of ``y - r - beta * (f - r)`` over the same rows.
    """
    n_obs, n_series = x.shape
    for j in range(n_series):
        count = 0
        sum_f = 0.0
        for t in range(n_obs):
            y = x[t, j]
            g = f[t]
            if y == y and g == g:
                count += 1
                sum_f += g
        if count == 0:
            out_alpha_mean[j] = np.nan
            out_beta[j] = np.nan
            continue
        mean_f = sum_f / count
        cov = 0.0
        var = 0.0
        for t in range(n_obs):
            y = x[t, j]
            g = f[t]
            if y == y and g == g:
                d = g - mean_f
                cov += d * y
                var += d * d
        var /= count
        beta = (cov / count) / var if var >= 1.0e-30 else np.nan
        out_beta[j] = beta
        resid = 0.0
        for t in range(n_obs):
            y = x[t, j]
            g = f[t]
            if y == y and g == g:
                rf = r[t * r_step]
                resid += (y - rf) - beta * (g - rf)
        out_alpha_mean[j] = resid / count


@jit
def extremes(x, out_min, out_max):
    """Smallest and largest present value per column (NaN for no data)."""
    n_obs, n_series = x.shape
    for j in range(n_series):
        lo = np.inf
        hi = -np.inf
        count = 0
        for t in range(n_obs):
            v = x[t, j]
            if v == v:
                count += 1
                if v < lo:
                    lo = v
                if v > hi:
                    hi = v
        out_min[j] = lo if count else np.nan
        out_max[j] = hi if count else np.nan


@jit
def group_compound(x, offsets, out):
    """Compounded return of each row group ``offsets[g]:offsets[g+1]`` per column.

    NaN counts as a 0 return; a group with no present value gives NaN.
    ``out`` has shape ``(len(offsets) - 1, n_series)``.
    """
    n_groups = offsets.shape[0] - 1
    n_series = x.shape[1]
    for j in range(n_series):
        for g in range(n_groups):
            wealth = 1.0
            count = 0
            for t in range(offsets[g], offsets[g + 1]):
                v = x[t, j]
                if v == v:
                    wealth *= 1.0 + v
                    count += 1
            out[g, j] = wealth - 1.0 if count else np.nan


@jit
def first_infinite(x):
    """Flat (row-major) position of the first +-inf in a 2-D array, or -1."""
    n_obs, n_series = x.shape
    for t in range(n_obs):
        bad = False
        for j in range(n_series):
            bad |= np.abs(x[t, j]) == np.inf
        if bad:
            for j in range(n_series):
                if np.abs(x[t, j]) == np.inf:
                    return t * n_series + j
    return -1


@jit
def trade_streaks(codes, pnl, n_groups, out):
    """Per group of trades (rows sorted by group, then exit time), one pass.

    ``out`` has shape ``(n_groups, 11)``: count, wins, losses, gross profit,
    gross loss (<= 0), largest win, largest loss, longest win streak, longest
    loss streak, current win streak, current loss streak. A zero PnL is
    neither a win nor a loss and ends both streaks.
    """
    out[:, :] = 0.0
    for g in range(n_groups):
        out[g, 5] = np.nan
        out[g, 6] = np.nan
    win_run = 0
    loss_run = 0
    prev = -1
    for i in range(codes.shape[0]):
        g = codes[i]
        if g != prev:
            win_run = 0
            loss_run = 0
            prev = g
        p = pnl[i]
        out[g, 0] += 1
        if p > 0.0:
            out[g, 1] += 1
            out[g, 3] += p
            if not p <= out[g, 5]:
                out[g, 5] = p
            win_run += 1
            loss_run = 0
        elif p < 0.0:
            out[g, 2] += 1
            out[g, 4] += p
            if not p >= out[g, 6]:
                out[g, 6] = p
            loss_run += 1
            win_run = 0
        else:
            win_run = 0
            loss_run = 0
        if win_run > out[g, 7]:
            out[g, 7] = win_run
        if loss_run > out[g, 8]:
            out[g, 8] = loss_run
        out[g, 9] = win_run
        out[g, 10] = loss_run
