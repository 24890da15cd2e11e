"""The impact report of a batch: values before and after, positions and exposure groups that moved."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa

from ..kernels import state as ks
from ..kernels import valuation as kv
from ..valuation import revalue
from . import inputs as vi
from .events import PortfolioStateUpdated
from .impact import BatchImpact, ExposureChange, PositionChange, changes_table

__all__ = ["BatchReportMixin"]


class BatchReportMixin:
    """Builds :class:`~pmcore.state.BatchImpact` reports and the events of a batch."""

    def _finish(self, kind, seq, n, status, raw_ids, after, t0, report) -> BatchImpact:
        if seq:
            self._journal_wait(seq)
        rejected = (status != ks.OK) & (status != ks.IGNORED)
        rows = np.flatnonzero(rejected)
        n_ignored = int(np.count_nonzero(status == ks.IGNORED))
        rej = pa.table({
            "row": pa.array(rows, pa.int64()),
            "id": pa.array([None if raw_ids is None else str(raw_ids[int(r)].as_py()) for r in rows], pa.string()),
            "reason": pa.array([vi.FILL_REASONS[int(status[r])] for r in rows], pa.string()),
        })
        empty = pa.table({})
        ports, pos, exp = after if after is not None else (empty, empty, empty)
        if after is not None and self._subs:
            self._deliver(kind, seq, ports, pos, exp)
        if not report:
            ports, pos, exp = empty, empty, empty
        n_applied = n - len(rows) - n_ignored
        return BatchImpact(n_applied, len(rows), n_ignored, seq, ports, pos, exp, rej,
                           (time.perf_counter_ns() - t0) / 1000.0, self._u.kind)

    def _snapshot_values(self, port: np.ndarray):
        """Values (and group exposures) of the portfolios in ``port`` before a batch."""
        counts = np.bincount(port, minlength=self._core.n_p) if len(port) else np.zeros(self._core.n_p, np.int64)
        aff = np.flatnonzero(counts)
        return (aff,) + self._values_of(aff)

    def _values_of(self, aff: np.ndarray):
        core = self._core
        book, _ = core.book(self._u, aff)
        val = revalue(book, core.prices, core.fx)
        realized = self._realized_base(aff)
        groups = []
        scale = core.scale()
        for g in range(len(self._group_names)):
            off, grp, v, _ = kv.group_exposures(book.offsets, book.instrument, book.quantity, book.avg_price,
                                                core.prices, scale,
                                             self._group_codes[g], int(self._n_groups[g]))
            local = np.repeat(np.arange(len(aff)), np.diff(off))
            groups.append((local * int(self._n_groups[g]) + grp, v[:, 0] - v[:, 1]))
        return val.equity.copy(), val.cash.copy(), realized, groups

    def _realized_base(self, aff: np.ndarray) -> np.ndarray:
        core = self._core
        n = core.n_slots
        port = core.s_int[0, :n]
        fx = core.fx[core.inst_ccy[core.s_int[1, :n]]]
        tot = np.bincount(port, weights=core.s_num[:n, 2] * fx, minlength=core.n_p)
        return tot[aff]

    def _after(self, before, touched):
        """Impact tables of a batch from the values ``before`` and the touched slots."""
        aff, eq0, cash0, real0, groups0 = before
        eq1, cash1, real1, groups1 = self._values_of(aff)
        pid = self._u.portfolio_ids.take(pa.array(aff, pa.int64()))
        ports = pa.table({
            "portfolio_id": pid, "value_before": eq0, "value_after": eq1, "value_change": eq1 - eq0,
            "cash_impact": cash1 - cash0, "realized_pnl": real1 - real0,
        })
        pos = self._position_changes(touched, aff, eq0, eq1)
        exp = self._exposure_changes(aff, eq0, eq1, groups0, groups1)
        return ports, pos, exp

    def _position_changes(self, touched, aff, eq0, eq1) -> pa.Table:
        """One row per touched slot: quantities, costs, realized PnL, status and weights before and after.

        Weights are position market value (base currency) over portfolio
        equity, as in :class:`~pmcore.state.FillImpact`.
        """
        core = self._core
        if touched is None:
            slots, before = np.zeros(0, np.int64), np.zeros((0, 4))
        else:
            slots, before = touched
        order = np.lexsort((core.s_int[1, slots], core.s_int[0, slots]))
        slots, before = slots[order], before[order]
        p = core.s_int[0, slots]
        i = core.s_int[1, slots]
        q0 = np.nan_to_num(before[:, 0], nan=0.0)
        q1 = core.s_num[slots, 0]
        unit = core.prices[i] * core.scale()[i]
        local = np.searchsorted(aff, p)
        with np.errstate(divide="ignore", invalid="ignore"):
            w0 = np.where(q0 != 0, q0 * unit, 0.0) / eq0[local] if len(aff) else np.zeros(0)
            w1 = np.where(q1 != 0, q1 * unit, 0.0) / eq1[local] if len(aff) else np.zeros(0)
        return pa.table({
            "portfolio_id": self._u.portfolio_ids.take(pa.array(p, pa.int64())),
            "instrument_id": self._u.instrument_ids.take(pa.array(i, pa.int64())),
            "quantity_before": q0, "quantity": core.s_num[slots, 0].copy(),
            "avg_price_before": before[:, 1], "avg_price": core.s_num[slots, 1].copy(),
            "realized_pnl": core.s_num[slots, 2] - before[:, 2],
            "status": pa.array(np.asarray(ks.STATUS_NAMES, object)[core.s_status[slots]].tolist(), pa.string()),
            "weight_before": w0, "weight_after": w1, "weight_change": w1 - w0,
        })

    def _exposure_changes(self, aff, eq0, eq1, groups0, groups1) -> pa.Table:
        parts = []
        for g, name in enumerate(self._group_names):
            k0, v0 = groups0[g]
            k1, v1 = groups1[g]
            keys = np.union1d(k0, k1)
            a = np.zeros(len(keys))
            b = np.zeros(len(keys))
            a[np.searchsorted(keys, k0)] = v0
            b[np.searchsorted(keys, k1)] = v1
            changed = a != b
            keys, a, b = keys[changed], a[changed], b[changed]
            ng = int(self._n_groups[g])
            local, grp = keys // ng, keys % ng
            with np.errstate(divide="ignore", invalid="ignore"):
                old = 100.0 * a / eq0[local]
                new = 100.0 * b / eq1[local]
                lim = self._limits[g, grp]
                util = b / (eq1[local] * lim)
            labels = pa.array(self._group_labels[g]).cast(pa.string()) if ng else pa.array([], pa.string())
            parts.append(pa.table({
                "portfolio_id": self._u.portfolio_ids.take(pa.array(aff[local], pa.int64())),
                "column": pa.array([name] * len(keys), pa.string()),
                "group": labels.take(pa.array(grp, pa.int64())),
                "old_pct": old, "new_pct": new, "change": new - old,
                "limit_pct": pa.array(100.0 * lim, pa.float64(), from_pandas=True),
                "utilization": pa.array(util, pa.float64(), from_pandas=True),
            }))
        if not parts:
            return changes_table([], ExposureChange)
        return pa.concat_tables(parts)

    def _deliver(self, kind, seq, ports, pos, exp) -> None:
        subs = self._subs
        ts = self._clock
        pos_rows = pos.to_pylist() if pos.num_rows else []
        exp_rows = exp.to_pylist() if exp.num_rows else []
        by_pos: dict = {}
        for r in pos_rows:
            fields = {k: v for k, v in r.items() if not k.startswith("weight_")}
            by_pos.setdefault(r["portfolio_id"], []).append(PositionChange(**fields))
        by_exp: dict = {}
        for r in exp_rows:
            by_exp.setdefault(r["portfolio_id"], []).append(ExposureChange(**r))
        events = []
        for row in ports.to_pylist():
            pid = row.pop("portfolio_id")
            if subs.wants(pid):
                events.append(PortfolioStateUpdated(pid, seq, ts, kind, row, tuple(by_pos.get(pid, ())),
                                                    tuple(by_exp.get(pid, ()))))
        subs.deliver(events)
