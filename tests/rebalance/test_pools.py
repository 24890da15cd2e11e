"""The rebalancing pipeline from a thread pool and from a process pool gives the single-threaded results."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from pmcore.rebalance import CostModel, check_triggers, drift, trade_list

from .test_trades import random_book


def pipeline(seed: int) -> tuple[list, list]:
    pos, prices, cash, targets, inst, _ = random_book(seed, 6, 5, True, False)
    d = drift(pos, targets, prices=prices, cash=cash)
    plan = trade_list(d, decision=check_triggers(d, threshold=0.02), instruments=inst,
                      costs=CostModel(commission_bps=5.0))
    return d.drift.tolist(), plan.quantity.tolist()


def test_thread_pool():
    want = [pipeline(s) for s in range(8)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(pipeline, range(8)))
    for (d1, q1), (d2, q2) in zip(got, want, strict=True):
        np.testing.assert_array_equal(d1, d2)  # NaN (an account without equity) equals NaN here
        np.testing.assert_array_equal(q1, q2)


def test_process_pool():
    want = [pipeline(s) for s in range(4)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        got = list(pool.map(pipeline, range(4)))
    for (d1, q1), (d2, q2) in zip(got, want, strict=True):
        np.testing.assert_array_equal(d1, d2)
        np.testing.assert_array_equal(q1, q2)
