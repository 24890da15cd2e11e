"""Large result arrays from Arrow's memory pool (pmcore._memory)."""

import gc

import numpy as np
import pyarrow as pa

from pmcore._memory import POOL_BYTES, empty


def test_small_arrays_are_plain_numpy():
    a = empty((10, 3))
    assert a.flags.owndata and a.shape == (10, 3) and a.dtype == np.float64
    assert empty(0).shape == (0,)
    assert empty((0, 5), np.int32).shape == (0, 5)


def test_large_arrays_come_from_arrows_pool_and_outlive_their_buffer():
    pool = pa.default_memory_pool()
    before = pool.bytes_allocated()
    a = empty((POOL_BYTES // 8, 2))
    assert not a.flags.owndata  # the memory belongs to an Arrow buffer
    assert a.flags.writeable and a.flags.c_contiguous and a.flags.aligned
    assert pool.bytes_allocated() >= before + a.nbytes
    a[:] = 3.0
    b = a[::2]  # a view keeps the memory alive after the array itself goes
    del a
    gc.collect()
    assert (b == 3.0).all()
    del b
    gc.collect()
    assert pool.bytes_allocated() <= before + POOL_BYTES  # released with its last view
    c = empty(POOL_BYTES, np.int32)
    assert c.shape == (POOL_BYTES,) and c.dtype == np.int32


def test_rolling_results_use_the_pool_and_stay_valid():
    from pmcore.metrics import rolling_sharpe

    x = np.random.default_rng(0).normal(0.0005, 0.01, (1_000, 200))
    got = rolling_sharpe(x, 21)
    assert not got.flags.owndata  # 1.6 MB: from the pool
    want = rolling_sharpe(np.ascontiguousarray(x[:, :1]), 21)[:, 0]
    gc.collect()
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-9, equal_nan=True)
