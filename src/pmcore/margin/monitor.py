"""Margin level monitoring: thresholds, what crossed, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import from_arrow
from ..kernels import margin as km
from ..market import position_portfolio
from .state import MarginState

__all__ = ["MarginAlerts", "margin_alerts", "STATUSES"]

STATUSES = ("ok", "warning", "liquidation_risk", "liquidation")


def _pct(value: Any, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < np.inf):
        raise ValidationError("must be a margin level in percent", argument=arg, value=value,
                              expected="a finite number > 0 (150 means 150 %)")
    return float(value)


@dataclass(frozen=True, repr=False, eq=False)
class MarginAlerts:
    """Margin level of each margin account against the thresholds.

    Attributes
    ----------
    portfolio_ids : pyarrow.Array
    margin_level_pct : numpy.ndarray
    status : numpy.ndarray
        int8 index into :data:`STATUSES` (``status_names`` gives the strings).
    threshold_pct : numpy.ndarray
        The lowest threshold crossed (NaN when ``ok``).
    shortfall_pct : numpy.ndarray
        Threshold - level, in percentage points (0 when ``ok``).
    funds_needed : numpy.ndarray
        Deposit that brings the level back to the threshold crossed without
        closing anything: threshold / 100 x margin used - equity.
    level_after_pct : numpy.ndarray
        Level after closing the positions of the plan (``liquidation`` accounts).
    close_rank : numpy.ndarray
        int64 per position of the margin accounts (book order): 1, 2, ... in
        the order to close them, 0 to keep.
    positions_to_close : pyarrow.Table
        The plan: portfolio_id, instrument_id, rank, unrealized_pnl, initial_margin.
    """

    portfolio_ids: pa.Array
    margin_level_pct: np.ndarray
    status: np.ndarray
    threshold_pct: np.ndarray
    shortfall_pct: np.ndarray
    funds_needed: np.ndarray
    level_after_pct: np.ndarray
    close_count: np.ndarray
    close_rank: np.ndarray
    positions_to_close: pa.Table
    restore_pct: float
    kind: str

    @property
    def status_names(self) -> list[str]:
        return [STATUSES[s] for s in self.status]

    def actions(self) -> list[str]:
        """What to do, one sentence per account ("" when ok)."""
        out = []
        for s, thr, need, n_close, after in zip(self.status, self.threshold_pct, self.funds_needed,
                                                self.close_count, self.level_after_pct):
            if s == 0:
                out.append("")
            elif s == 1:
                out.append(f"below the {thr:g} % warning level: add {need:,.2f} or reduce positions")
            elif s == 2:
                out.append(f"liquidation risk below {thr:g} %: add {need:,.2f} or close positions")
            elif after >= self.restore_pct:
                out.append(f"close {n_close} position(s), most losing first, to get back to "
                           f"{after:,.1f} %, or add {need:,.2f}")
            else:
                out.append(f"closing every position does not restore {self.restore_pct:g} %: "
                           f"add {need:,.2f}")
        return out

    def to_arrow(self) -> pa.Table:
        """One row per margin account."""
        return pa.table({
            "portfolio_id": self.portfolio_ids,
            "margin_level_pct": self.margin_level_pct,
            "status": pa.array(self.status_names, pa.string()),
            "threshold_pct": pa.array(self.threshold_pct, from_pandas=True),
            "shortfall_pct": self.shortfall_pct,
            "funds_needed": self.funds_needed,
            "positions_to_close": self.close_count,
            "level_after_pct": self.level_after_pct,
            "action": pa.array(self.actions(), pa.string()),
        })

    def to_polars(self):
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        return from_arrow(self.to_arrow(), "pandas")

    @property
    def frame(self):
        """:meth:`to_arrow` as the book's kind of frame."""
        return from_arrow(self.to_arrow(), self.kind)

    def __repr__(self) -> str:
        flagged = np.flatnonzero(self.status > 0)
        if not len(flagged):
            return f"MarginAlerts({len(self.status)} accounts, all ok)"
        ids = self.portfolio_ids.to_pylist()
        actions = self.actions()
        lines = [f"MarginAlerts({len(self.status)} accounts, {len(flagged)} flagged)"]
        for j in flagged[:5]:
            lines.append(f"  {ids[j]}: {STATUSES[self.status[j]]} at "
                         f"{self.margin_level_pct[j]:,.1f} % - {actions[j]}")
        if len(flagged) > 5:
            lines.append("  ...")
        return "\n".join(lines)


def margin_alerts(
    state: MarginState,
    /,
    *,
    warning_pct: float = 200.0,
    risk_pct: float = 150.0,
    liquidation_pct: float = 110.0,
    restore_pct: float | None = None,
) -> MarginAlerts:
    """Check every margin account's level against the thresholds and plan the way back.

    Parameters
    ----------
    state : MarginState
        From :func:`margin_state`.
    warning_pct, risk_pct, liquidation_pct : float, keyword-only
        Margin level thresholds in percent (defaults 200, 150, 110), decreasing.
    restore_pct : float, keyword-only
        Level the close plan gets back to (default ``liquidation_pct``).

    Returns
    -------
    MarginAlerts
        Status per account (``ok``, ``warning``, ``liquidation_risk``,
        ``liquidation``), threshold crossed, shortfall, funds needed, the
        positions to close and a sentence saying what to do.

    Notes
    -----
    Margin level :math:`\\ell = 100 \\cdot E / U` with equity :math:`E` and
    margin used :math:`U`. Below threshold :math:`\\tau` the deposit that
    restores it is :math:`\\tau U / 100 - E`. Below ``liquidation_pct``
    positions are closed in order of unrealized PnL (most losing first):
    closing one realizes its PnL (equity unchanged) and frees its initial
    margin :math:`IM_k`, so after closing a set :math:`S` the level is
    :math:`100 E / (U - \\sum_{k \\in S} IM_k)`; the plan stops as soon as it
    reaches ``restore_pct``. Accounts without positions are ``ok``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.margin import margin_state, margin_alerts
    >>> positions = pa.table({"portfolio_id": ["F", "F"], "instrument_id": ["A", "B"],
    ...                       "quantity": [10.0, 10.0], "avg_price": [100.0, 100.0]})
    >>> instruments = pa.table({"instrument_id": ["A", "B"], "currency": ["USD", "USD"]})
    >>> cash = pa.table({"portfolio_id": ["F"], "currency": ["USD"], "amount": [350.0]})
    >>> prices = {"instrument_id": ["A", "B"], "price": [80.0, 100.0]}
    >>> st = margin_state(positions, prices, instruments=instruments, cash=cash,
    ...                   accounts={"F": "margin"}, leverage=10)
    >>> alerts = margin_alerts(st)
    >>> alerts.status_names, round(float(alerts.margin_level_pct[0]), 1)
    (['liquidation'], 83.3)
    >>> alerts.positions_to_close.column("instrument_id").to_pylist()
    ['A']
    >>> print(alerts.actions()[0])
    close 1 position(s), most losing first, to get back to 150.0 %, or add 48.00
    """
    if not isinstance(state, MarginState):
        raise ValidationError("must be a MarginState", argument="state", value=type(state).__name__,
                              hint="compute it with pmcore.margin.margin_state(...)")
    warn = _pct(warning_pct, "warning_pct")
    risk = _pct(risk_pct, "risk_pct")
    liq = _pct(liquidation_pct, "liquidation_pct")
    if not warn > risk > liq:
        raise ValidationError("thresholds must decrease", argument="risk_pct",
                              value=(warn, risk, liq),
                              expected="warning_pct > risk_pct > liquidation_pct")
    restore = liq if restore_pct is None else _pct(restore_pct, "restore_pct")
    bk = state.book
    acc = state.account_matrix_
    level = acc[:, km.LEVEL]
    status = np.zeros(bk.n_portfolios, np.int8)
    status[level < warn] = 1
    status[level < risk] = 2
    status[level < liq] = 3
    status[~bk.is_margin] = 0
    thr = np.array([np.nan, warn, risk, liq])[status]
    shortfall = np.where(status > 0, np.nan_to_num(thr) - level, 0.0)
    funds = np.where(status > 0, np.nan_to_num(thr) / 100.0 * acc[:, km.USED] - acc[:, km.EQUITY], 0.0)
    rank = np.zeros(bk.n_positions, np.int64)
    after = np.empty(bk.n_portfolios)
    pm_ = state.position_matrix_
    km.close_plan(bk.offsets, np.ascontiguousarray(pm_[:, km.UPNL]),
                  np.ascontiguousarray(pm_[:, km.INITIAL]), acc[:, km.EQUITY], acc[:, km.USED],
                  restore, status == 3, rank, after)
    pcode = position_portfolio(bk)
    close_count = np.bincount(pcode[rank > 0], minlength=bk.n_portfolios)
    sel = np.flatnonzero(rank > 0)
    sel = sel[np.lexsort((rank[sel], pcode[sel]))]
    plan = pa.table({
        "portfolio_id": bk.portfolio_ids.take(pcode[sel]),
        "instrument_id": bk.instrument_ids.take(bk.instrument[sel]),
        "rank": rank[sel],
        "unrealized_pnl": pm_[sel, km.UPNL],
        "initial_margin": pm_[sel, km.INITIAL],
    })
    a, pr = state.accounts_index, state.positions_index
    return MarginAlerts(
        portfolio_ids=state.portfolio_ids, margin_level_pct=level[a], status=status[a],
        threshold_pct=thr[a], shortfall_pct=shortfall[a], funds_needed=funds[a],
        level_after_pct=after[a], close_count=close_count[a], close_rank=rank[pr],
        positions_to_close=plan, restore_pct=restore, kind=bk.kind,
    )
