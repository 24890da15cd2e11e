"""Trade lists of many accounts: to target or to the band edge, within lots, cash and leverage limits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import encode, float_column, from_arrow, id_column, require_columns, to_arrow
from ..kernels import rebalance_trades as kr
from ..kernels.rebalance import TARGET_GROSS
from .costs import CostModel
from .drifts import Drift, _covariance
from .triggers import TriggerDecision

__all__ = ["TradeList", "trade_list", "TRADE_REASONS", "ACCOUNT_STATUSES"]

#: reason of a trade row (index = ``kernels.rebalance.R_*``)
TRADE_REASONS = ("", "to target", "to band edge", "close position", "trimmed: cash or leverage",
                 "skipped: below minimum notional", "skipped: less than one lot")
#: status of an account (index = ``kernels.rebalance.S_*``)
ACCOUNT_STATUSES = ("traded", "nothing to trade", "not triggered", "cost exceeds benefit",
                    "no equity", "trades below minimums")
_ACCOUNT_FIELDS = {
    "cash_before": kr.A_CASH_BEFORE, "cash_after": kr.A_CASH_AFTER, "leverage_before": kr.A_LEV_BEFORE,
    "leverage_after": kr.A_LEV_AFTER, "estimated_cost": kr.A_COST, "benefit": kr.A_BENEFIT,
    "tracking_error_before": kr.A_TE_BEFORE, "tracking_error_after": kr.A_TE_AFTER,
    "max_drift_after": kr.A_MAX_AFTER, "total_drift_after": kr.A_TOTAL_AFTER,
    "buy_scale": kr.A_BUY_SCALE, "turnover": kr.A_TURNOVER,
}


@dataclass(frozen=True, repr=False, eq=False)
class TradeList:
    """Trades of many accounts, with their estimated costs and the state they lead to.

    Attributes
    ----------
    drift : Drift
        The drift the trades were planned from (positions, prices, targets).
    rows : numpy.ndarray
        int64[n_trades]: row of the drift each trade belongs to (account and
        instrument through ``drift.row_account()`` and ``drift.code``).
    quantity : numpy.ndarray
        float64[n_trades]: signed quantity (buy > 0; 0 for a skipped trade).
    cost : numpy.ndarray
        float64[n_trades, 3]: estimated commission, spread and impact
        (computed from the trades on first access).
    wave : numpy.ndarray
        int8[n_trades]: 1 = send now, 2 = after the sells (cash is short), 0 = skipped.
    reason : numpy.ndarray
        int8[n_trades]: index into :data:`TRADE_REASONS`.
    account : numpy.ndarray
        float64[n_accounts, 13]: per-account fields (see :meth:`to_arrow`).
    settings : dict
    """

    drift: Drift
    rows: np.ndarray
    quantity: np.ndarray
    cost_rows: np.ndarray | None
    cost_params: np.ndarray
    wave: np.ndarray
    reason: np.ndarray
    account: np.ndarray
    settings: dict

    @property
    def cost(self) -> np.ndarray:
        """float64[n_trades, 3]: commission, spread and impact of each trade (the planner's cost model)."""
        if self.cost_rows is None:
            code = self.drift.code[self.rows]
            object.__setattr__(self, "cost_rows", kr.trade_costs(self.quantity, self.drift.price[code], code,
                                                                  self.cost_params))
        return self.cost_rows

    @property
    def n_trades(self) -> int:
        return int((self.quantity != 0).sum())

    @property
    def status(self) -> np.ndarray:
        """int8[n_accounts]: index into :data:`ACCOUNT_STATUSES`."""
        return self.account[:, kr.A_STATUS].astype(np.int8)

    @property
    def estimated_cost(self) -> np.ndarray:
        """float64[n_accounts]: estimated cost of each account's trades (NaN if not planned)."""
        return self.account[:, kr.A_COST]

    def _trades(self) -> pa.Table:
        d = self.drift
        acc = d.row_account()[self.rows] if len(self.rows) else np.zeros(0, np.int64)
        code = d.code[self.rows]
        px = d.price[code] if len(code) else np.zeros(0)
        side = np.where(self.quantity > 0, 1, np.where(self.quantity < 0, 2, 0)).astype(np.int8)
        return pa.table({
            "portfolio_id": d.portfolio_ids.take(pa.array(acc, pa.int64())),
            "instrument_id": d.keys.take(pa.array(code.astype(np.int64))),
            "side": pa.DictionaryArray.from_arrays(pa.array(side), pa.array(["none", "buy", "sell"])),
            "quantity": self.quantity,
            "price": px,
            "notional": np.abs(self.quantity) * px,
            "estimated_cost": self.cost.sum(axis=1),
            "commission": self.cost[:, 0],
            "spread": self.cost[:, 1],
            "impact": self.cost[:, 2],
            "wave": self.wave,
            "reason": pa.DictionaryArray.from_arrays(pa.array(self.reason), pa.array(TRADE_REASONS)),
        })

    def _accounts(self) -> pa.Table:
        d = self.drift
        cols: dict[str, Any] = {
            "portfolio_id": d.portfolio_ids,
            "status": pa.DictionaryArray.from_arrays(pa.array(self.status), pa.array(ACCOUNT_STATUSES)),
            "value": d.value,
            "max_drift_before": d.max_drift,
        }
        for name, col in _ACCOUNT_FIELDS.items():
            cols[name] = self.account[:, col]
        return pa.table(cols)

    def to_arrow(self, level: str = "trades") -> pa.Table:
        """Trades (``"trades"``: one row per account and instrument) or ``"accounts"``.

        The accounts table has ``status``, ``value``, cash and gross leverage
        before and after, ``estimated_cost``, ``benefit`` (cost-benefit test),
        tracking error before and after, the drift after the trades, the
        share of the buys kept (``buy_scale``) and the one-way ``turnover``.
        """
        if level == "trades":
            return self._trades()
        if level == "accounts":
            return self._accounts()
        raise ValidationError("is not a level", argument="level", value=level, expected="'trades' or 'accounts'")

    def to_polars(self, level: str = "trades"):
        return from_arrow(self.to_arrow(level), "polars")

    def to_pandas(self, level: str = "trades"):
        return from_arrow(self.to_arrow(level), "pandas")

    def to_frame(self, level: str = "trades"):
        """As :meth:`to_arrow`, in the kind of frame the positions came in."""
        return from_arrow(self.to_arrow(level), self.drift.kind)

    def __repr__(self) -> str:
        counts = np.bincount(self.status.astype(np.int64), minlength=len(ACCOUNT_STATUSES))
        parts = ", ".join(f"{c} {name}" for c, name in zip(counts, ACCOUNT_STATUSES) if c)
        cost = np.nansum(self.estimated_cost)
        return (f"TradeList({self.n_trades} trades over {self.drift.n_accounts} accounts: {parts or 'none'}; "
                f"estimated cost {cost:,.2f})")


def _fraction(value: Any, arg: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
        lo <= value < hi
    ):
        raise ValidationError("is out of range", argument=arg, value=value, expected=f"a number in [{lo:g}, {hi:g})")
    return float(value)


def _instrument_limits(instruments: Any, keys: pa.Array) -> np.ndarray:
    out = np.zeros((len(keys), 2))
    if instruments is None:
        return out
    t = to_arrow(instruments, "instruments")
    require_columns(t, "instruments", ["instrument_id"])
    code, _ = encode(id_column(t, "instruments", "instrument_id"), keys)
    keep = code >= 0
    for k, name in enumerate(("lot_size", "min_notional")):
        if name in t.column_names:
            out[code[keep], k] = float_column(t, "instruments", name, nonnegative=True)[keep]
    return out


def _active(decision: Any, d: Drift) -> np.ndarray:
    if decision is None:
        return np.ones(d.n_accounts, bool)
    if isinstance(decision, TriggerDecision):
        if len(decision.portfolio_ids) != d.n_accounts or not decision.portfolio_ids.equals(d.portfolio_ids):
            raise ValidationError("is for other accounts than the drift", argument="decision",
                                  hint="pass check_triggers(d) of the same drift d")
        return decision.rebalance.copy()
    arr = np.asarray(decision)
    if arr.dtype != bool or arr.shape != (d.n_accounts,):
        raise ValidationError("is not a decision", argument="decision", value=type(decision).__name__,
                              expected=f"a TriggerDecision or a bool array of {d.n_accounts} accounts")
    return arr.copy()


def _check_leverage(d: Drift, max_leverage: float) -> None:
    """Targets whose instruments add up to more than the leverage cap: name account and asset."""
    gross = d.account[:, TARGET_GROSS]
    bad = gross > max_leverage + 1e-9
    if bad.any():
        p = int(np.flatnonzero(bad)[0])
        lo, hi = int(d.offsets[p]), int(d.offsets[p + 1])
        t = np.where(d.code[lo:hi] != d.cash_code, d.target_weight[lo:hi], -np.inf)
        j = int(np.argmax(t))
        t, j = t[j], lo + j
        raise ValidationError(
            f"exceed the leverage cap for account {d.portfolio_ids[p].as_py()!r} "
            f"(largest: {d.keys[int(d.code[j])].as_py()!r} at {t:.4g})",
            argument="targets", column="target_weight", value=float(gross[p]),
            expected=f"instrument targets summing to at most max_leverage={max_leverage:g}",
            hint="lower the targets or raise max_leverage")


def trade_list(
    drift: Drift,
    /,
    *,
    decision: Any = None,
    mode: str = "target",
    threshold: float | None = 0.05,
    relative_band: float | None = None,
    instruments: Any = None,
    costs: CostModel | None = None,
    cash_reserve: float | None = None,
    max_leverage: float = 1.0,
    covariance: Any = None,
    risk_aversion: float = 1.0,
) -> TradeList:
    """Plan the trades that bring many accounts back to their targets.

    Parameters
    ----------
    drift : Drift
        From :func:`pmcore.rebalance.drift` with ``prices`` (positions,
        quantities and cash); targets may hold a cash row (``cash_id``).
    decision : TriggerDecision or bool array, keyword-only
        Plan only the accounts it says to rebalance (default: every account).
    mode : {"target", "band"}, keyword-only
        Trade to the target weights, or only the assets outside their band
        and only to its nearest edge (less turnover).
    threshold, relative_band : float or None, keyword-only
        The band for ``mode="band"``: ``min(threshold, relative_band * target)``
        (as in :func:`check_triggers`).
    instruments : frame, keyword-only
        ``instrument_id`` and optional ``lot_size`` (units; 0 = any),
        ``min_notional`` (currency) and cost parameters (see :class:`CostModel`).
    costs : CostModel, keyword-only
        Cost model of the estimates, with per-instrument parameters from
        ``instruments`` (default None: no costs).
    cash_reserve : float or None, keyword-only
        Cash kept after the trades, as a fraction of the account's value
        (default None: the targets' cash row, 0 without one, or the
        borrowing of a levered target). Instrument targets are scaled down
        when the targets' own cash is less.
    max_leverage : float, keyword-only
        Gross exposure / equity after the trades may not exceed it (default
        1: no borrowing). Targets whose instruments sum to more raise.
    covariance : frame, keyword-only
        Covariance of the instruments' returns over the horizon the decision
        is for (e.g. annual); turns on the cost-benefit test.
    risk_aversion : float, keyword-only
        :math:`\\lambda` of the cost-benefit test (default 1).

    Returns
    -------
    TradeList
        ``.to_frame()``: one row per account and instrument traded (or
        skipped, with the reason); ``.to_frame("accounts")``: per account.

    Raises
    ------
    ValidationError
        A drift without positions and prices, targets above the leverage
        cap (naming account and asset), out-of-range parameters, lot sizes,
        minimum notionals or cost parameters below 0.

    Notes
    -----
    For an account of value :math:`V` (cash included) holding :math:`q_i`
    at :math:`P_i`, with instrument targets :math:`t_i` and cash target
    :math:`c = 1 - \\sum_i t_i`, the cash kept is :math:`c^* = \\max(c, r)`
    for reserve :math:`r`, and the instrument targets become
    :math:`t_i^* = t_i (1 - c^*) / \\sum_j t_j`. The trade to target is
    :math:`\\Delta_i = t_i^* V / P_i - q_i`; to the band edge
    :math:`t_i^* \\pm b_i` instead, for assets with :math:`|w_i - t_i^*| > b_i`.
    Sells are rounded up to whole lots (never past the position), buys down;
    a trade below its minimum notional is skipped; a target of 0 closes the
    position exactly. If cash after costs would fall below :math:`c^* V`,
    or gross exposure above ``max_leverage`` times equity after costs, the
    buys are scaled down together (and rounded again) until both hold; the
    sells always go through. The buys go in a second wave when the cash
    before the trades does not cover them.

    Cost-benefit (with ``covariance`` :math:`\\Sigma`): the drift
    :math:`d = w - t` costs :math:`\\tfrac{\\lambda}{2} d^\\top \\Sigma d`
    of the account's value in certainty-equivalent return over the horizon
    (mean-variance utility, as in Sun, Fan, Chen, Schouwenaars and Albota,
    "Optimal rebalancing for institutional portfolios", *Journal of
    Portfolio Management*, 2006). The trades are kept only when the benefit
    :math:`\\tfrac{\\lambda}{2} (d^\\top \\Sigma d - d'^\\top \\Sigma d') V`
    exceeds their estimated cost; both are shown per account.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.rebalance import drift, trade_list
    >>> pos = pa.table({"portfolio_id": ["A", "A"], "instrument_id": ["SPY", "AGG"],
    ...                 "quantity": [120.0, 300.0]})
    >>> prices = pa.table({"instrument_id": ["SPY", "AGG"], "price": [600.0, 100.0]})
    >>> cash = pa.table({"portfolio_id": ["A"], "amount": [3000.0]})
    >>> targets = pa.table({"instrument_id": ["SPY", "AGG"], "target_weight": [0.6, 0.4]})
    >>> d = drift(pos, targets, prices=prices, cash=cash)
    >>> plan = trade_list(d, instruments=pa.table({"instrument_id": ["SPY", "AGG"],
    ...                                            "lot_size": [1.0, 1.0]}))
    >>> for r in plan.to_arrow().to_pylist():  # value 105,000: SPY 63,000 = 105 sh, AGG 42,000 = 420 sh
    ...     print(r["instrument_id"], r["side"], r["quantity"], "wave", r["wave"], r["reason"])
    SPY sell -15.0 wave 1 to target
    AGG buy 120.0 wave 2 to target
    """
    if not isinstance(drift, Drift) or drift.quantity is None:
        raise ValidationError("is not a Drift of positions", argument="drift",
                              expected="drift(positions, targets, prices=..., cash=...)")
    if mode not in ("target", "band"):
        raise ValidationError("is not a mode", argument="mode", value=mode, expected="'target' or 'band'")
    theta = math.inf if threshold is None else _fraction(threshold, "threshold", 0.0, math.inf)
    rho = math.inf if relative_band is None else _fraction(relative_band, "relative_band", 0.0, math.inf)
    if mode == "band" and math.isinf(theta) and math.isinf(rho):
        raise ValidationError("needs a band", argument="mode", value=mode,
                              expected="threshold or relative_band with mode='band'")
    reserve = -math.inf if cash_reserve is None else _fraction(cash_reserve, "cash_reserve", 0.0, 1.0)
    lev = _fraction(max_leverage, "max_leverage", 1e-12, math.inf)
    lam = _fraction(risk_aversion, "risk_aversion", 0.0, math.inf)
    if costs is not None and not isinstance(costs, CostModel):
        raise ValidationError("is not a CostModel", argument="costs", value=type(costs).__name__)
    d = drift
    _check_leverage(d, lev)
    active = _active(decision, d)
    inst = _instrument_limits(instruments, d.keys)
    params = (costs.params(d.keys, instruments) if costs is not None
              else np.zeros((len(d.keys), kr.N_COST)))  # no model: no costs, whatever the instruments say
    if covariance is not None:
        cov_index, cov = _covariance(covariance, d.keys, "instrument_id", skip=d.cash_code)
    else:
        cov_index, cov = np.full(len(d.keys), -1, np.int64), np.zeros((0, 0))
    settings = np.zeros(kr.N_SETTINGS)
    settings[kr.MODE] = 0.0 if mode == "target" else 1.0
    settings[kr.THETA], settings[kr.RHO], settings[kr.RESERVE] = theta, rho, reserve
    settings[kr.MAX_LEV], settings[kr.RISK_AVERSION] = lev, lam
    row, trade, reason, _, wave, account = out = kr.plan_outputs(d.offsets, active, store_cost=False)
    n = kr.plan_trades(d.offsets, d.code, d.quantity, d.target_weight, d.price, d.cash_code, d.account, active,
                       inst, params, settings, cov_index, cov, *out)
    return TradeList(
        drift=d, rows=row[:n], quantity=trade[:n], cost_rows=None, cost_params=params, wave=wave[:n],
        reason=reason[:n],
        account=account,
        settings={"mode": mode, "threshold": theta, "relative_band": rho, "cash_reserve": cash_reserve,
                  "max_leverage": lev, "risk_aversion": lam},
    )
