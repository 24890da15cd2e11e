"""Cash flows, price and fx updates, and position status changes of a portfolio state."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..kernels import state as ks
from . import inputs as vi
from . import replay as rp
from .impact import BatchImpact

__all__ = ["FlowsMixin"]


class FlowsMixin:
    """Deposits, withdrawals and other cash flows; market data updates; SUSPENDED / PENDING / ACTIVE."""

    def apply_cash_flows(self, flows: Any, /, *, atomic: bool = True, report: bool = True) -> BatchImpact:
        """Apply deposits, withdrawals, fees, funding, dividends and interest.

        Parameters
        ----------
        flows : frame
            Columns ``portfolio_id``, ``amount``; optional ``currency``
            (default the base currency), ``flow_type`` (default
            ``"deposit"``), ``timestamp`` (default now) and ``flow_id`` (int or
            string, idempotent like a fill id). Deposit, withdrawal and fee
            amounts are > 0 (withdrawals and fees take cash out); funding,
            dividend and interest amounts are signed (> 0 received).
        atomic, report : bool, keyword-only
            As for :meth:`apply_fills`. A withdrawal larger than the available
            cash (balance - locked) of its currency is rejected.

        Returns
        -------
        BatchImpact

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [1.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> r = state.apply_cash_flows({"portfolio_id": ["A", "A"], "amount": [100.0, 30.0],
        ...                             "flow_type": ["deposit", "withdrawal"]})
        >>> r.portfolios.select(["portfolio_id", "cash_impact"]).to_pylist()
        [{'portfolio_id': 'A', 'cash_impact': 70.0}]
        >>> state.apply_cash_flows({"portfolio_id": ["A"], "amount": [500.0], "flow_type": ["withdrawal"]})
        Traceback (most recent call last):
        ...
        pmcore.errors.ValidationError: cash_flows: row 0: cash flow withdrawal larger than available cash (portfolio 'A', currency 'USD'); the batch was not applied. Hint: pass atomic=False to apply the other rows and get per-row rejections
        """
        t0 = time.perf_counter_ns()
        table = vi.frame(flows, "cash_flows", ("portfolio_id", "amount"))
        n = table.num_rows
        core, u = self._core, self._u
        int_ids, str_ids, raw_ids = vi.fill_ids(table, "cash_flows", "flow_id", required=False)
        port, _ = vi.codes(table, "cash_flows", "portfolio_id", u.portfolio_ids)
        ccy, _ = vi.codes(table, "cash_flows", "currency", u.currencies.cast(pa.string()),
                          default=np.zeros(n, np.int32))
        amount = vi._numbers(table, "amount", None, "cash_flows")
        ftype = vi.enum_codes(table, "cash_flows", "flow_type", ks.FLOW_TYPES, 0)
        ts = vi.timestamps(table, "cash_flows")
        positive = (ftype >= 0) & (ftype <= 2)
        with np.errstate(invalid="ignore"):
            checks = [(vi.R_PORTFOLIO, port < 0), (vi.R_CCY, ccy < 0), (vi.R_FLOW, ftype < 0),
                      (vi.R_AMOUNT, ~np.isfinite(amount) | (positive & ~(amount > 0)))]
        if int_ids is not None:
            checks.append((vi.R_ID, int_ids == vi.INT64_MIN))
        status = np.zeros(n, np.int8)
        for code, m in reversed(checks):
            status[m] = code
        signed = np.where((ftype == 1) | (ftype == 2), -amount, amount)
        with self._lock:
            self._writable()
            self._flow_duplicates(int_ids, str_ids, status)
            if atomic:
                self._raise_first(status, raw_ids, "cash_flows", port, ccy)
            self._maybe_daily(int(ts.max()) if n else 0)
            want = report or bool(self._subs)
            before = self._snapshot_values(port[status == ks.OK]) if want else None
            bad = core.apply_cash(port, ccy.astype(np.int32, copy=False), signed, ftype == 1, status, ftype,
                                  atomic=atomic)
            if bad >= 0:
                self._raise_first(status, raw_ids, "cash_flows", port, ccy)
            ok = status == ks.OK
            seq = 0
            if ok.any():
                if int_ids is not None:
                    core.add_ids(int_ids[ok])
                elif str_ids is not None:
                    core.str_ids.update(x for x, k in zip(str_ids, ok) if k)
                self._clock = max(self._clock, int(ts[ok].max()))
                if self._journal is not None:
                    ids = raw_ids.filter(pa.array(ok)) if raw_ids is not None else pa.nulls(int(ok.sum()), pa.int64())
                    seq = self._append("cash_flows", rp.cash_batch(
                        ids, ts[ok], port[ok], ccy[ok].astype(np.int32), signed[ok], ftype[ok]))
                    self._sequence = seq
            after = self._after(before, None) if want else None
        return self._finish("cash_flows", seq, n, status, raw_ids, after, t0, report)

    def _flow_duplicates(self, int_ids, str_ids, status) -> None:
        ignore = self._duplicates == "ignore"
        code = ks.IGNORED if ignore else ks.REJ_DUPLICATE
        if str_ids is not None:
            self._str_duplicates(str_ids, status)
        elif int_ids is not None:
            seen = self._core.seen(int_ids)
            batch: set = set()
            for r in range(len(int_ids)):
                if status[r] != ks.OK:
                    continue
                if seen[r] or int_ids[r] in batch:
                    status[r] = code
                else:
                    batch.add(int_ids[r])

    def apply_cash_flow(self, portfolio_id: Any, amount: float, /, *, currency: str | None = None,
                        flow_type: str = "deposit", timestamp: Any = None, flow_id: Any = None) -> BatchImpact:
        """Apply one cash flow (see :meth:`apply_cash_flows`).

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [1.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> state.apply_cash_flow("A", 250.0, flow_type="deposit").portfolios.column("value_after").to_pylist()
        [260.0]
        """
        cols = {"portfolio_id": [portfolio_id], "amount": [float(amount)],
                "currency": [currency or self._u.base_currency], "flow_type": [flow_type],
                "timestamp": pa.array([vi.to_ns(timestamp)], pa.int64())}
        if flow_id is not None:
            cols["flow_id"] = [flow_id]
        return self.apply_cash_flows(pa.table(cols))

    # ------------------------------------------------------------------ market data, status
    def update_prices(self, prices: Any = None, fx: Any = None, /, *, timestamp: Any = None,
                      report: bool = True) -> BatchImpact:
        """Set new prices and/or fx rates; positions are revalued, no fill is booked.

        Parameters
        ----------
        prices : frame, mapping or None
            Columns ``instrument_id``, ``price`` (> 0), or a mapping
            ``{instrument_id: price}``; only the instruments given change.
        fx : frame, mapping or None
            Columns ``currency``, ``rate`` (> 0) or a mapping; the base
            currency's rate stays 1.
        timestamp : keyword-only
            Time of the update (default now).

        Returns
        -------
        BatchImpact
            Value changes of every portfolio holding a repriced instrument
            (or any position or cash in a currency whose rate moved).

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> state.update_prices({"X": 12.5}).portfolios.column("value_change").to_pylist()
        [5.0]
        """
        t0 = time.perf_counter_ns()
        u, core = self._u, self._core
        ts = vi.to_ns(timestamp)
        p_idx, p_val = self._market_input(prices, "prices", "instrument_id", "price", u.instrument_ids)
        f_idx, f_val = self._market_input(fx, "fx", "currency", "rate", u.currencies.cast(pa.string()))
        if len(f_idx) and np.any((f_idx == 0) & (f_val != 1.0)):
            raise ValidationError(f"gives the base currency {u.base_currency!r} a rate other than 1", argument="fx",
                                  expected="1.0")
        with self._lock:
            self._writable()
            self._maybe_daily(ts)
            n = core.n_slots
            hit = np.isin(core.s_int[1, :n], p_idx) | np.isin(core.inst_ccy[core.s_int[1, :n]], f_idx)
            hit &= core.s_status[:n] != ks.CLOSED
            aff_ports = core.s_int[0, :n][hit]
            if len(f_idx):
                cash_hit = np.flatnonzero((core.cash[:, f_idx, 0] != 0).any(axis=1)).astype(np.int32)
                aff_ports = np.concatenate([aff_ports, cash_hit])
            want = report or bool(self._subs)
            before = self._snapshot_values(aff_ports) if want else None
            core.prices[p_idx] = p_val
            core.fx[f_idx] = f_val
            core.version += 1
            self._scale = core.scale()
            self._clock = max(self._clock, ts)
            seq = 0
            if self._journal is not None:
                if len(p_idx):
                    seq = self._append("prices", rp.market_batch(np.full(len(p_idx), ts), p_idx, p_val))
                if len(f_idx):
                    seq = self._append("fx", rp.market_batch(np.full(len(f_idx), ts), f_idx, f_val))
                self._sequence = seq or self._sequence
            after = self._after(before, None) if want else None
        status = np.zeros(len(p_idx) + len(f_idx), np.int8)
        return self._finish("prices", seq, len(status), status, None, after, t0, report)

    def _market_input(self, obj, arg, key, val, dictionary):
        if obj is None:
            return np.zeros(0, np.int32), np.zeros(0)
        if isinstance(obj, Mapping) and not any(isinstance(v, (list, tuple, np.ndarray, pa.Array)) for v in obj.values()):
            obj = {key: list(obj.keys()), val: [float(x) for x in obj.values()]}
        table = vi.frame(obj, arg, (key, val))
        codes, ids = vi.codes(table, arg, key, dictionary)
        if len(codes) and codes.min() < 0:
            r = int(np.flatnonzero(codes < 0)[0])
            raise ValidationError("names an id that is not in the state's book", argument=arg, column=key, row=r,
                                  value=ids[r].as_py())
        from ..frames import float_column

        values = float_column(table, arg, val, positive=True)
        from ..book import _check_unique

        _check_unique(ids, arg, key)
        return codes.astype(np.int32), values

    def set_status(self, portfolio_id: Any, instrument_id: Any, status: str, /, *, timestamp: Any = None) -> None:
        """Set a position's status: ``"SUSPENDED"`` (fills rejected), ``"ACTIVE"`` (resume), ``"PENDING"``.

        ``"PENDING"`` marks a position expected but not yet filled (quantity
        0); its first fill makes it ACTIVE. ``"ACTIVE"`` resumes a suspended
        position (CLOSED if flat). CLOSED is set by fills only.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> state.set_status("A", "X", "SUSPENDED")
        >>> state.positions().column("status").to_pylist()
        ['SUSPENDED']
        """
        p = self._pidx.get(portfolio_id, -1)
        i = self._iidx.get(instrument_id, -1)
        if p < 0 or i < 0:
            raise ValidationError("names an unknown portfolio or instrument", argument="set_status",
                                  value=(portfolio_id, instrument_id))
        if status not in ("ACTIVE", "PENDING", "SUSPENDED"):
            raise ValidationError("is not a status that can be set", argument="status", value=status,
                                  expected="'ACTIVE', 'PENDING' or 'SUSPENDED'")
        code = ks.STATUS_NAMES.index(status)
        ts = vi.to_ns(timestamp)
        with self._lock:
            self._writable()
            core = self._core
            s = core.slot_of(p, i)
            if status == "PENDING" and s >= 0 and core.s_num[s, 0] != 0.0:
                raise ValidationError("cannot be PENDING: the position is held", argument="status", value=status,
                                      expected="a flat position")
            core.set_status(p, i, code)
            self._clock = max(self._clock, ts)
            seq = 0
            if self._journal is not None:
                seq = self._append("status", rp.status_batch(ts, p, i, code))
                self._sequence = seq
        if seq:
            self._journal_wait(seq)
