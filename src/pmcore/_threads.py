"""pmcore's thread budget: how many threads one call may split its work over.

Every part of pmcore that splits large work over threads (valuation,
exposures, attribution, margin) asks :func:`thread_budget`, so that one
setting holds them all, and runs the parts with :func:`run_split`: on the
calling thread and pmcore's worker threads, which live for the whole process
(a new thread costs about 0.1 ms to start, a few percent of a 20 ms call).
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

from .errors import ValidationError

__all__ = ["THREADS_ENV", "run_split", "thread_budget"]

_WORKER_PREFIX = "pmcore-worker"
_pool: ThreadPoolExecutor | None = None
_pool_pid = -1
_pool_lock = threading.Lock()

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


def _workers() -> ThreadPoolExecutor:
    """pmcore's worker threads (started on first use; anew in a forked child, which has none)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix=_WORKER_PREFIX)
            _pool_pid = os.getpid()
        return _pool


def run_split(fn, parts: list, threads: int | None = None) -> list:
    """``[fn(part) for part in parts]``, the parts at the same time.

    With ``threads`` (default: one per part), that many threads take the
    parts in turn, each the next part not yet taken when it is free, so that
    a thread slowed by anything else on the machine takes fewer parts; the
    calling thread is one of them and pmcore's worker threads the others
    (pmcore's kernels release the GIL, so the parts overlap on a multi-core
    machine). The results come in the order of ``parts`` whichever thread
    ran each. Returns when every part is done; an exception in any part is
    raised here, after the parts taken finish. Called from a worker thread
    itself, it runs the parts one after another (a worker never waits for
    another).

    Examples
    --------
    >>> from pmcore._threads import run_split
    >>> run_split(lambda x: x * x, [1, 2, 3])
    [1, 4, 9]
    >>> run_split(lambda x: x + 1, list(range(6)), threads=2)
    [1, 2, 3, 4, 5, 6]
    """
    n = len(parts)
    k = n if threads is None else max(1, min(threads, n))
    if k < 2 or threading.current_thread().name.startswith(_WORKER_PREFIX):
        return [fn(part) for part in parts]
    results: list = [None] * n
    taken = itertools.count()  # next() is atomic under the GIL
    failed = threading.Event()

    def take_parts() -> None:
        for i in iter(taken.__next__, None):
            if i >= n or failed.is_set():
                return
            try:
                results[i] = fn(parts[i])
            except BaseException:
                failed.set()  # the other threads take no more parts
                raise

    futures = [_workers().submit(take_parts) for _ in range(k - 1)]
    try:
        take_parts()
    finally:
        wait(futures)  # no part is left writing into shared arrays
    for future in futures:
        future.result()
    return results
