"""Numba kernels: plain numpy arrays and scalars in, plain arrays out.

Nothing in this package validates its input; the public functions do that
first. Kernels compile lazily on first call and are cached on disk.
"""
