"""pmcore: portfolio analytics on columnar data.

The public face of the library: every name here is a re-export from the module
that owns it. Submodules load on first use (PEP 562), so ``import pmcore`` stays
fast and compiles nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> owning module (relative to this package)
_EXPORTS: dict[str, str] = {
    "PmcoreError": "errors",
    "ValidationError": "errors",
    "Book": "book",
    "Valuation": "valuation",
    "revalue": "valuation",
    "value": "valuation",
    "positions": "valuation",
    "exposures": "exposure",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pmcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .book import Book
    from .errors import PmcoreError, ValidationError
    from .exposure import exposures
    from .valuation import Valuation, positions, revalue, value
