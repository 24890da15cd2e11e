"""Rolling-window kernels of :mod:`pmcore.metrics`, each O(n_obs) per column.

A window of length ``window`` ending at row ``t`` covers rows
``t - window + 1 .. t``; rows before ``window - 1`` get NaN. NaN inside a
window is a missing observation (skipped by the moment kernels, a 0 return
for the drawdown kernel). Nothing here validates its input.

Running sums are taken on values shifted by the column's first present value
(so that the sum of squares does not cancel) and recomputed from scratch
every ``window`` rows, which bounds the rounding drift of add-and-remove
updates while keeping the cost at about two passes. When a window's variance
is under 1e-8 of its shifted second moment (heavy cancellation, e.g. a calm
window after a wild one), that window is recomputed exactly in two passes.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["rolling_mean_std", "rolling_mean_std_rows", "rolling_beta", "rolling_max_drawdown"]

# below this ratio of (sum of squared deviations) to (shifted sum of squares)
# the running update has lost too many digits and the window is recomputed
_CANCEL = 1.0e-8


@jit
def _first_present(x, j):
    for t in range(x.shape[0]):
        v = x[t, j]
        if v == v:
            return v
    return 0.0


@jit
def _window_mean_var(x, r, r_step, j, start, stop):
    # two-pass mean and sum of squared deviations of x[start:stop, j] - r;
    # identical present values give (that value, 0.0) exactly
    total = 0.0
    count = 0
    lo = np.inf
    hi = -np.inf
    for m in range(start, stop):
        w = x[m, j] - r[m * r_step]
        if w == w:
            total += w
            count += 1
            lo = min(lo, w)
            hi = max(hi, w)
    if lo == hi:
        return lo, 0.0
    mean = total / count
    ss = 0.0
    for m in range(start, stop):
        w = x[m, j] - r[m * r_step]
        if w == w:
            ss += (w - mean) * (w - mean)
    return mean, ss


@jit
def _window_sums(x, r, r_step, j, shift, start, stop):
    # count, sum and sum of squares of the present x[start:stop, j] - r, shifted
    count = 0
    s1 = 0.0
    s2 = 0.0
    for m in range(start, stop):
        w = x[m, j] - r[m * r_step]
        if w == w:
            d = w - shift
            count += 1
            s1 += d
            s2 += d * d
    return count, s1, s2


@jit
def _result(what, mean, ss, den, scale):
    # the statistic from a window's mean and sum of squared deviations ss
    # (den = present values - ddof); one expression for both kernels, so
    # they agree to the last bit on equal sums. Sharpe as mean / sqrt(ss * (1 / den))
    # (ss = 0 gives +-inf, or NaN for a zero mean): one division a value where the
    # row kernel takes 1 / den once a row. (mean * sqrt(den / ss) has one too, but
    # den / ss overflows for a subnormal ss: a finite Sharpe came out infinite)
    if what == 2:
        return mean * scale
    if not den > 0.0:
        return np.nan
    if what == 0:
        return np.sqrt(max(ss, 0.0) / den) * scale
    return mean / np.sqrt(max(ss, 0.0) * (1.0 / den)) * scale


@jit
def rolling_mean_std(x, r, r_step, window, ddof, what, scale, out):
    """Rolling statistic of ``x - r`` per column, NaN skipped, into ``out``.

    ``what``: 0 the standard deviation, 1 mean / standard deviation (a
    Sharpe ratio), 2 the mean; each times ``scale``. A window whose present
    values are all equal has a standard deviation of exactly 0 and a mean
    equal to that value; fewer than ``ddof + 1`` present values give a NaN
    deviation (the mean is NaN only when none is present).

    Returns True if an infinity (or an overflow of ``x - r``) entered a
    window: the caller then scans ``x`` for it (a separate pass only then).
    """
    n_obs, n_series = x.shape
    infinite = False
    for j in range(n_series):
        shift = _first_present(x, j) - r[0]
        count = 0
        s1 = 0.0
        s2 = 0.0
        # constancy: last row whose present value differs from the previous present one
        last_change = -1
        prev = np.nan
        first_valid = 0  # first row of the window holding a present value (monotone)
        peak = 0.0  # largest s2 since the last recompute: the scale of rounding residue
        due = window  # next window start at which the sums are recomputed (no modulo per row)
        for t in range(n_obs):
            v = x[t, j] - r[t * r_step]
            if v == v:
                if prev == prev and v != prev:
                    last_change = t
                prev = v
                infinite |= v - v != 0.0
                d = v - shift
                count += 1
                s1 += d
                s2 += d * d
                peak = max(peak, s2)
            start = t - window + 1
            if start > 0:
                u = x[start - 1, j] - r[(start - 1) * r_step]
                if u == u:
                    d = u - shift
                    count -= 1
                    s1 -= d
                    s2 -= d * d
            if start == due:
                # recompute the window's sums from scratch to reset drift (a call: with
                # the loop written here, the whole row loop compiled about 30 % slower)
                due += window
                count, s1, s2 = _window_sums(x, r, r_step, j, shift, start, t + 1)
                peak = s2
            if start < 0:
                out[t, j] = np.nan
                continue
            if first_valid < start:
                first_valid = start
            while first_valid <= t:
                w = x[first_valid, j] - r[first_valid * r_step]
                if w == w:
                    break
                first_valid += 1
            if count == 0:
                out[t, j] = np.nan
                continue
            if last_change <= first_valid:  # constant window: exact
                mean = prev
                ss = 0.0
            else:
                inv = 1.0 / count
                mean = shift + s1 * inv
                ss = s2 - s1 * s1 * inv
                if ss < _CANCEL * peak:
                    # heavy cancellation (variance tiny next to the shifted
                    # second moment): recompute this window exactly
                    mean, ss = _window_mean_var(x, r, r_step, j, start, t + 1)
            out[t, j] = _result(what, mean, ss, float(count - ddof), scale)
    return infinite


@jit
def _window_var_cov(x, f, j, start, stop):
    # two-pass sums of squared factor deviations and cross deviations over
    # pairs; a constant series gives a covariance of exactly 0
    count = 0
    mf = 0.0
    my = 0.0
    lo = np.inf
    hi = -np.inf
    for m in range(start, stop):
        if x[m, j] == x[m, j] and f[m] == f[m]:
            count += 1
            mf += f[m]
            my += x[m, j]
            lo = min(lo, x[m, j])
            hi = max(hi, x[m, j])
    mf /= count
    my /= count
    ssf = 0.0
    cov = 0.0
    for m in range(start, stop):
        if x[m, j] == x[m, j] and f[m] == f[m]:
            ssf += (f[m] - mf) * (f[m] - mf)
            cov += (f[m] - mf) * (x[m, j] - my)
    return ssf, (0.0 if lo == hi else cov)


@jit
def rolling_beta(x, f, window, out):
    """Rolling beta of each column on factor ``f`` over rows where both are present.

    ``cov(f, y) / var(f)`` with population moments; NaN when fewer than two
    pairs or when the factor variance is below 1e-30. Running shifted sums,
    recomputed every ``window`` rows; a window where either side's variance
    is under 1e-8 of the largest shifted second moment since the last
    recompute (e.g. a flat series after a jump) is recomputed exactly, so a
    constant series gets a beta of exactly 0.
    """
    n_obs, n_series = x.shape
    for j in range(n_series):
        kx = _first_present(x, j)
        kf = 0.0
        for t in range(n_obs):
            if f[t] == f[t]:
                kf = f[t]
                break
        count = 0
        sf = 0.0
        sy = 0.0
        sff = 0.0
        syy = 0.0
        sfy = 0.0
        peak_f = 0.0
        peak_y = 0.0
        due = window  # next window start at which the sums are recomputed
        for t in range(n_obs):
            y = x[t, j]
            g = f[t]
            if y == y and g == g:
                a = g - kf
                b = y - kx
                count += 1
                sf += a
                sy += b
                sff += a * a
                syy += b * b
                sfy += a * b
                peak_f = max(peak_f, sff)
                peak_y = max(peak_y, syy)
            start = t - window + 1
            if start > 0:
                y = x[start - 1, j]
                g = f[start - 1]
                if y == y and g == g:
                    a = g - kf
                    b = y - kx
                    count -= 1
                    sf -= a
                    sy -= b
                    sff -= a * a
                    syy -= b * b
                    sfy -= a * b
            if start == due:
                due += window
                count = 0
                sf = 0.0
                sy = 0.0
                sff = 0.0
                syy = 0.0
                sfy = 0.0
                for m in range(start, t + 1):
                    y = x[m, j]
                    g = f[m]
                    if y == y and g == g:
                        a = g - kf
                        b = y - kx
                        count += 1
                        sf += a
                        sy += b
                        sff += a * a
                        syy += b * b
                        sfy += a * b
                peak_f = sff
                peak_y = syy
            if start < 0 or count < 2:
                out[t, j] = np.nan
                continue
            ssf = sff - sf * sf / count
            ssy = syy - sy * sy / count
            cov = sfy - sf * sy / count
            if ssf < _CANCEL * peak_f or ssy < _CANCEL * peak_y:
                ssf, cov = _window_var_cov(x, f, j, start, t + 1)
            var = ssf / count
            out[t, j] = (cov / count) / var if var >= 1.0e-30 else np.nan


@jit
def rolling_max_drawdown(x, window, include_start, out):
    """Rolling maximum drawdown per column in O(n_obs) (NaN counts as 0 return).

    Wealth points ``W[0] = 1`` (before the first return) and
    ``W[t + 1] = W[t] * (1 + x[t])``. The window of returns ending at row
    ``t`` spans wealth points ``t + 1 - window .. t + 1`` with the start
    included (``t + 2 - window ..`` without). The points are cut into blocks
    of the span's length; a span is a suffix of one block joined to a prefix
    of the next, and the (max, min, worst ratio) summary of two joined
    segments is ``(max, min, min(ratio_a, ratio_b, min_b / max_a))``.
    """
    n_obs, n_series = x.shape
    span = window + 1 if include_start else window
    n_pts = n_obs + 1
    wealth = np.empty(n_pts)
    pre_max = np.empty(n_pts)
    pre_min = np.empty(n_pts)
    pre_dd = np.empty(n_pts)
    suf_max = np.empty(n_pts)
    suf_min = np.empty(n_pts)
    suf_dd = np.empty(n_pts)
    for j in range(n_series):
        wealth[0] = 1.0
        for t in range(n_obs):
            v = x[t, j]
            wealth[t + 1] = wealth[t] * (1.0 + v) if v == v else wealth[t]
        for b0 in range(0, n_pts, span):
            b1 = min(b0 + span, n_pts)
            hi = -np.inf
            lo = np.inf
            dd = 1.0
            for i in range(b0, b1):
                w = wealth[i]
                if w > hi:
                    hi = w
                if w < lo:
                    lo = w
                ratio = w / hi
                if ratio < dd:
                    dd = ratio
                pre_max[i] = hi
                pre_min[i] = lo
                pre_dd[i] = dd
            hi = -np.inf
            lo = np.inf
            dd = 1.0
            for i in range(b1 - 1, b0 - 1, -1):
                w = wealth[i]
                # join the single point i (in front) with the suffix after it
                if lo / w < dd:
                    dd = lo / w
                if w > hi:
                    hi = w
                if w < lo:
                    lo = w
                suf_max[i] = hi
                suf_min[i] = lo
                suf_dd[i] = dd
        for t in range(n_obs):
            last = t + 1
            first = last - span + 1
            if t < window - 1:
                out[t, j] = np.nan
                continue
            if first % span == 0:
                ratio = pre_dd[last]
            else:
                ratio = min(suf_dd[first], pre_dd[last], pre_min[last] / suf_max[first])
            out[t, j] = min(ratio - 1.0, 0.0)


@jit
def _rows_window_sums(x, r, r_step, shift, start, stop, count, s1, s2, peak):
    # the sums of rows start:stop for every series, from scratch (peak = s2)
    n_series = x.shape[1]
    for j in range(n_series):
        count[j] = 0.0
        s1[j] = 0.0
        s2[j] = 0.0
    for m in range(start, stop):
        rm = r[m * r_step]
        xm = x[m]
        for j in range(n_series):
            w = xm[j] - rm
            ok = w == w
            d = w - shift[j] if ok else 0.0
            count[j] += 1.0 if ok else 0.0
            s1[j] += d
            s2[j] += d * d
    for j in range(n_series):
        peak[j] = s2[j]


@jit
def rolling_mean_std_rows(x, r, r_step, window, ddof, what, scale, out):
    """:func:`rolling_mean_std` for a C-contiguous matrix (series innermost).

    One loop per row adds the entering row and removes the leaving one for
    every series (per-series sums in small arrays, so the matrix streams
    through once), a second writes the row's results. Constant windows are
    caught by the cancellation test (their variance is rounding residue
    next to the largest shifted second moment since the last recompute)
    and recomputed exactly, as are other heavily cancelled windows.
    Returns True if an infinity entered a window, as :func:`rolling_mean_std`.
    """
    n_obs, n_series = x.shape
    shift = np.zeros(n_series)
    for j in range(n_series):
        shift[j] = _first_present(x, j) - r[0] if n_obs else 0.0
    count = np.zeros(n_series)  # a float: the row loops vectorize
    s1 = np.zeros(n_series)
    s2 = np.zeros(n_series)
    peak = np.zeros(n_series)
    due = window  # next window start at which the sums are recomputed
    missing = 0  # missing values in the current windows of all series
    infinite = False
    for t in range(n_obs):
        rt = r[t * r_step]
        row = x[t]
        start = t - window + 1
        # the row leaving the window (none yet: weight 0 on a dummy row)
        drop = 1.0 if start > 0 else 0.0
        drop_n = 1 if start > 0 else 0
        ru = r[max(start - 1, 0) * r_step]
        old = x[max(start - 1, 0)]
        out_t = out[t]
        # Sharpe with every window full so far: the row's results are written
        # by the update loop itself (the sums are not read twice); should a
        # NaN enter with this row, the results are written again below
        fused = what == 1 and missing == 0 and start >= 0 and start != due
        c_full = np.float64(window)  # np.float64: the Python twin divides by 0 as numpy does
        inv_full = 1.0 / c_full
        den_full = c_full - ddof
        inv_den_full = 1.0 / den_full if den_full > 0.0 else 0.0
        rare = False
        for j in range(n_series):
            v = row[j] - rt
            u = old[j] - ru
            ok_v = v == v
            ok_u = u == u
            d = v - shift[j] if ok_v else 0.0
            infinite |= d - d != 0.0  # an infinity (a missing value gives d = 0)
            e = (u - shift[j] if ok_u else 0.0) * drop
            count[j] = (count[j] + (1.0 if ok_v else 0.0)) - (drop if ok_u else 0.0)
            missing += (0 if ok_v else 1) - (0 if ok_u else drop_n)
            b1 = (s1[j] + d) - e
            a = s2[j] + d * d
            pk = max(peak[j], a)
            b2 = a - e * e
            s1[j] = b1
            s2[j] = b2
            peak[j] = pk
            if fused:
                mean = shift[j] + b1 * inv_full
                ss = b2 - b1 * b1 * inv_full
                rare |= ss < _CANCEL * pk
                out_t[j] = mean / np.sqrt(max(ss, 0.0) * inv_den_full) * scale if den_full > 0.0 else np.nan
        if start == due:
            # recompute the window's sums from scratch to reset drift
            due += window
            _rows_window_sums(x, r, r_step, shift, start, t + 1, count, s1, s2, peak)
        if start < 0:
            for j in range(n_series):
                out_t[j] = np.nan
            continue
        if fused and missing == 0:
            pass  # written by the update loop
        elif what == 1 and missing == 0:
            # every window full: one count, one reciprocal for the whole row
            rare = False
            for j in range(n_series):
                mean = shift[j] + s1[j] * inv_full
                ss = s2[j] - s1[j] * s1[j] * inv_full
                rare |= ss < _CANCEL * peak[j]
                out_t[j] = mean / np.sqrt(max(ss, 0.0) * inv_den_full) * scale if den_full > 0.0 else np.nan
        else:
            rare = False
            for j in range(n_series):
                c = count[j]
                inv = 1.0 / c
                # an empty window has no mean (its running sum may hold rounding residue)
                mean = shift[j] + s1[j] * inv if c > 0.0 else np.nan
                ss = s2[j] - s1[j] * s1[j] * inv
                rare |= ss < _CANCEL * peak[j]
                out_t[j] = _result(what, mean, ss, c - ddof, scale)
        if rare:
            for j in range(n_series):
                c = count[j]
                ss = s2[j] - s1[j] * s1[j] * (1.0 / c)
                if ss < _CANCEL * peak[j] and c > 0.0:
                    mean, ss = _window_mean_var(x, r, r_step, j, start, t + 1)
                    out_t[j] = _result(what, mean, ss, c - ddof, scale)
    return infinite
