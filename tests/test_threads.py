"""pmcore's worker threads (pmcore._threads.run_split) and the prefetch hint (pmcore.kernels._jit)."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from pmcore import _threads
from pmcore._threads import run_split
from pmcore.kernels._jit import jit, prefetch


def test_results_in_order_on_the_caller_and_the_workers():
    caller = threading.current_thread().name
    names = run_split(lambda k: (k, threading.current_thread().name), list(range(5)))
    assert [k for k, _ in names] == list(range(5))
    assert all(name == caller or name.startswith("pmcore-worker") for _, name in names)


def test_a_free_thread_takes_the_next_part():
    # the first part is slow: the other thread takes all the rest, in order
    import time

    def part(k):
        if k == 0:
            time.sleep(0.3)
        return k, threading.current_thread().name

    out = run_split(part, list(range(6)), threads=2)
    assert [k for k, _ in out] == list(range(6))
    assert {name for _, name in out[1:]} == {out[1][1]} != {out[0][1]}


def test_workers_are_kept_between_calls():
    run_split(lambda k: k, [0, 1])
    first = _threads._workers()
    run_split(lambda k: k, [0, 1])
    assert _threads._workers() is first


def test_an_error_in_any_part_is_raised():
    def part(k):
        if k == 0:
            raise ValueError("part 0")
        return k

    for threads in (None, 2):
        with pytest.raises(ValueError, match="part 0"):
            run_split(part, [0, 1, 2, 3], threads=threads)
    with pytest.raises(KeyError):
        run_split(lambda k: {}[k], [1, 2])


def test_a_worker_runs_nested_parts_itself():
    # a part that splits again must not wait for workers busy with the outer parts
    outer = run_split(lambda k: run_split(lambda j: (k, j), [0, 1]), [0, 1, 2])
    assert outer == [[(k, 0), (k, 1)] for k in range(3)]


def _split_in_child(_):
    return run_split(lambda k: os.getpid(), [0, 1, 2])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_its_own_workers():
    run_split(lambda k: k, [0, 1])  # the parent's workers exist before the fork
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        pids = pool.submit(_split_in_child, None).result(timeout=60)
    assert len(set(pids)) == 1 and pids[0] != os.getpid()


@jit
def _prefetched_sum(a):
    total = 0.0
    for i in range(a.shape[0]):
        prefetch(a, i + 64)  # past the end near the end: a hint never faults
        total += a[i]
    return total


def test_prefetch_is_a_hint_compiled_and_nothing_in_python():
    a = np.arange(100.0)
    assert _prefetched_sum(a) == _prefetched_sum.py_func(a) == a.sum()
    assert prefetch(a, 10**9) is None
