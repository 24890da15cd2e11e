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
from numba.extending import overload

try:  # Numba's count-trailing-zeros intrinsic (an internal module)
    from numba.cpython.unsafe.numbers import trailing_zeros
except ImportError:  # pragma: no cover - a Numba without it: the plain loop below
    trailing_zeros = None

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
    "two_quantiles",
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
def _mean_std_col(x, r, r_step, ddof, j):
    # two-pass mean and standard deviation of column j of x - r, NaN skipped
    n_obs = x.shape[0]
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
        return np.nan, np.nan
    mean = total / count
    if count - ddof <= 0:
        return mean, np.nan
    if lo == hi:
        return mean, 0.0
    ss = 0.0
    comp = 0.0
    for t in range(n_obs):
        v = x[t, j] - r[t * r_step]
        if v == v:
            d = v - mean
            ss += d * d
            comp += d
    # corrected two-pass (Chan, Golub & LeVeque): removes the rounding of the
    # mean, which otherwise shows when the deviations are near ulp(mean)
    ss -= comp * comp / count
    return mean, np.sqrt(max(ss, 0.0) / (count - ddof))


@jit
def mean_std(x, r, r_step, ddof, out_mean, out_std):
    """Mean and standard deviation of ``x - r`` per column, NaN skipped.

    Two passes (mean, then squared deviations). A column whose present
    values are all equal has a standard deviation of exactly 0; fewer than
    ``ddof + 1`` present values give NaN.
    """
    for j in range(x.shape[1]):
        out_mean[j], out_std[j] = _mean_std_col(x, r, r_step, ddof, j)


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
def max_drawdown(x, include_start, out, out_total, out_count):
    """Most negative ``wealth / running_peak - 1`` per column (NaN counts as 0 return).

    With ``include_start`` the starting wealth (1 before the first return)
    counts as a peak; without, the first close is the first peak. Also
    writes the total return and the count of present values, as
    :func:`total_return` does, from the same pass.
    """
    n_obs, n_series = x.shape
    for j in range(n_series):
        wealth = 1.0
        peak = 1.0 if include_start else -np.inf
        worst = 0.0
        count = 0
        for t in range(n_obs):
            v = x[t, j]
            if v == v:
                wealth *= 1.0 + v
                count += 1
            if wealth > peak:
                peak = wealth
            dd = (wealth - peak) / peak
            if dd < worst:
                worst = dd
        out[j] = worst
        out_total[j] = wealth - 1.0
        out_count[j] = count


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
def omega(x, r, r_step, threshold, out, out_scale):
    """Sum of gains over sum of losses of ``x - r - threshold`` per column (NaN if no loss).

    ``out_scale`` gets gains + losses: not finite iff the column holds an infinity.
    """
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
        out_scale[j] = gains + losses


@jit
def quickselect(a, n, k):
    """Reorder ``a[:n]`` in place so that ``a[k]`` is its k-th smallest value.

    Afterwards ``a[:k]`` holds values <= ``a[k]`` and ``a[k+1:n]`` values >= it.
    Branch-free Lomuto partitions around a median-of-three pivot; a run of
    values equal to the pivot is split off in one more pass, so ties do not
    make it quadratic.
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
            v = a[m]
            a[m] = a[i]
            a[i] = v
            i += v < pivot
        a[i], a[hi] = a[hi], a[i]
        # a[lo:i] < pivot == a[i] <= a[i+1:hi+1]
        if i == k:
            return
        if i > k:
            hi = i - 1
            continue
        if i > lo:
            lo = i + 1  # progress made: ties cannot stall it
            continue
        e = i + 1
        for m in range(i + 1, hi + 1):
            v = a[m]
            a[m] = a[e]
            a[e] = v
            e += v == pivot
        # a[i:e] == pivot < a[e:hi+1]
        if k < e:
            return
        lo = e


def _pack_bytes(w):
    """The low bits of the 8 bytes of ``w`` (each 0 or 1) as an 8-bit number, byte i to bit i.

    The Python twin's version; compiled, one multiply by 0x0102040810204080
    gathers the bits in the top byte (no carries: each byte is 0 or 1).
    """
    w = int(w)
    return np.uint64(((w * 0x0102040810204080) & 0xFFFFFFFFFFFFFFFF) >> 56)


@overload(_pack_bytes)
def _pack_bytes_compiled(w):
    return lambda w: (w * np.uint64(0x0102040810204080)) >> np.uint64(56)


def _lowest_bit(w):
    """Index of the lowest set bit of ``w`` > 0 (the Python twin's version; compiled: one instruction)."""
    w = int(w)
    return (w & -w).bit_length() - 1


@overload(_lowest_bit)
def _lowest_bit_compiled(w):
    if trailing_zeros is not None:
        return lambda w: trailing_zeros(w)

    def shift_out(w):  # pragma: no cover - see the import above
        n = 0
        while (w & np.uint64(1)) == 0:
            w >>= np.uint64(1)
            n += 1
        return n

    return shift_out


@jit
def tail_quantiles(x, q, need_sum, out_quantile, out_tail_mean, out_count):
    """Per column, NaN skipped: the linear-interpolated ``q`` quantile (numpy's
    default percentile) and the mean of the ``int((n - 1) * q) + 1`` smallest
    values (NaN for no data); ``out_count`` the number of finite values.

    With ``need_sum`` false and ``q > 1/2`` the tail mean is not computed
    (NaN) and the selection keeps the upper values instead. Results are
    valid for columns without infinities: a column whose ``out_count`` is
    short of ``n_obs`` holds NaN (skipped) or an infinity, which the caller
    must rule out.

    Every pass runs row by row over all columns of the C-ordered matrix, so
    that it streams through once (column by column, each value is a strided
    load from a line of its own). A sample of about 128 rows gives each
    column a bound a few standard errors beyond its k-th value, with
    ``k = floor(q * (n - 1))``; one pass counts each column's finite values
    and keeps those on the near side of the bound (about k + 3 sqrt(k) of
    them) in a short list; the selection and the tail sum run on that list.
    A column whose bound falls on the wrong side of rank k (or k + 1), or
    that keeps more than the list holds, is selected from its whole column.
    """
    n_obs, n_series = x.shape
    upper = q > 0.5 and not need_sum
    sign = -1.0 if upper else 1.0  # keep sign * v <= sign * bound
    step = max(1, n_obs // 128)
    n_sample = (n_obs + step - 1) // step
    sample = np.empty((n_series, max(n_sample, 1)))
    filled = np.zeros(n_series, np.int64)
    for t in range(0, n_obs, step):
        row = x[t]
        for j in range(n_series):
            v = row[j]
            sample[j, filled[j]] = v
            filled[j] += v == v
    bound = np.full(n_series, np.inf)
    for j in range(n_series):
        m = filled[j]
        if m < 16:
            continue
        ks = int(q * (m - 1))
        margin = int(3.0 * np.sqrt(m * q * (1.0 - q))) + 4
        rank = ks - margin if upper else ks + margin
        if 0 <= rank < m:
            quickselect(sample[j], m, rank)
            bound[j] = sign * sample[j, rank]
    # room for the kept values: the bound's share of a column, with slack
    side = 1.0 - q if upper else q
    share = side + 6.0 * np.sqrt(q * (1.0 - q) / 128.0) + 8.0 / 128.0
    cap = min(n_obs, int(share * n_obs) + 64)
    cand = np.empty((n_series, max(cap, 1)))
    count = np.zeros(n_series, np.int64)
    kept = np.zeros(n_series, np.int64)
    last = cap - 1
    n_words = (n_series + 63) // 64
    keep = np.zeros(n_words * 64, np.uint8)  # one byte a column, 0 or 1 (the padding stays 0)
    keep8 = keep.view(np.uint64)  # byte j0 + 8b + i is byte i of word 8b (little-endian, as numba's targets)
    for t in range(n_obs):
        row = x[t]
        for j in range(n_series):
            v = row[j]
            count[j] += (v - v) == 0.0
            keep[j] = sign * v <= bound[j]
        # the kept values of the row as bits, 64 columns a word, then one store per set
        # bit (a store per value, to 2,000 lists, cost twice as much; a branch per
        # value, a third more). Bytes, then 8 bytes to 8 bits with one multiply:
        # building the bits by shifts took 2.5x as long
        for wi in range(n_words):
            j0 = wi * 64
            bits = np.uint64(0)
            for b in range(8):
                bits |= _pack_bytes(keep8[wi * 8 + b]) << np.uint64(8 * b)
            while bits:
                j = j0 + _lowest_bit(bits)
                c = kept[j]
                cand[j, min(c, last)] = row[j]  # a column past the room only counts on (redone below)
                kept[j] = c + 1
                bits &= bits - np.uint64(1)
    whole = np.empty(n_obs)
    for j in range(n_series):
        n = count[j]
        out_count[j] = n
        if n == 0:
            out_quantile[j] = np.nan
            out_tail_mean[j] = np.nan
            continue
        k = int(np.floor(q * (n - 1)))
        row = cand[j]
        c = kept[j]
        kk = k - (n - c) if upper else k  # rank k among the kept values
        if c > cap or ((kk < 0) if upper else (c < min(k + 2, n))):
            row = whole  # the bound is on the wrong side, or too far: select in the whole column
            c = 0
            for t in range(n_obs):
                v = x[t, j]
                row[c] = v
                c += v == v
            kk = k
        quickselect(row, c, kk)
        a = row[kk]
        nxt = np.nan
        if kk + 1 < c:
            nxt = row[kk + 1]
            for i in range(kk + 2, c):
                nxt = min(nxt, row[i])
        pos = q * (n - 1)
        frac = pos - k
        out_quantile[j] = a if frac == 0.0 or k + 1 >= n else a + (nxt - a) * frac
        if upper:
            out_tail_mean[j] = np.nan
        else:
            total = 0.0
            for i in range(kk + 1):
                total += row[i]
            out_tail_mean[j] = total / (k + 1)


@jit
def two_quantiles(x, q_low, q_high, out_low, out_high):
    """Linear-interpolated ``q_low`` and ``q_high`` quantiles per column, NaN skipped.

    Valid for data without infinities (the caller checks)."""
    tail = np.empty(x.shape[1])
    count = np.empty(x.shape[1], np.int64)
    # bool() drops the literal type: one tail_quantiles specialization, the
    # one the Python layer calls (a literal False would compile a second one)
    tail_quantiles(x, q_low, bool(False), out_low, tail, count)
    tail_quantiles(x, q_high, bool(False), out_high, tail, count)


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
            for i in range(1, 5):  # loops, not slice assignments: they compile far faster
                out[j, i] = np.nan
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
def _alpha_beta_col(x, f, r, r_step, j):
    # (mean residual, beta) of column j over the rows where it and f are present
    n_obs = x.shape[0]
    count = 0
    sum_f = 0.0
    for t in range(n_obs):
        y = x[t, j]
        g = f[t]
        if y == y and g == g:
            count += 1
            sum_f += g
    if count == 0:
        return np.nan, np.nan
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
    resid = 0.0
    for t in range(n_obs):
        y = x[t, j]
        g = f[t]
        if y == y and g == g:
            rf = r[t * r_step]
            resid += (y - rf) - beta * (g - rf)
    return resid / count, beta


@jit
def alpha_beta(x, f, r, r_step, out_alpha_mean, out_beta):
    """Regression of each column on the factor ``f`` over rows where both are present.

    ``out_beta = mean(fc * y) / mean(fc ** 2)`` with ``fc = f - mean(f)``
    (NaN when the factor variance is below 1e-30) and ``out_alpha_mean`` the
    mean of ``y - r - beta * (f - r)`` over the same rows.
    """
    for j in range(x.shape[1]):
        out_alpha_mean[j], out_beta[j] = _alpha_beta_col(x, f, r, r_step, j)


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
    for g in range(n_groups):  # loops, not slice assignments: they compile far faster
        for i in range(11):
            out[g, i] = 0.0
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


# ---------------------------------------------------------------------------
# Row-major twins of the hot kernels, for C-contiguous matrices: the inner loop
# runs over series (contiguous in memory, independent accumulators, so it
# vectorizes); results equal the column kernels' up to summation order.
# Four rows go through each series' accumulators at a time (in row order, so
# the rounding is that of one row at a time): the accumulators are loaded and
# stored a quarter as often. Counts are floats so that the loops vectorize.
# Each kernel's update of one value is a small function, used by the
# unrolled loop and by the loop over the remaining rows alike.


@jit
def _tr_step(w, c, v):
    ok = v == v
    return w * (1.0 + (v if ok else 0.0)), c + (1.0 if ok else 0.0)


@jit
def total_return_rows(x, out_total, out_count):
    """:func:`total_return` for a C-contiguous matrix."""
    n_obs, n_series = x.shape
    wealth = np.ones(n_series)
    count = np.zeros(n_series)
    t4 = n_obs - n_obs % 4
    for t in range(0, t4, 4):
        r0, r1, r2, r3 = x[t], x[t + 1], x[t + 2], x[t + 3]
        for j in range(n_series):
            w, c = _tr_step(wealth[j], count[j], r0[j])
            w, c = _tr_step(w, c, r1[j])
            w, c = _tr_step(w, c, r2[j])
            wealth[j], count[j] = _tr_step(w, c, r3[j])
    for t in range(t4, n_obs):
        row = x[t]
        for j in range(n_series):
            wealth[j], count[j] = _tr_step(wealth[j], count[j], row[j])
    for j in range(n_series):
        out_total[j] = wealth[j] - 1.0
        out_count[j] = int(count[j])


@jit
def _ms_step(s1, s2, c, v, rt, shift):
    d = (v - rt) - shift
    ok = d == d
    d = d if ok else 0.0
    return s1 + d, s2 + d * d, c + (1.0 if ok else 0.0)


@jit
def mean_std_rows(x, r, r_step, ddof, out_mean, out_std):
    """:func:`mean_std` for a C-contiguous matrix, in one pass.

    Sums of ``v - k`` and ``(v - k) ** 2`` with ``k`` the column's first
    value. A column whose squared deviations are under 1e-8 of its shifted
    second moment (cancellation, or identical values) is redone exactly by
    :func:`mean_std` on that column alone.
    """
    n_obs, n_series = x.shape
    shift = np.zeros(n_series)
    if n_obs:
        for j in range(n_series):
            v = x[0, j] - r[0]
            shift[j] = v if v == v else 0.0
    s1 = np.zeros(n_series)
    s2 = np.zeros(n_series)
    count = np.zeros(n_series)
    t4 = n_obs - n_obs % 4
    for t in range(0, t4, 4):
        r0, r1, r2, r3 = x[t], x[t + 1], x[t + 2], x[t + 3]
        f0, f1, f2, f3 = r[t * r_step], r[(t + 1) * r_step], r[(t + 2) * r_step], r[(t + 3) * r_step]
        for j in range(n_series):
            k = shift[j]
            a, b, c = _ms_step(s1[j], s2[j], count[j], r0[j], f0, k)
            a, b, c = _ms_step(a, b, c, r1[j], f1, k)
            a, b, c = _ms_step(a, b, c, r2[j], f2, k)
            s1[j], s2[j], count[j] = _ms_step(a, b, c, r3[j], f3, k)
    for t in range(t4, n_obs):
        row = x[t]
        rt = r[t * r_step]
        for j in range(n_series):
            s1[j], s2[j], count[j] = _ms_step(s1[j], s2[j], count[j], row[j], rt, shift[j])
    for j in range(n_series):
        c = count[j]
        if c == 0:
            out_mean[j] = np.nan
            out_std[j] = np.nan
            continue
        ss = s2[j] - s1[j] * s1[j] / c
        if ss <= 1.0e-8 * s2[j]:
            out_mean[j], out_std[j] = _mean_std_col(x, r, r_step, ddof, j)
            continue
        out_mean[j] = shift[j] + s1[j] / c
        out_std[j] = np.sqrt(ss / (c - ddof)) if c - ddof > 0 else np.nan


@jit
def _dn_step(total, squares, c, v, m):
    d = v - m
    ok = d == d
    neg = d if d < 0.0 else 0.0
    return total + (d if ok else 0.0), squares + neg * neg, c + (1.0 if ok else 0.0)


@jit
def downside_rows(x, mar, mar_step, out_mean, out_dd):
    """:func:`downside` for a C-contiguous matrix."""
    n_obs, n_series = x.shape
    total = np.zeros(n_series)
    squares = np.zeros(n_series)
    count = np.zeros(n_series)
    t4 = n_obs - n_obs % 4
    for t in range(0, t4, 4):
        r0, r1, r2, r3 = x[t], x[t + 1], x[t + 2], x[t + 3]
        m0, m1 = mar[t * mar_step], mar[(t + 1) * mar_step]
        m2, m3 = mar[(t + 2) * mar_step], mar[(t + 3) * mar_step]
        for j in range(n_series):
            a, b, c = _dn_step(total[j], squares[j], count[j], r0[j], m0)
            a, b, c = _dn_step(a, b, c, r1[j], m1)
            a, b, c = _dn_step(a, b, c, r2[j], m2)
            total[j], squares[j], count[j] = _dn_step(a, b, c, r3[j], m3)
    for t in range(t4, n_obs):
        row = x[t]
        m = mar[t * mar_step]
        for j in range(n_series):
            total[j], squares[j], count[j] = _dn_step(total[j], squares[j], count[j], row[j], m)
    for j in range(n_series):
        if count[j] == 0:
            out_mean[j] = np.nan
            out_dd[j] = np.nan
        else:
            out_mean[j] = total[j] / count[j]
            out_dd[j] = np.sqrt(squares[j] / count[j])


@jit
def _dd_step(w, p, worst, c, v):
    ok = v == v
    w = w * (1.0 + v) if ok else w
    p = w if w > p else p
    dd = (w - p) / p
    return w, p, (dd if dd < worst else worst), c + (1.0 if ok else 0.0)


@jit
def max_drawdown_rows(x, include_start, out, out_total, out_count):
    """:func:`max_drawdown` for a C-contiguous matrix."""
    n_obs, n_series = x.shape
    wealth = np.ones(n_series)
    peak = np.full(n_series, 1.0 if include_start else -np.inf)
    worst = np.zeros(n_series)
    count = np.zeros(n_series)
    t4 = n_obs - n_obs % 4
    for t in range(0, t4, 4):
        r0, r1, r2, r3 = x[t], x[t + 1], x[t + 2], x[t + 3]
        for j in range(n_series):
            w, p, d, c = _dd_step(wealth[j], peak[j], worst[j], count[j], r0[j])
            w, p, d, c = _dd_step(w, p, d, c, r1[j])
            w, p, d, c = _dd_step(w, p, d, c, r2[j])
            wealth[j], peak[j], worst[j], count[j] = _dd_step(w, p, d, c, r3[j])
    for t in range(t4, n_obs):
        row = x[t]
        for j in range(n_series):
            wealth[j], peak[j], worst[j], count[j] = _dd_step(wealth[j], peak[j], worst[j], count[j], row[j])
    for j in range(n_series):
        out[j] = worst[j]
        out_total[j] = wealth[j] - 1.0
        out_count[j] = int(count[j])


@jit
def _om_step(gains, losses, v, rt):
    d = v - rt
    return gains + (d if d > 0.0 else 0.0), losses - (d if d < 0.0 else 0.0)


@jit
def omega_rows(x, r, r_step, threshold, out, out_scale):
    """:func:`omega` for a C-contiguous matrix."""
    n_obs, n_series = x.shape
    gains = np.zeros(n_series)
    losses = np.zeros(n_series)
    t4 = n_obs - n_obs % 4
    for t in range(0, t4, 4):
        r0, r1, r2, r3 = x[t], x[t + 1], x[t + 2], x[t + 3]
        f0, f1 = r[t * r_step] + threshold, r[(t + 1) * r_step] + threshold
        f2, f3 = r[(t + 2) * r_step] + threshold, r[(t + 3) * r_step] + threshold
        for j in range(n_series):
            g, lo = _om_step(gains[j], losses[j], r0[j], f0)
            g, lo = _om_step(g, lo, r1[j], f1)
            g, lo = _om_step(g, lo, r2[j], f2)
            gains[j], losses[j] = _om_step(g, lo, r3[j], f3)
    for t in range(t4, n_obs):
        row = x[t]
        rt = r[t * r_step] + threshold
        for j in range(n_series):
            gains[j], losses[j] = _om_step(gains[j], losses[j], row[j], rt)
    for j in range(n_series):
        out[j] = gains[j] / losses[j] if losses[j] > 0.0 else np.nan
        out_scale[j] = gains[j] + losses[j]


@jit
def _ab_step(c, sf, sff, sy, sfy, sr, y, a, rf, fok):
    # count, sum a, sum a^2, sum y, sum a*y, sum rf over the pair rows
    ok = (y == y) & fok
    yv = y if ok else 0.0
    av = a if ok else 0.0
    return (c + (1.0 if ok else 0.0), sf + av, sff + av * av, sy + yv, sfy + av * yv,
            sr + (rf if ok else 0.0))


@jit
def alpha_beta_rows(x, f, r, r_step, out_alpha_mean, out_beta):
    """:func:`alpha_beta` for a C-contiguous matrix, in one pass.

    Shifted sums over the pair rows (shift: the first present benchmark
    value). The mean residual is formed from the means,
    ``mean(y) - mean(r) - beta * (mean(f) - mean(r))``, equal to the mean of
    the residuals up to rounding. A column whose benchmark variance cancels
    (under 1e-8 of the shifted second moment) is redone by :func:`alpha_beta`.
    """
    n_obs, n_series = x.shape
    k = 0.0
    for t in range(n_obs):
        if f[t] == f[t]:
            k = f[t]
            break
    count = np.zeros(n_series)
    sf = np.zeros(n_series)
    sff = np.zeros(n_series)
    sy = np.zeros(n_series)
    sfy = np.zeros(n_series)
    sr = np.zeros(n_series)
    t4 = n_obs - n_obs % 4
    for t in range(0, t4, 4):
        r0, r1, r2, r3 = x[t], x[t + 1], x[t + 2], x[t + 3]
        a0, a1, a2, a3 = f[t] - k, f[t + 1] - k, f[t + 2] - k, f[t + 3] - k
        ok0, ok1, ok2, ok3 = a0 == a0, a1 == a1, a2 == a2, a3 == a3
        q0, q1 = r[t * r_step], r[(t + 1) * r_step]
        q2, q3 = r[(t + 2) * r_step], r[(t + 3) * r_step]
        for j in range(n_series):
            v = _ab_step(count[j], sf[j], sff[j], sy[j], sfy[j], sr[j], r0[j], a0, q0, ok0)
            v = _ab_step(v[0], v[1], v[2], v[3], v[4], v[5], r1[j], a1, q1, ok1)
            v = _ab_step(v[0], v[1], v[2], v[3], v[4], v[5], r2[j], a2, q2, ok2)
            v = _ab_step(v[0], v[1], v[2], v[3], v[4], v[5], r3[j], a3, q3, ok3)
            count[j], sf[j], sff[j], sy[j], sfy[j], sr[j] = v
    for t in range(t4, n_obs):
        row = x[t]
        a = f[t] - k
        q = r[t * r_step]
        for j in range(n_series):
            count[j], sf[j], sff[j], sy[j], sfy[j], sr[j] = _ab_step(
                count[j], sf[j], sff[j], sy[j], sfy[j], sr[j], row[j], a, q, a == a)
    for j in range(n_series):
        c = count[j]
        if c == 0:
            out_beta[j] = np.nan
            out_alpha_mean[j] = np.nan
            continue
        ssf = sff[j] - sf[j] * sf[j] / c
        if ssf < 1.0e-8 * sff[j]:
            out_alpha_mean[j], out_beta[j] = _alpha_beta_col(x, f, r, r_step, j)
            continue
        var = ssf / c
        cov = (sfy[j] - sf[j] * sy[j] / c) / c
        beta = cov / var if var >= 1.0e-30 else np.nan
        out_beta[j] = beta
        mean_r = sr[j] / c
        mean_f = k + sf[j] / c
        out_alpha_mean[j] = (sy[j] / c - mean_r) - beta * (mean_f - mean_r)
