"""Pre-trade margin check, withdrawal check and margin-mode switch check."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import from_arrow
from ..kernels import margin as km
from ..kernels.valuation import cash_in_base
from .brackets import MAX_LEVERAGE
from .state import MODES, MarginState

__all__ = ["OrderCheck", "pre_trade_check", "max_withdrawal", "ModeSwitch", "check_margin_mode_switch"]

_SHRINK = 1.0 - 1e-12  # keeps a computed maximum on the right side of its own check


def _fraction(value: Any, arg: str, upper: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 <= value < upper):
        raise ValidationError("is out of range", argument=arg, value=value,
                              expected=f"a fraction in [0, {upper:g})")
    return float(value)


def _positive(value: Any, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
        0.0 < value < math.inf
    ):
        raise ValidationError("must be positive", argument=arg, value=value,
                              expected="a finite number > 0")
    return float(value)


def _leverage(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
        1.0 <= value <= MAX_LEVERAGE
    ):
        raise ValidationError("is out of range", argument="leverage", value=value,
                              expected="a leverage from 1 to 125")
    return float(value)


def _notional_cap(state: MarginState, i: int, lev: float) -> float:
    """Largest notional whose tier allows ``lev`` (inf without tiers)."""
    key = ("cap", i, lev)
    cap = state._cache.get(key)
    if cap is None:
        lo, hi = int(state.br_offsets[i]), int(state.br_offsets[i + 1])
        cap = math.inf
        for t in range(lo, hi):
            if state.br_max_leverage[t] < lev:
                cap = float(state.br[t, 0])
                break
        state._cache[key] = cap
    return cap


@dataclass(frozen=True)
class _Order:
    """Everything the check and the sizing need about one order."""

    q0: float          # current position
    unit: float        # base-currency value of one unit at the order price
    lev: float
    fee_rate: float
    free: float
    available: float   # free margin less the buffer
    notional_cap: float


def _order(state: MarginState, p: int, i: int, price: float | None, leverage: Any,
           fee_rate: float, buffer: float) -> _Order:
    k = state.position_row(p, i)
    q0 = float(state.book.quantity[k]) if k >= 0 else 0.0
    px = float(state.price[i]) if price is None else _positive(price, "price")
    if leverage is None:
        lev = float(state.leverage[k]) if k >= 0 else float(state.account_leverage[p])
    else:
        lev = _leverage(leverage)
    free = float(state.account_matrix_[p, km.FREE])
    available = free * (1.0 - buffer) if free > 0.0 else free
    return _Order(q0, px * float(state.unit_scale[i]), lev, fee_rate, free, available,
                  _notional_cap(state, i, lev))


def _split(o: _Order, q: float) -> tuple[float, float]:
    """(closing, opening) units of an order of signed size ``q``."""
    closing = min(abs(q), abs(o.q0)) if o.q0 * q < 0.0 else 0.0
    return closing, abs(q) - closing


def _largest(o: _Order, side: float, limit: float) -> tuple[float, str]:
    """Largest size (units, <= ``limit``) in direction ``side`` that passes, and what bound it."""
    closing = min(limit, abs(o.q0)) if o.q0 * side < 0.0 else 0.0
    per_unit = o.unit * (1.0 / o.lev + o.fee_rate)
    room = o.available  # a closing part is always allowed and pays its fee from released margin
    x = room / per_unit * _SHRINK if room > 0.0 else 0.0
    bound = "margin"
    # the tier's maximum leverage caps the notional of the resulting position
    if o.notional_cap < math.inf:
        start = abs(o.q0) - closing if o.q0 * side >= 0.0 else 0.0
        room_units = max(o.notional_cap / o.unit * _SHRINK - start, 0.0)
        if room_units < x:
            x, bound = room_units, "leverage"
    return closing + min(x, limit - closing), bound


@dataclass(frozen=True)
class OrderCheck:
    """Result of :func:`pre_trade_check`.

    Attributes
    ----------
    decision : str
        ``"approve"``, ``"reduce"`` or ``"reject"``.
    quantity : float
        Signed quantity that passes: the order, the largest part of it that
        fits, or 0.
    requested : float
    required_margin, fee : float
        Initial margin and fee of the requested order (base currency).
    free_margin, available_margin : float
        Free margin and free margin less the safety buffer.
    reason : str
    """

    decision: str
    quantity: float
    requested: float
    required_margin: float
    fee: float
    free_margin: float
    available_margin: float
    reason: str

    @property
    def approved(self) -> bool:
        return self.decision == "approve"


def pre_trade_check(
    state: MarginState,
    portfolio_id: Any,
    instrument_id: Any,
    quantity: float,
    /,
    *,
    price: float | None = None,
    leverage: float | None = None,
    fee_rate: float = 0.0,
    buffer: float = 0.05,
    lot_size: float | None = None,
) -> OrderCheck:
    """Check an order against the account's free margin: approve, reduce or reject.

    Parameters
    ----------
    state : MarginState
    portfolio_id, instrument_id
        The margin account and the instrument (both in the state's book).
    quantity : float
        Signed order size (buy > 0, sell < 0), not 0.
    price : float, keyword-only
        Order price in the instrument's currency (default: the mark price).
    leverage : float, keyword-only
        1 to 125 (default: the position's, or the account's for a new position).
    fee_rate : float, keyword-only
        Fee as a fraction of the order's notional (default 0).
    buffer : float, keyword-only
        Safety buffer: the share of free margin kept back (default 0.05).
    lot_size : float, keyword-only
        A reduced quantity is rounded down to a multiple of it.

    Returns
    -------
    OrderCheck

    Notes
    -----
    With unit value :math:`v = P \\, m \\, fx`, the part of the order that
    opens or adds (:math:`x` units) requires :math:`x v / L` and pays the fee
    :math:`x v f`; the part that closes an opposite position needs no margin
    and its fee comes out of the margin it frees. It passes when

    .. math::

        x v \\left(\\frac{1}{L} + f\\right) \\le F (1 - b)

    with free margin :math:`F` and buffer :math:`b`, and when the resulting
    notional is within the tier that allows leverage :math:`L` (brackets with
    ``max_leverage``). Otherwise the largest passing size is proposed
    (``"reduce"``), or the order is rejected ("Insufficient margin").
    An order that only reduces a position is always approved.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.margin import margin_state, pre_trade_check
    >>> positions = pa.table({"portfolio_id": ["F"], "instrument_id": ["BTC"],
    ...                       "quantity": [0.1], "avg_price": [60_000.0]})
    >>> instruments = pa.table({"instrument_id": ["BTC"], "currency": ["USD"]})
    >>> cash = pa.table({"portfolio_id": ["F"], "currency": ["USD"], "amount": [2_000.0]})
    >>> st = margin_state(positions, {"instrument_id": ["BTC"], "price": [60_000.0]},
    ...                   instruments=instruments, cash=cash, accounts={"F": "margin"},
    ...                   leverage=10)
    >>> pre_trade_check(st, "F", "BTC", 0.2).decision  # needs 1,200 of 1,330 available
    'approve'
    >>> check = pre_trade_check(st, "F", "BTC", 0.5, lot_size=0.001)
    >>> check.decision, check.quantity
    ('reduce', 0.221)
    >>> print(check.reason)
    order needs 3,000.00 (margin 3,000.00 + fee 0.00), 1,330.00 available (free margin 1,400.00 less the 5 % buffer); reduced to 0.221
    """
    p = state.portfolio_code(portfolio_id)
    i = state.instrument_code(instrument_id)
    if isinstance(quantity, bool) or not isinstance(quantity, (int, float, np.floating, np.integer)) or not (
        math.isfinite(quantity) and quantity != 0.0
    ):
        raise ValidationError("must be a non-zero number", argument="quantity", value=quantity,
                              expected="a finite signed quantity (buy > 0, sell < 0)")
    q = float(quantity)
    f = _fraction(fee_rate, "fee_rate") if fee_rate else 0.0
    b = _fraction(buffer, "buffer") if buffer != 0.05 else 0.05
    o = _order(state, p, i, price, leverage, f, b)
    closing, opening = _split(o, q)
    required = opening * o.unit / o.lev
    fee = abs(q) * o.unit * f
    side = 1.0 if q > 0 else -1.0
    if opening == 0.0:
        return OrderCheck("approve", q, q, required, fee, o.free, o.available, "reduces the position")
    cost = required + opening * o.unit * f  # a closing part's fee comes out of the margin it frees
    over_cap = (abs(o.q0 + q) * o.unit > o.notional_cap) if o.notional_cap < math.inf else False
    if cost <= o.available and not over_cap:
        return OrderCheck("approve", q, q, required, fee, o.free, o.available, "fits the free margin")
    total, bound = _largest(o, side, abs(q))
    if over_cap and cost <= o.available:
        bound = "leverage"
    if lot_size is not None:
        lot = _positive(lot_size, "lot_size")
        total = math.floor(total / lot) * lot
        total = float(f"{total:.12g}")
        if total > abs(q):
            total -= lot
    if bound == "leverage":
        why = (f"leverage {o.lev:g}x allows at most {o.notional_cap:,.2f} notional in this "
               f"instrument")
    else:
        why = (f"order needs {cost:,.2f} (margin {required:,.2f} + fee {cost - required:,.2f}), "
               f"{o.available:,.2f} available (free margin {o.free:,.2f} less the {b:.0%} buffer)")
        why = why.replace("%", " %")
    if total <= closing or total <= 0.0:
        if closing > 0.0:
            return OrderCheck("reduce", side * closing, q, required, fee, o.free, o.available,
                              f"{why}; reduced to closing the position")
        reason = ("Insufficient margin: " + why) if bound == "margin" else why
        return OrderCheck("reject", 0.0, q, required, fee, o.free, o.available, reason)
    return OrderCheck("reduce", side * total, q, required, fee, o.free, o.available,
                      f"{why}; reduced to {total:g}")


# ----------------------------------------------------------------------------- withdrawal


def max_withdrawal(state: MarginState, /, *, reserve: float = 0.10,
                   min_level_pct: float | None = None) -> Any:
    """Largest amount each margin account can withdraw without breaking a margin rule.

    Parameters
    ----------
    state : MarginState
    reserve : float, keyword-only
        Cash reserve kept in the account, as a fraction of its cash balance
        (default 0.10).
    min_level_pct : float, keyword-only
        Margin level (percent) the account must keep after the withdrawal;
        default: no level rule beyond free margin.

    Returns
    -------
    frame
        One row per margin account (the book's kind): portfolio_id,
        max_withdrawal, limited_by (the rule that binds) and the limit of each
        rule: free_margin_limit, maintenance_limit, reserve_limit, level_limit.

    Notes
    -----
    Withdrawing :math:`W` lowers cash :math:`C` and equity :math:`E` by
    :math:`W`. With margin used :math:`U`, maintenance margin :math:`M` and
    locked cash :math:`K`:

    .. math::

        W^* = \\max\\bigl(0, \\min(E - U,\\; E - M,\\; C - K - \\rho C,\\;
              E - \\lambda U / 100)\\bigr)

    (free margin stays >= 0, equity stays above maintenance, available cash
    keeps the reserve :math:`\\rho C`, level stays >= :math:`\\lambda`).
    Unrealized profit is not withdrawable beyond cash.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.margin import margin_state, max_withdrawal
    >>> positions = pa.table({"portfolio_id": ["F"], "instrument_id": ["BTC"],
    ...                       "quantity": [0.1], "avg_price": [60_000.0]})
    >>> instruments = pa.table({"instrument_id": ["BTC"], "currency": ["USD"]})
    >>> cash = pa.table({"portfolio_id": ["F"], "currency": ["USD"], "amount": [2_000.0]})
    >>> st = margin_state(positions, {"instrument_id": ["BTC"], "price": [60_000.0]},
    ...                   instruments=instruments, cash=cash, accounts={"F": "margin"},
    ...                   leverage=10)
    >>> max_withdrawal(st).select(["max_withdrawal", "limited_by"]).to_pylist()
    [{'max_withdrawal': 1400.0, 'limited_by': 'free_margin'}]
    >>> max_withdrawal(st, min_level_pct=200).column("max_withdrawal").to_pylist()
    [800.0]
    """
    if not isinstance(state, MarginState):
        raise ValidationError("must be a MarginState", argument="state", value=type(state).__name__)
    rho = _fraction(reserve, "reserve")
    bk = state.book
    acc = state.account_matrix_
    cash = np.empty((bk.n_portfolios, 2))
    cash_in_base(bk.cash_offsets, bk.cash_currency, bk.cash_amounts, state.fx, cash)
    eq = acc[:, km.EQUITY]
    limits = {
        "free_margin": acc[:, km.FREE],
        "maintenance": acc[:, km.EXCESS],
        "reserve": cash[:, 0] - cash[:, 1] - rho * np.abs(cash[:, 0]),
        "level": np.full(bk.n_portfolios, np.inf),
    }
    if min_level_pct is not None:
        lam = _positive(min_level_pct, "min_level_pct")
        limits["level"] = eq - lam / 100.0 * acc[:, km.USED]
    names = list(limits)
    stack = np.column_stack([limits[n] for n in names])
    which = np.argmin(stack, axis=1)
    best = np.maximum(stack[np.arange(len(which)), which], 0.0)
    a = state.accounts_index
    cols: dict[str, Any] = {
        "portfolio_id": state.portfolio_ids,
        "max_withdrawal": best[a],
        "limited_by": pa.array([names[j] for j in which[a]], pa.string()),
    }
    for n in names:
        cols[f"{n}_limit"] = limits[n][a]
    return from_arrow(pa.table(cols), bk.kind)


# ----------------------------------------------------------------------------- margin mode


@dataclass(frozen=True)
class ModeSwitch:
    """Result of :func:`check_margin_mode_switch`: ``allowed`` and the ``reason``."""

    allowed: bool
    reason: str


def check_margin_mode_switch(state: MarginState, portfolio_id: Any, to_mode: str, /, *,
                             instrument_id: Any = None) -> ModeSwitch:
    """Whether a margin account may switch to ``to_mode``, as exchanges rule it.

    Parameters
    ----------
    state : MarginState
    portfolio_id
    to_mode : {"cross", "isolated"}
    instrument_id : keyword-only
        Switch one instrument's mode (exchanges set the mode per symbol);
        default: the whole account.

    Returns
    -------
    ModeSwitch
        ``allowed`` and a ``reason``.

    Notes
    -----
    The switch is refused while the instrument (or, account-wide, any
    instrument) has an open position not already in ``to_mode``, while funds
    are locked by open orders, and when the mode is already ``to_mode``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.margin import margin_state, check_margin_mode_switch
    >>> positions = pa.table({"portfolio_id": ["F"], "instrument_id": ["BTC"],
    ...                       "quantity": [0.1], "avg_price": [60_000.0]})
    >>> instruments = pa.table({"instrument_id": ["BTC", "ETH"], "currency": ["USD", "USD"]})
    >>> cash = pa.table({"portfolio_id": ["F"], "currency": ["USD"], "amount": [2_000.0]})
    >>> st = margin_state(positions, {"instrument_id": ["BTC"], "price": [60_000.0]},
    ...                   instruments=instruments, cash=cash, accounts={"F": "margin"})
    >>> check_margin_mode_switch(st, "F", "isolated", instrument_id="BTC")
    ModeSwitch(allowed=False, reason='BTC has an open cross position of 0.1: close it first')
    >>> check_margin_mode_switch(st, "F", "isolated", instrument_id="ETH").allowed
    True
    """
    if to_mode not in MODES:
        raise ValidationError("is not a margin mode", argument="to_mode", value=to_mode,
                              expected="'cross' or 'isolated'")
    p = state.portfolio_code(portfolio_id)
    bk = state.book
    want_iso = to_mode == "isolated"
    locked = bk.cash_amounts[bk.cash_offsets[p]:bk.cash_offsets[p + 1], 1]
    if instrument_id is not None:
        index = state._cache.get("i") or {v: j for j, v in enumerate(bk.instrument_ids.to_pylist())}
        state._cache["i"] = index
        i = index.get(instrument_id)
        if i is None:
            raise ValidationError("is not an instrument of the book", argument="instrument_id",
                                  value=instrument_id)
        rows = [state.position_row(p, i)]
        rows = [k for k in rows if k >= 0]
    else:
        rows = list(range(int(bk.offsets[p]), int(bk.offsets[p + 1])))
    open_rows = [k for k in rows if bk.quantity[k] != 0.0]
    if open_rows and all(bool(state.isolated[k]) == want_iso for k in open_rows):
        return ModeSwitch(False, f"already in {to_mode} mode")
    blocking = [k for k in open_rows if bool(state.isolated[k]) != want_iso]
    if blocking:
        k = blocking[0]
        what = bk.instrument_ids[int(bk.instrument[k])].as_py()
        mode = "isolated" if state.isolated[k] else "cross"
        more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
        return ModeSwitch(False, f"{what} has an open {mode} position of {bk.quantity[k]:g}{more}: "
                                 "close it first")
    if (locked > 0).any():
        return ModeSwitch(False, "open orders hold funds: cancel them first")
    return ModeSwitch(True, "no open position or order")
