"""Events sent to subscribers of a :class:`~pmcore.PortfolioState`."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .impact import PositionChange

__all__ = ["PortfolioStateUpdated", "Subscription"]

log = logging.getLogger("pmcore.state")


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass(frozen=True, repr=False)
class PortfolioStateUpdated:
    """A portfolio changed: its new state, the positions and exposures that moved.

    Attributes
    ----------
    portfolio_id : int or str
    sequence : int
        Journal sequence number of the update (0 without a journal).
    timestamp_ns : int
        Latest timestamp of the update (ns since epoch, UTC).
    kind : str
        ``"fills"``, ``"cash_flows"``, ``"prices"`` or ``"status"``.
    portfolio : dict
        value, cash, equity-related figures after the update (base currency):
        ``value_before``, ``value_after``, ``value_change``, ``cash_impact``.
    position_changes : tuple of PositionChange
    exposure_changes : tuple of ExposureChange

    Examples
    --------
    >>> from pmcore.state import PortfolioStateUpdated
    >>> e = PortfolioStateUpdated("A", 1, 0, "cash_flows", {"value_after": 10.0}, (), ())
    >>> e.to_json()
    '{"portfolio_id": "A", "sequence": 1, "timestamp_ns": 0, "kind": "cash_flows", "portfolio": {"value_after": 10.0}, "position_changes": [], "exposure_changes": []}'
    >>> e.to_arrow().num_rows
    0
    """

    portfolio_id: Any
    sequence: int
    timestamp_ns: int
    kind: str
    portfolio: dict
    position_changes: tuple
    exposure_changes: tuple

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (NaN and inf become None)."""
        return {
            "portfolio_id": self.portfolio_id,
            "sequence": self.sequence,
            "timestamp_ns": self.timestamp_ns,
            "kind": self.kind,
            "portfolio": {k: _clean(v) for k, v in self.portfolio.items()},
            "position_changes": [{k: _clean(v) for k, v in c.to_dict().items()} for c in self.position_changes],
            "exposure_changes": [{k: _clean(v) for k, v in c.to_dict().items()} for c in self.exposure_changes],
        }

    def to_json(self) -> str:
        """The event as a JSON document."""
        return json.dumps(self.to_dict())

    def to_arrow(self) -> pa.RecordBatch:
        """One row per position change, with the event's fields repeated as columns.

        Columns: sequence, timestamp (UTC), kind, portfolio_id, the
        :class:`PositionChange` fields, and ``portfolio_<field>`` for each
        portfolio figure.
        """
        n = len(self.position_changes)
        cols: dict[str, Any] = {
            "sequence": pa.array([self.sequence] * n, pa.int64()),
            "timestamp": pa.array([self.timestamp_ns] * n, pa.int64()).cast(pa.timestamp("ns", "UTC")),
            "kind": pa.array([self.kind] * n, pa.string()),
        }
        for name in PositionChange.__dataclass_fields__:
            vals = [getattr(c, name) for c in self.position_changes]
            cols[name] = pa.array(vals) if n else pa.array([], pa.float64() if name not in (
                "portfolio_id", "instrument_id", "status") else pa.string())
        for key, v in self.portfolio.items():
            cols[f"portfolio_{key}"] = pa.array([v] * n, pa.float64())
        return pa.RecordBatch.from_pydict(cols)

    def __repr__(self) -> str:
        return (f"PortfolioStateUpdated({self.portfolio_id!r}, seq {self.sequence}, {self.kind}, "
                f"{len(self.position_changes)} position changes, {len(self.exposure_changes)} exposure changes)")


class Subscription:
    """A registered callback; :meth:`unsubscribe` removes it."""

    def __init__(self, registry: Subscribers, callback: Callable, portfolios: frozenset | None) -> None:
        self._registry = registry
        self.callback = callback
        self.portfolios = portfolios

    def unsubscribe(self) -> None:
        """Stop delivering events to this callback."""
        self._registry.remove(self)

    def __repr__(self) -> str:
        which = "all portfolios" if self.portfolios is None else f"{len(self.portfolios)} portfolios"
        return f"Subscription({getattr(self.callback, '__name__', 'callback')}, {which})"


class Subscribers:
    """The callbacks of one state; delivery never lets a callback's error escape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: tuple[Subscription, ...] = ()
        self.errors = 0

    def add(self, callback: Callable, portfolios: Iterable | None) -> Subscription:
        sub = Subscription(self, callback, None if portfolios is None else frozenset(portfolios))
        with self._lock:
            self._subs = self._subs + (sub,)
        return sub

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not sub)

    def __bool__(self) -> bool:
        return bool(self._subs)

    def wants(self, portfolio_id: Any) -> bool:
        return any(s.portfolios is None or portfolio_id in s.portfolios for s in self._subs)

    def deliver(self, events: Iterable[PortfolioStateUpdated]) -> None:
        subs = self._subs
        for event in events:
            for s in subs:
                if s.portfolios is not None and event.portfolio_id not in s.portfolios:
                    continue
                try:
                    s.callback(event)
                except Exception:  # a failing subscriber must not break the update
                    self.errors += 1
                    log.exception("subscriber %r failed on %r", s, event)

