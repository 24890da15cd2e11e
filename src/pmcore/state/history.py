"""Checkpoints, daily snapshots with retention, history export and as-of replay of a state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import PmcoreError, ValidationError
from ..frames import from_arrow, to_arrow
from ..valuation import positions
from . import inputs as vi
from . import replay as rp
from . import snapshots as sn
from .journal import read_frames

__all__ = ["HistoryMixin"]


class HistoryMixin:
    """Snapshots, history and past states of a durable :class:`~pmcore.state.PortfolioState`."""

    def _checkpoint_locked(self) -> None:
        if self._root is None or self._journal is None:
            return
        sn.write_checkpoint(self._root, self._core, sequence=self._journal.written,
                            position=self._journal.position, clock_ns=self._clock)

    def _maybe_daily(self, ts: int) -> None:
        """Before the first update of a new UTC day, snapshot the state of the day before."""
        if self._root is None or self._clock == 0 or ts // sn.DAY_NS <= self._clock // sn.DAY_NS:
            return
        self._snapshot_locked(sn.day_of(self._clock))

    def _snapshot_locked(self, date) -> None:
        self._journal.sync()
        self._checkpoint_locked()
        vals = to_arrow(self.value(), "value")  # with realized PnL and net flows: the metrics inputs
        book, slots = self._core.book(self._u, kind="arrow")
        prices = self._safe_prices(book, self._core.prices)
        pos = positions(book, prices, self._core.fx).drop_columns(["source_row"])
        d = pa.array([date] * vals.num_rows, pa.date32())
        vals = vals.add_column(0, "date", d)
        pos = pos.add_column(0, "date", pa.array([date] * pos.num_rows, pa.date32()))
        sn.write_history(self._root, date, vals, pos)
        sn.prune(self._root, today=date, retention_days=self._retention)

    def _needs_path(self, what: str) -> None:
        if self._root is None:
            raise PmcoreError(f"{what} needs a durable state: create it with a path or PortfolioState.open(path)")

    def snapshot(self, *, date: Any = None) -> None:
        """Write the daily snapshot now (values and positions of every portfolio) and a checkpoint.

        Daily snapshots are also written automatically before the first update
        of each new UTC day; those older than ``retention_days`` are deleted.

        Parameters
        ----------
        date : datetime.date, optional, keyword-only
            Label of the snapshot (default: the date of the latest update).

        Examples
        --------
        >>> import datetime as dt, tempfile, pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]}, path=d) as s:
        ...         s.snapshot(date=dt.date(2026, 11, 20))
        ...         print(s.history().select(["date", "portfolio_id", "equity"]).to_pylist())
        [{'date': datetime.date(2026, 11, 20), 'portfolio_id': 'A', 'equity': 20.0}]
        """
        self._needs_path("snapshot")
        with self._lock:
            self._writable()
            self._snapshot_locked(date if date is not None else sn.day_of(self._clock))

    def history(self, *, start: Any = None, end: Any = None, positions: bool = False):
        """Daily snapshots between ``start`` and ``end`` (dates, inclusive) as one frame.

        Returns
        -------
        frame
            One row per day and portfolio (``date`` and the columns of
            :meth:`value`), or with ``positions=True`` one row per day and position.

        Examples
        --------
        See :meth:`snapshot`.
        """
        self._needs_path("history")
        import pyarrow.parquet as pq

        files = sn.history_files(self._root, "positions" if positions else "values")
        lo = None if start is None else sn.day_of(vi.to_ns(start))
        hi = None if end is None else sn.day_of(vi.to_ns(end))
        tables = [pq.read_table(p) for d, p in files if (lo is None or d >= lo) and (hi is None or d <= hi)]
        if not tables:
            return from_arrow(pa.table({"date": pa.array([], pa.date32())}), self._u.kind)
        return from_arrow(pa.concat_tables(tables), self._u.kind)

    def export_history(self, path: Any, /, *, format: str = "parquet", positions: bool = False) -> Path:
        """Write :meth:`history` to ``path`` as ``"parquet"``, ``"csv"`` or ``"json"`` (JSON lines).

        Examples
        --------
        >>> import datetime as dt, tempfile, pathlib, pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]}, path=f"{d}/s") as s:
        ...         s.snapshot(date=dt.date(2026, 11, 20))
        ...         out = s.export_history(f"{d}/h.csv", format="csv")
        ...     print(pathlib.Path(out).read_text().splitlines()[0][:30])
        "date","portfolio_id","account
        """
        import json

        from ..frames import to_arrow

        table = to_arrow(self.history(positions=positions), "history")
        path = Path(path)
        if format == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, path)
        elif format == "csv":
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, path)
        elif format == "json":
            with open(path, "w") as fh:
                for row in table.to_pylist():
                    fh.write(json.dumps(row, default=str) + "\n")
        else:
            raise ValidationError("is not an export format", argument="format", value=format,
                                  expected="'parquet', 'csv' or 'json'")
        return path

    def checkpoint(self) -> None:
        """Write a checkpoint now, so that :meth:`open` replays less of the journal.

        Examples
        --------
        >>> import tempfile, pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]}, path=d) as s:
        ...         _ = s.apply_fill(1, "A", "X", 1.0, 10.0, timestamp=0)
        ...         s.checkpoint()
        """
        self._needs_path("checkpoint")
        with self._lock:
            self._writable()
            self._journal.sync()
            self._checkpoint_locked()

    def as_of(self, timestamp: Any, /):
        """The state as it was at ``timestamp``: a read-only :class:`PortfolioState`.

        Loads the newest checkpoint taken at or before ``timestamp`` and
        replays the journal after it, applying the updates whose timestamp is
        ``<= timestamp`` in journal order.

        Examples
        --------
        >>> import tempfile, pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]}, path=d) as s:
        ...         _ = s.apply_fill(1, "A", "X", 1.0, 10.0, timestamp=100)
        ...         _ = s.apply_fill(2, "A", "X", 5.0, 10.0, timestamp=200)
        ...         print(s.as_of(150).positions().column("quantity").to_pylist())
        [3.0]
        """
        self._needs_path("as_of")
        t = vi.to_ns(timestamp)
        cks = [c for c in sn.list_checkpoints(self._root) if c["clock_ns"] <= t]
        if not cks:
            raise ValidationError("is before the state was created", argument="timestamp", value=timestamp,
                                  expected="a time >= 1970-01-01 (the clock of the first checkpoint)")
        info = cks[-1]
        core = self._empty_core(self._u)
        sn.read_checkpoint(info, core)
        clock = info["clock_ns"]
        for kind, batch, _pos in read_frames(self._root / "journal", (info["segment"], info["offset"])):
            rp.apply_record(core, kind, batch, until=t)
            clock = max(clock, min(t, rp.record_max_ts(batch)))
        out = type(self).__new__(type(self))
        opts = dict(self._options)
        opts.pop("durability")
        opts.pop("commit_window")
        out._setup(self._u, core, None, sequence=0, clock=clock, readonly=True, **opts)
        out.recovery = None
        return out
