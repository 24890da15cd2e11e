"""The one place that fixes Numba options for every pmcore kernel.

``jit`` is ``numba.njit`` with ``error_model="numpy"`` (0/0 gives NaN instead of
raising), ``fastmath=False`` (IEEE semantics, so compensated sums stay exact)
and on-disk caching. Set the environment variable ``PMCORE_NUMBA_CACHE=0`` to
turn caching off (read once, when a kernel module is first imported).

:func:`prefetch` asks the CPU to start loading an array element that a loop
will read later (LLVM's ``llvm.prefetch``); in plain Python it does nothing.
"""

from __future__ import annotations

import os

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

__all__ = ["jit", "CACHE", "prefetch"]

CACHE = os.environ.get("PMCORE_NUMBA_CACHE", "1") not in ("0", "false", "False", "no")


def jit(func=None, *, parallel: bool = False, inline: bool = False):
    """Compile ``func`` with pmcore's fixed Numba options (lazily, on first call).

    ``inline=True`` inlines a small helper into each kernel that calls it
    (Numba's ``inline="always"``), for helpers called in a hot loop.
    """

    def wrap(f):
        return numba.njit(
            f, cache=CACHE, error_model="numpy", fastmath=False, parallel=parallel, nogil=True,
            inline="always" if inline else "never",
        )

    return wrap if func is None else wrap(func)


def prefetch(arr, i):
    """Hint that ``arr[i]`` will be read soon (compiled: a prefetch into every cache level; Python: nothing).

    A prefetch never faults, so ``i`` may lie past the end of the array.
    One call covers the 64-byte cache line holding ``arr[i]``.
    """


@intrinsic
def _prefetch_address(typingctx, arr, i):
    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        byte_ptr = ir.IntType(8).as_pointer()
        address = builder.bitcast(builder.gep(array.data, [args[1]]), byte_ptr)
        i32 = ir.IntType(32)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", fnty=ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]))
        # read (0), keep in all cache levels (locality 3), data cache (1)
        builder.call(fn, [address, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, i), codegen


@overload(prefetch, inline="always")
def _prefetch_compiled(arr, i):
    if isinstance(arr, types.Array) and isinstance(i, types.Integer):
        return lambda arr, i: _prefetch_address(arr, i)
    return None
