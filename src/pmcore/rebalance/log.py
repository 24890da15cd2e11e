"""Rebalancing log: what was planned, what was filled, where it left the accounts, how to finish or undo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import encode, float_column, from_arrow, id_column, require_columns, to_arrow
from .trades import ACCOUNT_STATUSES, TRADE_REASONS, TradeList
from .triggers import TriggerDecision

__all__ = ["RebalanceLog", "rebalance_log", "FILL_STATUSES"]

FILL_STATUSES = ("skipped", "filled", "partial", "failed")
_SKIPPED, _FILLED, _PARTIAL, _FAILED = range(4)


def _sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(index, weights=values, minlength=n) if len(index) else np.zeros(n)


@dataclass(frozen=True, repr=False, eq=False)
class RebalanceLog:
    """The record of one rebalance of many accounts.

    Attributes
    ----------
    plan : TradeList
        The trades planned.
    filled, fill_price, cost : numpy.ndarray
        float64[n_trades]: quantity filled (signed), average fill price and
        actual cost of each planned trade.
    fill_status : numpy.ndarray
        int8[n_trades]: index into :data:`FILL_STATUSES`.
    weight_after, drift_after : numpy.ndarray
        float64[n_rows]: per drift row, the weight and drift after the fills.
    value_after, cash_after : numpy.ndarray
        float64[n_accounts]: value and cash after the fills.
    starting_drift, remaining_drift, efficiency : numpy.ndarray
        float64[n_accounts]: total absolute drift before and after, and
        remaining / starting (0: back on target; 1: no better; NaN: no drift).
    reasons : list of str or None
        Why each account was rebalanced (from the trigger decision, if given).
    """

    plan: TradeList
    filled: np.ndarray
    fill_price: np.ndarray
    cost: np.ndarray
    fill_status: np.ndarray
    weight_after: np.ndarray
    drift_after: np.ndarray
    value_after: np.ndarray
    cash_after: np.ndarray
    starting_drift: np.ndarray
    remaining_drift: np.ndarray
    efficiency: np.ndarray
    reasons: list | None = None

    @property
    def complete(self) -> bool:
        """True when every planned trade was filled in full."""
        return bool((self.fill_status[self.plan.quantity != 0] == _FILLED).all())

    def _ids(self, rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
        d = self.plan.drift
        acc = d.row_account()[rows] if len(rows) else np.zeros(0, np.int64)
        return (d.portfolio_ids.take(pa.array(acc, pa.int64())),
                d.keys.take(pa.array(d.code[rows].astype(np.int64))))

    def _trade_table(self, quantity: np.ndarray, price: np.ndarray, label: str, wave: np.ndarray) -> pa.Table:
        keep = quantity != 0
        pid, iid = self._ids(self.plan.rows[keep])
        q = quantity[keep]
        return pa.table({
            "portfolio_id": pid, "instrument_id": iid,
            "side": pa.array(np.where(q > 0, "buy", "sell"), pa.string()),
            "quantity": q, "price": price[keep], "notional": np.abs(q) * price[keep],
            "wave": wave[keep], "reason": pa.array([label] * int(keep.sum()), pa.string()),
        })

    def _waves(self, quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Sells first; buys wait for them where the cash after the fills does not cover the buys."""
        acc = self.plan.drift.row_account()[self.plan.rows]
        n_p = self.plan.drift.n_accounts
        buys = _sum_by(acc, np.where(quantity > 0, quantity * price, 0.0), n_p)
        short = self.cash_after < buys
        return np.where(quantity < 0, 1, np.where(quantity > 0, np.where(short[acc], 2, 1), 0)).astype(np.int8)

    def finish(self) -> Any:
        """The trades still to do (planned - filled), as a trade frame in the caller's kind."""
        rest = self.plan.quantity - self.filled
        px = self.plan.drift.price[self.plan.drift.code[self.plan.rows]]
        t = self._trade_table(rest, px, "finish", self._waves(rest, px))
        return from_arrow(t, self.plan.drift.kind)

    def rollback(self) -> Any:
        """The trades that undo the fills (the reverse of each fill), in the caller's kind."""
        back = -self.filled
        t = self._trade_table(back, self.fill_price, "roll back", self._waves(back, self.fill_price))
        return from_arrow(t, self.plan.drift.kind)

    def to_arrow(self, level: str = "accounts") -> pa.Table:
        """``"accounts"`` (one row each), ``"trades"`` (planned vs filled) or ``"allocation"`` (before/after)."""
        d = self.plan.drift
        if level == "accounts":
            st = self.fill_status
            acc = d.row_account()[self.plan.rows] if len(self.plan.rows) else np.zeros(0, np.int64)
            n_p = d.n_accounts
            cols = {
                "portfolio_id": d.portfolio_ids,
                "status": pa.DictionaryArray.from_arrays(pa.array(self.plan.status),
                                                         pa.array(ACCOUNT_STATUSES)),
                "reason": pa.array(self.reasons, pa.string()) if self.reasons is not None
                else pa.nulls(n_p, pa.string()),
                "value_before": d.value, "value_after": self.value_after,
                "cash_before": d.cash, "cash_after": self.cash_after,
                "estimated_cost": np.nan_to_num(self.plan.estimated_cost),
                "actual_cost": _sum_by(acc, self.cost, n_p),
                "trades": _sum_by(acc, (self.plan.quantity != 0).astype(float), n_p).astype(np.int64),
                "filled": _sum_by(acc, (st == _FILLED).astype(float), n_p).astype(np.int64),
                "partial": _sum_by(acc, (st == _PARTIAL).astype(float), n_p).astype(np.int64),
                "failed": _sum_by(acc, (st == _FAILED).astype(float), n_p).astype(np.int64),
                "starting_drift": self.starting_drift, "remaining_drift": self.remaining_drift,
                "efficiency": self.efficiency,
            }
            return pa.table(cols)
        if level == "trades":
            pid, iid = self._ids(self.plan.rows)
            return pa.table({
                "portfolio_id": pid, "instrument_id": iid,
                "planned_quantity": self.plan.quantity, "filled_quantity": self.filled,
                "remaining_quantity": self.plan.quantity - self.filled,
                "fill_price": self.fill_price, "estimated_cost": self.plan.cost.sum(axis=1),
                "actual_cost": self.cost,
                "status": pa.DictionaryArray.from_arrays(pa.array(self.fill_status), pa.array(FILL_STATUSES)),
                "reason": pa.DictionaryArray.from_arrays(pa.array(self.plan.reason), pa.array(TRADE_REASONS)),
            })
        if level == "allocation":
            rows = np.arange(len(d.code))
            pid, iid = self._ids_all(rows)
            return pa.table({
                "portfolio_id": pid, "instrument_id": iid, "target_weight": d.target_weight,
                "weight_before": d.current_weight, "weight_after": self.weight_after,
                "drift_before": d.drift, "drift_after": self.drift_after,
            })
        raise ValidationError("is not a level", argument="level", value=level,
                              expected="'accounts', 'trades' or 'allocation'")

    def _ids_all(self, rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
        d = self.plan.drift
        return (d.portfolio_ids.take(pa.array(d.row_account(), pa.int64())),
                d.keys.take(pa.array(d.code.astype(np.int64))))

    def to_polars(self, level: str = "accounts"):
        return from_arrow(self.to_arrow(level), "polars")

    def to_pandas(self, level: str = "accounts"):
        return from_arrow(self.to_arrow(level), "pandas")

    def to_frame(self, level: str = "accounts"):
        return from_arrow(self.to_arrow(level), self.plan.drift.kind)

    def __repr__(self) -> str:
        counts = np.bincount(self.fill_status[self.plan.quantity != 0].astype(np.int64), minlength=4)
        traded = self.plan.status == 0
        eff = float(np.nanmean(self.efficiency[traded])) if traded.any() else float("nan")
        return (f"RebalanceLog({int(traded.sum())} accounts traded; {counts[_FILLED]} filled, "
                f"{counts[_PARTIAL]} partial, {counts[_FAILED]} failed; mean efficiency {eff:.3f})")


def rebalance_log(plan: TradeList, fills: Any = None, /, *, decision: TriggerDecision | None = None) -> RebalanceLog:
    """Log a rebalance: planned vs filled trades, allocation before and after, costs, efficiency.

    Parameters
    ----------
    plan : TradeList
        From :func:`pmcore.rebalance.trade_list`.
    fills : frame or None
        Executions: ``portfolio_id``, ``instrument_id``, signed
        ``filled_quantity`` and optional ``fill_price`` (default: the planned
        price) and ``cost`` (default: the estimate, in proportion to the part
        filled). Several fills of one trade are summed (price volume-weighted).
        A planned trade without fills failed. None: everything filled as planned.
    decision : TriggerDecision, keyword-only
        Adds each account's trigger reason to the log.

    Returns
    -------
    RebalanceLog
        ``.to_frame("accounts" | "trades" | "allocation")``, ``.finish()`` and
        ``.rollback()``.

    Raises
    ------
    ValidationError
        A fill for a trade not in the plan, against its side, or larger than
        planned; a fill price <= 0 (naming account and asset).

    Notes
    -----
    After the fills, account :math:`p` holds :math:`q_i + f_i` and cash
    :math:`C - \\sum_i f_i P^{fill}_i - \\sum_i c_i`; weights use the plan's
    prices (so that market moves do not count as drift). With the total
    drift :math:`D = \\sum_i |w_i - t_i|` (cash included),

    .. math::

        \\text{efficiency} = D_\\text{after} / D_\\text{before}

    is 0 for an account put back on target and 1 for one left where it was.
    :meth:`RebalanceLog.finish` lists :math:`\\Delta_i - f_i` (sells in the
    first wave); :meth:`RebalanceLog.rollback` lists :math:`-f_i` at the fill
    prices.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.rebalance import drift, trade_list, rebalance_log
    >>> pos = pa.table({"portfolio_id": ["A", "A"], "instrument_id": ["SPY", "AGG"],
    ...                 "quantity": [120.0, 300.0]})
    >>> prices = pa.table({"instrument_id": ["SPY", "AGG"], "price": [600.0, 100.0]})
    >>> d = drift(pos, pa.table({"instrument_id": ["SPY", "AGG"], "target_weight": [0.6, 0.4]}),
    ...           prices=prices, cash=pa.table({"portfolio_id": ["A"], "amount": [3000.0]}))
    >>> plan = trade_list(d)                      # sell 15 SPY, buy 120 AGG
    >>> fills = pa.table({"portfolio_id": ["A", "A"], "instrument_id": ["SPY", "AGG"],
    ...                   "filled_quantity": [-15.0, 60.0]})
    >>> log = rebalance_log(plan, fills)          # half the AGG order filled
    >>> # drift before: SPY +8.57, AGG -11.43, cash +2.86 pp (22.86); after: 0, -5.71, +5.71 (11.43)
    >>> round(float(log.efficiency[0]), 4)
    0.5
    >>> log.finish().select(["instrument_id", "quantity"]).to_pylist()
    [{'instrument_id': 'AGG', 'quantity': 60.0}]
    >>> log.rollback().select(["instrument_id", "quantity", "price"]).to_pylist()[1]
    {'instrument_id': 'AGG', 'quantity': -60.0, 'price': 100.0}
    """
    if not isinstance(plan, TradeList):
        raise ValidationError("is not a TradeList", argument="plan", value=type(plan).__name__)
    d = plan.drift
    n_t = len(plan.rows)
    plan_px = d.price[d.code[plan.rows]] if n_t else np.zeros(0)
    est = plan.cost.sum(axis=1) if n_t else np.zeros(0)
    if fills is None:
        filled, price, cost = plan.quantity.copy(), plan_px.copy(), est.copy()
    else:
        filled, price, cost = _match_fills(plan, fills, plan_px, est)
    status = np.full(n_t, _SKIPPED, np.int8)
    live = plan.quantity != 0
    status[live & (filled == plan.quantity)] = _FILLED
    status[live & (filled == 0)] = _FAILED
    status[live & (filled != 0) & (filled != plan.quantity)] = _PARTIAL

    n_p = d.n_accounts
    row_acc = d.row_account()
    acc = row_acc[plan.rows] if n_t else np.zeros(0, np.int64)
    qty = d.quantity.copy()
    qty[plan.rows] += filled
    cash_after = d.cash - _sum_by(acc, filled * price + cost, n_p)
    is_cash = d.code == d.cash_code
    qty[is_cash] = cash_after[row_acc[is_cash]]
    val_rows = qty * d.price[d.code]
    value_after = _sum_by(row_acc, val_rows, n_p)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_after = np.where(value_after[row_acc] > 0, val_rows / value_after[row_acc], np.nan)
        drift_after = w_after - d.target_weight
        remaining = _sum_by(row_acc, np.abs(drift_after), n_p)
        eff = np.where(d.total_drift > 0, remaining / d.total_drift, np.nan)
    reasons = decision.reasons() if decision is not None else None
    if reasons is not None and len(reasons) != n_p:
        raise ValidationError("is for other accounts than the plan", argument="decision")
    return RebalanceLog(plan=plan, filled=filled, fill_price=price, cost=cost, fill_status=status,
                        weight_after=w_after, drift_after=drift_after, value_after=value_after,
                        cash_after=cash_after, starting_drift=d.total_drift.copy(), remaining_drift=remaining,
                        efficiency=eff, reasons=reasons)


def _match_fills(plan: TradeList, fills: Any, plan_px: np.ndarray, est: np.ndarray):
    d = plan.drift
    t = to_arrow(fills, "fills")
    require_columns(t, "fills", ["portfolio_id", "instrument_id", "filled_quantity"])
    fq = float_column(t, "fills", "filled_quantity")
    fp = float_column(t, "fills", "fill_price", default=np.nan) if "fill_price" in t.column_names \
        else np.full(t.num_rows, np.nan)
    fc = float_column(t, "fills", "cost", nonnegative=True) if "cost" in t.column_names else None
    pid = id_column(t, "fills", "portfolio_id")
    iid = id_column(t, "fills", "instrument_id")

    def where(row: int) -> str:
        return f"account {pid[row].as_py()!r}, instrument {iid[row].as_py()!r}"

    if "fill_price" in t.column_names and (fp <= 0).any():
        row = int(np.flatnonzero(fp <= 0)[0])
        raise ValidationError(f"holds a price <= 0 for {where(row)}", argument="fills", column="fill_price",
                              row=row, value=float(fp[row]), expected="a price > 0")
    pcode, _ = encode(pid.cast(d.portfolio_ids.type) if len(pid) else pid, d.portfolio_ids)
    icode, _ = encode(iid.cast(d.keys.type) if len(iid) else iid, d.keys)
    n_keys = max(len(d.keys), 1)
    plan_key = d.row_account()[plan.rows] * n_keys + d.code[plan.rows]
    lookup = {int(k): j for j, k in enumerate(plan_key)}
    trade = np.array([lookup.get(int(p) * n_keys + int(i), -1) if p >= 0 and i >= 0 else -1
                      for p, i in zip(pcode, icode)], np.int64)
    if (trade < 0).any():
        row = int(np.flatnonzero(trade < 0)[0])
        raise ValidationError(f"has a fill for a trade not in the plan ({where(row)})", argument="fills",
                              row=row, expected="fills of planned trades only")
    n_t = len(plan.rows)
    filled = _sum_by(trade, fq, n_t)
    px_known = np.where(np.isnan(fp), plan_px[trade] if len(trade) else 0.0, fp)
    with np.errstate(divide="ignore", invalid="ignore"):
        price = _sum_by(trade, fq * px_known, n_t) / filled
    price = np.where(filled != 0, price, plan_px)
    planned = plan.quantity
    wrong = (filled * planned < 0) | (np.abs(filled) > np.abs(planned) * (1 + 1e-9))
    if wrong.any():
        j = int(np.flatnonzero(wrong)[0])
        row = int(np.flatnonzero(trade == j)[0])
        raise ValidationError(f"fills more than planned, or on the other side, for {where(row)}",
                              argument="fills", column="filled_quantity", value=float(filled[j]),
                              expected=f"a quantity between 0 and {planned[j]:g}")
    if fc is not None:
        cost = _sum_by(trade, fc, n_t)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            cost = np.where(planned != 0, est * np.abs(filled) / np.abs(planned), 0.0)
    return filled, price, cost
