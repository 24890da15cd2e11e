"""The one place that fixes Numba options for every pmcore kernel.

``jit`` is ``numba.njit`` with ``error_model="numpy"`` (0/0 gives NaN instead of
raising), ``fastmath=False`` (IEEE semantics, so compensated sums stay exact)
and on-disk caching. Set the environment variable ``PMCORE_NUMBA_CACHE=0`` to
turn caching off (read once, when a kernel module is first imported).
"""

from __future__ import annotations

import os

import numba

__all__ = ["jit", "CACHE"]

CACHE = os.environ.get("PMCORE_NUMBA_CACHE", "1") not in ("0", "false", "False", "no")


def jit(func=None, *, parallel: bool = False):
    """Compile ``func`` with pmcore's fixed Numba options (lazily, on first call)."""

    def wrap(f):
        return numba.njit(
            f, cache=CACHE, error_model="numpy", fastmath=False, parallel=parallel, nogil=True
        )

    return wrap if func is None else wrap(func)
