"""pmcore's thread budget: how many threads one call may split its work over.

Every part of pmcore that splits large work over threads (valuation,
exposures, attribution, margin) asks :func:`thread_budget`, so that one
setting holds them all.
"""

from __future__ import annotations

import os

from .errors import ValidationError

__all__ = ["THREADS_ENV", "thread_budget"]

#: environment variable capping the threads of every pmcore call (1: the calling thread only)
THREADS_ENV = "PMCORE_NUM_THREADS"


def thread_budget() -> int:
    """Threads a pmcore call may use: the cores this process may run on, capped by ``PMCORE_NUM_THREADS``.

    Read at each call, so that a service can set it once at start-up; the
    same input gives the same split (and the same numbers) whatever else runs
    on the machine.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    cap = os.environ.get(THREADS_ENV, "").strip()
    if cap:
        if not cap.isdigit() or int(cap) < 1:
            raise ValidationError("is not a thread count", argument=THREADS_ENV, value=cap,
                                  expected="an integer >= 1 (environment variable), or unset")
        cores = min(cores, int(cap))
    return cores
