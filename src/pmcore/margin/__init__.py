"""Margin, liquidation, monitoring, pre-trade checks, position sizing and allocation limits.

Pure functions over a :class:`pmcore.Book` (or positions frames) and market
data; the hot loops are the Numba kernels of :mod:`pmcore.kernels.margin`.
"""

from __future__ import annotations

from .brackets import maintenance_amounts, sample_margin_brackets
from .state import MarginState, margin_state

__all__ = [
    "MarginState",
    "maintenance_amounts",
    "margin_state",
    "sample_margin_brackets",
]
