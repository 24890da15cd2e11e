"""Reads of a :class:`~pmcore.state.PortfolioState`: consistent copies valued by the foundation.

Each query copies the arrays it needs under the state's lock (copy-on-read),
builds a :class:`~pmcore.Book` of them and calls :func:`pmcore.value`,
:func:`pmcore.positions` or :func:`pmcore.exposures`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..book import Book
from ..errors import ValidationError
from ..exposure import exposures
from ..frames import from_arrow
from ..kernels import state as ks
from ..valuation import positions, value

__all__ = ["QueryMixin"]


class QueryMixin:
    """Current values, positions, exposures and cash of a state, as frames."""

    def _read(self, portfolios, *, include_closed: bool = False):
        """A consistent copy: (book, prices, fx, slots, status, realized, opened) under the lock."""
        with self._lock:
            core = self._core
            aff = None
            if portfolios is not None:
                ids = [portfolios] if isinstance(portfolios, (str, int)) else list(portfolios)
                aff = []
                for x in ids:
                    if x not in self._pidx:
                        raise ValidationError("names an unknown portfolio", argument="portfolios", value=x)
                    aff.append(self._pidx[x])
                aff = np.sort(np.asarray(aff, np.int64))
            book, slots = core.book(self._u, aff, skip_closed=not include_closed)
            flows = core.flows[aff] if aff is not None else core.flows.copy()
            extra = (core.s_status[slots].copy(), core.s_num[slots, 2].copy(), core.s_opened[slots].copy(), flows)
            return book, core.prices.copy(), core.fx.copy(), extra

    def value(self, *, portfolios: Iterable | None = None):
        """Current value of every portfolio (or of ``portfolios``), via :func:`pmcore.value`.

        Returns
        -------
        frame
            The kind of the book's frames: the columns of :func:`pmcore.value`,
            ``realized_pnl`` (base currency at the current fx) and
            ``net_flows``: deposits minus withdrawals since the state was
            created (base currency at the fx of each flow), the external
            flows that time-weighted returns take out.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> PortfolioState(book, {"instrument_id": ["X"], "price": [11.0]}).value().column("equity").to_pylist()
        [22.0]
        """
        book, prices, fx, (status, realized, _, flows) = self._read(portfolios, include_closed=True)
        table = value(book, self._safe_prices(book, prices), fx)
        real = np.bincount(np.repeat(np.arange(book.n_portfolios), np.diff(book.offsets)),
                           weights=realized * fx[book.instrument_currency[book.instrument]], minlength=book.n_portfolios)
        table = table.append_column("realized_pnl", pa.array(real, pa.float64()))
        table = table.append_column("net_flows", pa.array(flows, pa.float64()))
        return from_arrow(table, self._u.kind)

    @staticmethod
    def _safe_prices(book: Book, prices: np.ndarray) -> np.ndarray:
        # flat positions (PENDING, SUSPENDED at zero) may sit on unpriced instruments: value them at 1
        p = prices.copy()
        p[~book.held & ~(p > 0)] = 1.0
        return p

    def positions(self, *, portfolios: Iterable | None = None, include_closed: bool = False):
        """Current positions via :func:`pmcore.positions`, with status, realized PnL and opening time.

        Returns
        -------
        frame
            The columns of :func:`pmcore.positions` (without ``source_row``)
            and ``status``, ``realized_pnl`` (instrument currency),
            ``opened_at`` (UTC; null when flat). CLOSED positions only with
            ``include_closed=True``.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> s = PortfolioState(book, {"instrument_id": ["X"], "price": [11.0]})
        >>> s.positions().select(["instrument_id", "quantity", "unrealized_pnl", "status"]).to_pylist()
        [{'instrument_id': 'X', 'quantity': 2.0, 'unrealized_pnl': 2.0, 'status': 'ACTIVE'}]
        """
        book, prices, fx, (status, realized, opened, _) = self._read(portfolios, include_closed=include_closed)
        table = positions(book, self._safe_prices(book, prices), fx)
        table = table.drop_columns(["source_row"])
        table = table.append_column("status", pa.array(np.asarray(ks.STATUS_NAMES, object)[status].tolist(),
                                                       pa.string()))
        table = table.append_column("realized_pnl", pa.array(realized, pa.float64()))
        opened_ts = pa.array(opened, pa.int64()).cast(pa.timestamp("ns", "UTC"))
        opened_ts = pc.if_else(pa.array(opened != 0), opened_ts, pa.scalar(None, pa.timestamp("ns", "UTC")))
        table = table.append_column("opened_at", opened_ts)
        return from_arrow(table, self._u.kind)

    def exposures(self, *, by: str = "sector", limits: Any = None, limit_on: str = "gross",
                  portfolios: Iterable | None = None):
        """Current exposures per portfolio and group via :func:`pmcore.exposures`.

        ``limits`` defaults to the state's limits for column ``by``.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"], "sector": ["Tech"]}),
        ...     cash=pa.table({"portfolio_id": ["A"], "currency": ["USD"], "amount": [80.0]}))
        >>> s = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]}, limits={"sector": 0.1})
        >>> s.exposures(by="sector").select(["sector", "gross_pct", "breach"]).to_pylist()
        [{'sector': 'Tech', 'gross_pct': 20.0, 'breach': True}]
        """
        if limits is None and by in self._group_names:
            g = self._group_names.index(by)
            lim = {lab: float(x) for lab, x in zip(self._group_labels[g], self._limits[g]) if x == x and lab is not None}
            limits = lim or None
        book, prices, fx, _ = self._read(portfolios)
        out = exposures(book, self._safe_prices(book, prices), fx, by=by, limits=limits, limit_on=limit_on)
        return from_arrow(out, self._u.kind)

    def cash(self, *, portfolios: Iterable | None = None):
        """Cash balances per portfolio and currency (non-zero rows): balance, locked, available, fx, balance_base.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}),
        ...     cash=pa.table({"portfolio_id": ["A"], "currency": ["USD"], "amount": [80.0]}))
        >>> PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]}).cash().column("balance").to_pylist()
        [80.0]
        """
        book, _, fx, _ = self._read(portfolios, include_closed=True)
        amounts = book.cash_amounts
        keep = (amounts[:, 0] != 0) | (amounts[:, 1] != 0)
        pcode = np.repeat(np.arange(book.n_portfolios), np.diff(book.cash_offsets))[keep]
        ccy = book.cash_currency[keep]
        table = pa.table({
            "portfolio_id": book.portfolio_ids.take(pa.array(pcode, pa.int64())),
            "currency": book.currencies.take(pa.array(ccy, pa.int64())),
            "balance": amounts[keep, 0], "locked": amounts[keep, 1], "available": amounts[keep, 0] - amounts[keep, 1],
            "fx_rate": fx[ccy], "balance_base": amounts[keep, 0] * fx[ccy],
        })
        return from_arrow(table, self._u.kind)
