"""Large result arrays from Arrow's memory pool, which keeps freed memory for reuse.

numpy takes a large array from the C library's ``malloc``, which hands its
memory back to the operating system when the array is freed; the next large
array then pays a page fault for every page its first writes touch (40 MB:
about 6 ms of an 18 ms rolling Sharpe at 2,520 x 2,000, done again on every
call). Arrow's pool (mimalloc or jemalloc) keeps freed memory mapped and
gives it to the next request, so a computation repeated in a notebook, a
service or a benchmark writes into memory already mapped (exposures of a
million positions: about 1,500 fewer page faults a call after a pandas job
had the C library's memory trimmed).

The arrays are ordinary writable numpy arrays; their memory belongs to an
Arrow buffer (``arr.base``) and is released when the array is.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

__all__ = ["POOL_BYTES", "empty"]

#: arrays from this many bytes come from Arrow's pool (smaller ones: numpy's own allocator)
POOL_BYTES = 1 << 16


def empty(shape: int | tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """An uninitialised C-ordered array, from Arrow's memory pool when large.

    Examples
    --------
    >>> from pmcore._memory import empty
    >>> a = empty((1000, 300))
    >>> a.shape, a.dtype.name, a.flags.writeable, a.flags.c_contiguous
    ((1000, 300), 'float64', True, True)
    """
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    count = math.prod(int(n) for n in shape)
    if count * dtype.itemsize < POOL_BYTES:
        return np.empty(shape, dtype)
    buf = pa.allocate_buffer(count * dtype.itemsize)
    return np.frombuffer(buf, dtype, count=count).reshape(shape)
