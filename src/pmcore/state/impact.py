"""What an update did: impact reports returned by every apply of :class:`~pmcore.PortfolioState`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import pyarrow as pa

from ..frames import from_arrow

__all__ = ["PositionChange", "ExposureChange", "FillImpact", "BatchImpact"]


def fast(cls, *values):
    """An instance of the frozen dataclass ``cls`` from its field values in order.

    Same object as ``cls(*values)``, built with one dict update instead of a
    frozen ``__setattr__`` per field (the single-fill hot path builds five).
    """
    obj = object.__new__(cls)
    obj.__dict__.update(zip(cls.__dataclass_fields__, values))
    return obj


def _fmt(x: float) -> str:
    return f"{x:,.2f}" if x == x else "nan"


@dataclass(frozen=True)
class PositionChange:
    """One position before and after an update (quantities signed, prices in instrument currency).

    ``realized_pnl`` is the PnL booked by this update (instrument currency);
    ``status`` is ``"ACTIVE"``, ``"PENDING"``, ``"CLOSED"`` or ``"SUSPENDED"``.
    """

    portfolio_id: Any
    instrument_id: Any
    quantity_before: float
    quantity: float
    avg_price_before: float
    avg_price: float
    realized_pnl: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True)
class ExposureChange:
    """Gross exposure of one group of one grouping column, before and after, in percent of equity.

    ``limit_pct`` is the configured limit in percent (None without a limit),
    ``utilization`` the fraction of the limit used after the update (None
    without a limit; above 1 is a breach).
    """

    portfolio_id: Any
    column: str
    group: Any
    old_pct: float
    new_pct: float
    change: float
    limit_pct: float | None
    utilization: float | None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)


_CHANGE_TYPES = {
    "portfolio_id": None, "instrument_id": None, "column": pa.string(), "group": None,
    "status": pa.string(), "limit_pct": pa.float64(), "utilization": pa.float64(),
}


def changes_table(items, cls) -> pa.Table:
    """A table with one row per dataclass in ``items`` (typed even when empty)."""
    names = [f.name for f in fields(cls)]
    cols = {n: [getattr(x, n) for x in items] for n in names}
    arrays = {}
    for n in names:
        t = _CHANGE_TYPES.get(n, pa.float64())
        if not items and t is None:
            t = pa.string()
        arrays[n] = pa.array(cols[n], type=t)
    return pa.table(arrays)


@dataclass(frozen=True, repr=False)
class FillImpact:
    """The impact of one fill (returned by :meth:`PortfolioState.apply_fill`).

    Attributes
    ----------
    fill_id : int or str
    sequence : int
        Journal sequence number of the update (0 without a journal).
    position : PositionChange
    value_before, value_after, value_change : float
        Portfolio value (equity) in base currency.
    cash_impact : float
        Change of the portfolio's cash in base currency (notional and fee on a
        cash account; realized PnL and fee on a margin account).
    weight_before, weight_after, weight_change : float
        Position market value / portfolio equity.
    exposure_changes : tuple of ExposureChange
        Per grouping column, the group of the traded instrument.
    processing_time_us : float
        Time from the call to the result (validation, apply, journal, report).
    """

    fill_id: Any
    sequence: int
    position: PositionChange
    value_before: float
    value_after: float
    value_change: float
    cash_impact: float
    weight_before: float
    weight_after: float
    weight_change: float
    exposure_changes: tuple
    processing_time_us: float

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict (JSON-ready)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["position"] = self.position.to_dict()
        out["exposure_changes"] = [e.to_dict() for e in self.exposure_changes]
        return out

    def to_arrow(self) -> pa.Table:
        """The exposure changes as a ``pyarrow.Table`` (one row per grouping column)."""
        return changes_table(self.exposure_changes, ExposureChange)

    def to_polars(self):
        """The exposure changes as a ``polars.DataFrame``."""
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        """The exposure changes as a ``pandas.DataFrame``."""
        return from_arrow(self.to_arrow(), "pandas")

    def __repr__(self) -> str:
        p = self.position
        lines = [
            f"FillImpact(fill {self.fill_id!r}, {p.portfolio_id}/{p.instrument_id}: "
            f"{p.quantity_before:g} -> {p.quantity:g} ({p.status}), avg {p.avg_price_before:g} -> {p.avg_price:g}, "
            f"realized {_fmt(p.realized_pnl)}",
            f"  value {_fmt(self.value_before)} -> {_fmt(self.value_after)} ({self.value_change:+,.2f}), "
            f"cash impact {self.cash_impact:+,.2f}, weight {self.weight_before:.2%} -> {self.weight_after:.2%}",
        ]
        for e in self.exposure_changes:
            lim = "" if e.limit_pct is None else f", limit {e.limit_pct:.1f}%, utilization {e.utilization:.0%}"
            lines.append(f"  {e.column} {e.group}: {e.old_pct:.2f}% -> {e.new_pct:.2f}% ({e.change:+.2f}){lim}")
        lines.append(f"  processed in {self.processing_time_us:,.0f} us)")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class BatchImpact:
    """The impact of a batch of updates (fills, cash flows, prices).

    Attributes
    ----------
    n_applied, n_rejected, n_ignored : int
        Rows applied, rejected (per-row mode) and ignored (duplicate ids with
        ``duplicates="ignore"``).
    sequence : int
        Journal sequence number of the batch (0 without a journal or when
        nothing was applied).
    portfolios : pyarrow.Table
        One row per portfolio touched: portfolio_id, value_before, value_after,
        value_change, cash_impact (base currency), realized_pnl (base currency).
    positions : pyarrow.Table
        One row per position touched: the fields of :class:`PositionChange`
        and ``weight_before``, ``weight_after``, ``weight_change`` (position
        market value / portfolio equity, both in base currency); empty for
        cash flows and price updates.
    exposure_changes : pyarrow.Table
        One row per (portfolio, grouping column, group) whose gross exposure
        changed (see :class:`ExposureChange`).
    rejections : pyarrow.Table
        Columns row (in the input), id, reason.
    processing_time_us : float
    """

    n_applied: int
    n_rejected: int
    n_ignored: int
    sequence: int
    portfolios: pa.Table
    positions: pa.Table
    exposure_changes: pa.Table
    rejections: pa.Table
    processing_time_us: float
    kind: str = "arrow"

    def to_arrow(self) -> pa.Table:
        """The per-portfolio impact as a ``pyarrow.Table``."""
        return self.portfolios

    def to_polars(self):
        """The per-portfolio impact as a ``polars.DataFrame``."""
        return from_arrow(self.portfolios, "polars")

    def to_pandas(self):
        """The per-portfolio impact as a ``pandas.DataFrame``."""
        return from_arrow(self.portfolios, "pandas")

    def __repr__(self) -> str:
        head = (f"BatchImpact({self.n_applied:,} applied, {self.n_rejected:,} rejected, "
                f"{self.n_ignored:,} ignored, {self.portfolios.num_rows:,} portfolios")
        if self.portfolios.num_rows:
            t = self.portfolios.slice(0, 3).to_pylist()
            items = ", ".join(f"{r['portfolio_id']}: {r['value_change']:+,.2f}" for r in t)
            more = ", ..." if self.portfolios.num_rows > 3 else ""
            head += f" (value change {items}{more})"
        if self.n_rejected:
            r = self.rejections.slice(0, 1).to_pylist()[0]
            head += f"; first rejection row {r['row']} id {r['id']!r}: {r['reason']}"
        return head + f", {self.processing_time_us:,.0f} us)"
