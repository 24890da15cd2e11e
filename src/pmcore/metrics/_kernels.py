"""Kernel dispatch by memory layout: row-major twins for C-contiguous matrices.

Every matrix reaches the kernels C-contiguous (:func:`~pmcore.metrics._data.as_panel`
copies a Fortran-ordered or strided one), so each kernel compiles for one
layout only. A matrix with several series is read row by row with the series
innermost; a single series column by column (the column loop has less
overhead per row), except where the row kernel makes fewer passes. Both
kernels compute the same thing; only the summation order may differ.
"""

from __future__ import annotations

import numpy as np

from .._memory import empty
from ..kernels import metrics as k
from ..kernels import metrics_rolling as kr


def _rows(x: np.ndarray) -> bool:
    return x.shape[1] > 1 and x.flags.c_contiguous


#: outputs from this many bytes get their pages mapped before the kernel runs
_PREFAULT_BYTES = 1 << 22


def output_like(x: np.ndarray) -> np.ndarray:
    """An uninitialised float64 array of ``x``'s shape for a per-row result, its pages mapped.

    From Arrow's memory pool (:mod:`pmcore._memory`: a repeated call reuses
    memory already mapped), and one store per 4 KiB page before the kernel:
    should the memory be fresh, the page faults happen here rather than
    inside the kernel's loop, where they cost more.
    """
    out = empty(x.shape)
    if out.nbytes >= _PREFAULT_BYTES:
        out.reshape(-1)[::512] = 0.0
    return out


def total_return(x):
    n = x.shape[1]
    total = np.empty(n)
    count = np.empty(n, np.int64)
    (k.total_return_rows if _rows(x) else k.total_return)(x, total, count)
    return total, count


def mean_std(x, rate, step, ddof):
    n = x.shape[1]
    mean = np.empty(n)
    std = np.empty(n)
    (k.mean_std_rows if _rows(x) else k.mean_std)(x, rate, step, ddof, mean, std)
    return mean, std


def downside(x, rate, step):
    n = x.shape[1]
    mean = np.empty(n)
    dd = np.empty(n)
    (k.downside_rows if _rows(x) else k.downside)(x, rate, step, mean, dd)
    return mean, dd


def max_drawdown(x, include_start):
    """(max drawdown, total return, count of present values) per column, one pass."""
    n = x.shape[1]
    out = np.empty(n)
    total = np.empty(n)
    count = np.empty(n, np.int64)
    (k.max_drawdown_rows if _rows(x) else k.max_drawdown)(x, bool(include_start), out, total, count)
    return out, total, count


def omega(x, rate, step, threshold, out):
    """Omega into ``out``; returns gains + losses per column (not finite iff an infinity)."""
    scale = np.empty(x.shape[1])
    (k.omega_rows if _rows(x) else k.omega)(x, rate, step, threshold, out, scale)
    return scale


def alpha_beta(x, bench, rate, step):
    n = x.shape[1]
    alpha_mean = np.empty(n)
    beta = np.empty(n)
    # one pass instead of three: the row kernel wins for one series too
    (k.alpha_beta_rows if x.flags.c_contiguous else k.alpha_beta)(x, bench, rate, step, alpha_mean, beta)
    return alpha_mean, beta


ROLLING_STD, ROLLING_SHARPE, ROLLING_MEAN = 0, 1, 2


def rolling_mean_std(x, rate, step, window, ddof, what, scale):
    """The rolling statistic and whether an infinity entered a window (scan ``x`` then)."""
    out = output_like(x)
    infinite = (kr.rolling_mean_std_rows if _rows(x) else kr.rolling_mean_std)(
        x, rate, step, window, ddof, what, scale, out
    )
    return out, infinite
