"""Batches of fills: validation per row, atomic or per-row rejection, the journal record, the report."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..kernels import state as ks
from . import inputs as vi
from . import replay as rp
from .impact import BatchImpact

__all__ = ["BatchMixin"]


class BatchMixin:
    """:meth:`~pmcore.state.PortfolioState.apply_fills` and the row checks shared with cash flows."""

    def apply_fills(self, fills: Any, /, *, atomic: bool = True, report: bool = True) -> BatchImpact:
        """Apply a batch of fills in order and return the batch's impact.

        Parameters
        ----------
        fills : frame
            Columns ``fill_id`` (int or string), ``portfolio_id``,
            ``instrument_id``, ``quantity`` (signed), ``price``; optional
            ``fee`` (default 0), ``fee_currency`` (default the instrument's),
            ``timestamp`` (default now) and ``transaction_type`` (default
            ``"trade"``), with the rules of :meth:`apply_fill`.
        atomic : bool, keyword-only
            True (default): all or nothing; the first bad row raises and the
            state and journal are unchanged. False: bad rows are rejected
            (``rejections`` says which and why), the others applied in order.
        report : bool, keyword-only
            Compute the per-portfolio, per-position and exposure impact (the
            bulk path can skip it for speed; counts are always reported).

        Returns
        -------
        BatchImpact

        Notes
        -----
        The result is that of applying the rows one by one in input order
        (bit for bit). Inside, rows are applied grouped by portfolio, which
        keeps a portfolio's positions in cache; so when several rows of an
        atomic batch would fail, the error names the first one met in that
        order (the earliest of its portfolio). A fill id that repeats within a
        batch is a duplicate at its second occurrence, whatever became of the
        first.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A", "B"], "instrument_id": ["X", "X"], "quantity": [5.0, 1.0],
        ...               "avg_price": [10.0, 10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> fills = pa.table({"fill_id": [1, 2, 3], "portfolio_id": ["A", "B", "A"],
        ...                   "instrument_id": ["X", "X", "X"], "quantity": [-2.0, -3.0, 1.0],
        ...                   "price": [12.0, 12.0, 11.0], "timestamp": [0, 0, 0]})
        >>> r = state.apply_fills(fills, atomic=False)
        >>> r.n_applied, r.rejections.to_pylist()
        (2, [{'row': 1, 'id': '2', 'reason': 'would take a no-short cash account below zero'}])
        >>> r.positions.select(["portfolio_id", "quantity_before", "quantity", "realized_pnl"]).to_pylist()
        [{'portfolio_id': 'A', 'quantity_before': 5.0, 'quantity': 4.0, 'realized_pnl': 4.0}]
        """
        t0 = time.perf_counter_ns()
        table = vi.frame(fills, "fills", ("fill_id", "portfolio_id", "instrument_id", "quantity", "price"))
        n = table.num_rows
        core, u = self._core, self._u
        int_ids, str_ids, raw_ids = vi.fill_ids(table, "fills", "fill_id")
        port, _ = vi.codes(table, "fills", "portfolio_id", u.portfolio_ids)
        inst, _ = vi.codes(table, "fills", "instrument_id", u.instrument_ids)
        qty = vi._numbers(table, "quantity", None)
        price = vi._numbers(table, "price", None)
        fee = vi._numbers(table, "fee", 0.0)
        fee_ccy, _ = vi.codes(table, "fills", "fee_currency", u.currencies.cast(pa.string()),
                              default=core.inst_ccy[np.maximum(inst, 0)])
        ttype = vi.enum_codes(table, "fills", "transaction_type", ks.TRANSACTION_TYPES, ks.T_TRADE)
        ts = vi.timestamps(table, "fills")
        reason = self._fill_reasons(port, inst, qty, price, fee, fee_ccy, ttype, int_ids)
        f = {"port": port, "inst": inst, "qty": qty, "price": price, "fee": fee,
             "fee_ccy": fee_ccy.astype(np.int32, copy=False), "ttype": ttype, "ts": ts, "fid": int_ids}
        with self._lock:
            self._writable()
            if str_ids is not None:
                self._str_duplicates(str_ids, reason)
            status = reason
            if atomic:
                self._raise_first(status, raw_ids, "fills", port, inst)
            self._maybe_daily(int(ts.max()) if n else 0)
            want = report or bool(self._subs)
            before = self._snapshot_values(port[status == ks.OK]) if want else None
            bad, touched = core.apply_fills(f, status, atomic=atomic, ignore_dup=self._duplicates == "ignore",
                                            want_touched=want)
            if bad >= 0:
                self._raise_first(status, raw_ids, "fills", port, inst)
            ok = status == ks.OK
            all_ok = bool(ok.all())
            n_ok = n if all_ok else int(ok.sum())
            seq = 0
            if n_ok:
                if str_ids is not None:
                    core.str_ids.update(str_ids if all_ok else [x for x, k in zip(str_ids, ok) if k])
                ts_max = int(ts.max() if all_ok else ts[ok].max())
                self._clock = max(self._clock, ts_max)
                if self._journal is not None:
                    rec = f if all_ok else {k: v[ok] for k, v in f.items() if v is not None}
                    ids = raw_ids if all_ok else raw_ids.filter(pa.array(ok))
                    seq = self._append("fills", rp.fills_batch(ids, rec))
                    self._sequence = seq
            after = self._after(before, touched) if want else None
        return self._finish("fills", seq, n, status, raw_ids, after, t0, report)

    def _fill_reasons(self, port, inst, qty, price, fee, fee_ccy, ttype, int_ids) -> np.ndarray:
        reason = np.zeros(len(port), np.int8)
        with np.errstate(invalid="ignore"):
            checks = [
                (vi.R_PORTFOLIO, port < 0), (vi.R_INSTRUMENT, inst < 0),
                (vi.R_QTY, ~np.isfinite(qty) | (qty == 0)), (vi.R_PRICE, ~(np.isfinite(price) & (price > 0))),
                (vi.R_FEE, ~(np.isfinite(fee) & (fee >= 0))), (vi.R_FEE_CCY, fee_ccy < 0), (vi.R_TYPE, ttype < 0),
                (vi.R_SIDE, ((ttype == ks.T_BUY) & (qty < 0)) | ((ttype == ks.T_SELL) & (qty > 0))),
            ]
            if int_ids is not None:
                checks.append((vi.R_ID, int_ids == vi.INT64_MIN))
        any_bad = checks[0][1].copy()
        for _, m in checks[1:]:
            any_bad |= m
        if any_bad.any():
            for code, m in reversed(checks):
                reason[m] = code
        return reason

    def _str_duplicates(self, ids: list, status: np.ndarray) -> None:
        seen = self._core.str_ids
        batch: set = set()
        ignore = self._duplicates == "ignore"
        for r, x in enumerate(ids):
            if status[r] != ks.OK:
                continue
            if x in seen or x in batch:
                status[r] = ks.IGNORED if ignore else vi.R_DUP_STR
            else:
                batch.add(x)

    def _raise_first(self, status: np.ndarray, raw_ids, arg: str, port: np.ndarray, other: np.ndarray) -> None:
        """Raise for the first rejected row: its id, reason, portfolio and instrument (or currency)."""
        bad = np.flatnonzero((status != ks.OK) & (status != ks.IGNORED))
        if len(bad) == 0:
            return
        r = int(bad[0])
        code = int(status[r])
        what = "fill" if arg == "fills" else "cash flow"
        ident = raw_ids[r].as_py() if raw_ids is not None else None
        name = f"{what} {ident!r}" if ident is not None else what
        where = []
        if port[r] >= 0:
            where.append(f"portfolio {self._pids[int(port[r])]!r}")
        if other[r] >= 0:
            if arg == "fills":
                where.append(f"instrument {self._iids[int(other[r])]!r}")
            else:
                where.append(f"currency {self._u.currencies[int(other[r])].as_py()!r}")
        at = f" ({', '.join(where)})" if where else ""
        raise ValidationError(f"{name} {vi.FILL_REASONS[code]}{at}; the batch was not applied", argument=arg, row=r,
                              hint="pass atomic=False to apply the other rows and get per-row rejections")
