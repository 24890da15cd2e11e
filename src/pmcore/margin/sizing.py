"""Position size for a new trade from the risk to the stop, capped by margin and allocation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..kernels import margin as km
from .checks import _fraction, _largest, _order, _positive
from .state import MarginState

__all__ = ["PositionSize", "position_size"]


@dataclass(frozen=True)
class PositionSize:
    """Result of :func:`position_size`.

    Attributes
    ----------
    decision : str
        ``"trade"``, ``"no_trade"`` (below the minimum) or ``"reject"``.
    quantity : float
        Signed quantity to trade (long > 0, short < 0); 0 unless ``"trade"``.
    side : str
        ``"long"`` or ``"short"``.
    notional : float
        Base-currency notional of ``quantity`` at the entry price.
    risk_amount : float
        Equity x risk: the loss at the stop.
    risk_quantity : float
        Units before any cap: risk amount / (abs(entry - stop) x unit scale).
    caps : dict
        Every cap that bound (``"free_margin"``, ``"leverage"``,
        ``"max_allocation"``, ``"lot_size"``, ``"minimum"``) with the size
        (units) it allowed.
    reason : str
    """

    decision: str
    quantity: float
    side: str
    notional: float
    risk_amount: float
    risk_quantity: float
    caps: dict
    reason: str


def position_size(
    state: MarginState,
    portfolio_id: Any,
    instrument_id: Any,
    /,
    *,
    stop: float,
    entry: float | None = None,
    side: str | None = None,
    risk: float = 0.01,
    leverage: float | None = None,
    fee_rate: float = 0.0,
    buffer: float = 0.05,
    max_allocation: float = 0.10,
    min_allocation: float = 0.001,
    min_notional: float = 10.0,
    lot_size: float | None = None,
) -> PositionSize:
    """Size a new trade so that hitting the stop loses ``risk`` of equity, within every cap.

    Parameters
    ----------
    state : MarginState
    portfolio_id, instrument_id
    stop : float, keyword-only
        Stop price (instrument currency): below the entry for a long, above
        for a short.
    entry : float, keyword-only
        Entry price (default: the mark price).
    side : {"long", "short"}, keyword-only
        Default: long when the stop is below the entry, short above.
    risk : float, keyword-only
        Fraction of equity at risk (default 0.01).
    leverage, fee_rate, buffer
        As for :func:`pre_trade_check` (the sized order always passes it).
    max_allocation : float, keyword-only
        Largest position notional as a fraction of equity (default 0.10),
        counting the position already held on the same side.
    min_allocation, min_notional : float, keyword-only
        Smallest trade: the larger of ``min_allocation`` x equity (default
        0.1 %) and ``min_notional`` (default 10, base currency); below it, no trade.
    lot_size : float, keyword-only
        The quantity is rounded down to a multiple of it.

    Returns
    -------
    PositionSize

    Raises
    ------
    ValidationError
        A stop equal to the entry or on the wrong side, prices that are not
        positive, parameters out of range.

    Notes
    -----
    With equity :math:`E`, risk :math:`\\rho`, unit scale :math:`u`
    (multiplier x fx):

    .. math::

        q = \\min\\Bigl(\\frac{\\rho E}{|P_e - P_s| u},\\;
            \\frac{F (1 - b)}{P_e u (1/L + f)},\\;
            \\frac{\\alpha E - N_0}{P_e u}\\Bigr)

    where the second term is the free-margin cap (free margin :math:`F`,
    buffer :math:`b`, leverage :math:`L`, fee rate :math:`f`; with no fee
    :math:`F \\times 0.95 \\times L / P_e`) and the third the allocation cap
    (:math:`N_0` the notional already held on that side). A notional below
    :math:`\\max(0.001 E, 10)` is no trade. No free margin: rejected,
    "Insufficient margin".

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.margin import margin_state, position_size
    >>> positions = pa.table({"portfolio_id": ["F"], "instrument_id": ["ETH"],
    ...                       "quantity": [0.0], "avg_price": [0.0]})
    >>> instruments = pa.table({"instrument_id": ["ETH"], "currency": ["USD"]})
    >>> cash = pa.table({"portfolio_id": ["F"], "currency": ["USD"], "amount": [100_000.0]})
    >>> st = margin_state(positions, {"instrument_id": ["ETH"], "price": [2_000.0]},
    ...                   instruments=instruments, cash=cash, accounts={"F": "margin"},
    ...                   leverage=5)
    >>> size = position_size(st, "F", "ETH", stop=1_900.0, risk=0.01)
    >>> size.risk_quantity, size.quantity, list(size.caps)  # 1,000 at risk / 100 a unit
    (10.0, 5.0, ['max_allocation'])
    >>> position_size(st, "F", "ETH", stop=1_900.0, max_allocation=1.0).quantity
    10.0
    """
    p = state.portfolio_code(portfolio_id)
    i = state.instrument_code(instrument_id)
    px = float(state.price[i]) if entry is None else _positive(entry, "entry")
    sp = _positive(stop, "stop")
    if sp == px:
        raise ValidationError("equals the entry price", argument="stop", value=stop,
                              expected="a stop below the entry for a long, above for a short")
    if side is None:
        side = "long" if sp < px else "short"
    elif side not in ("long", "short"):
        raise ValidationError("is not a side", argument="side", value=side, expected="'long' or 'short'")
    elif (side == "long") != (sp < px):
        where = "below" if side == "long" else "above"
        raise ValidationError(f"is on the wrong side of the entry {px:g}", argument="stop", value=stop,
                              expected=f"a stop {where} the entry for a {side}")
    rho = _fraction(risk, "risk")
    alpha = _positive(max_allocation, "max_allocation")
    beta = _fraction(min_allocation, "min_allocation")
    floor_notional = float(min_notional) if min_notional == 10.0 else _positive(min_notional, "min_notional")
    f = _fraction(fee_rate, "fee_rate")
    b = _fraction(buffer, "buffer")
    o = _order(state, p, i, px, leverage, f, b)
    sgn = 1.0 if side == "long" else -1.0
    equity = float(state.account_matrix_[p, km.EQUITY])
    risk_amount = max(equity, 0.0) * rho
    unit = o.unit
    q_risk = risk_amount / (abs(px - sp) * float(state.unit_scale[i]))
    caps: dict[str, float] = {}
    if o.free <= 0.0 or equity <= 0.0:
        return PositionSize("reject", 0.0, side, 0.0, risk_amount, q_risk, caps,
                            f"Insufficient margin: free margin is {o.free:,.2f}")
    q = q_risk
    q_margin, bound = _largest(o, sgn, math.inf)
    if q_margin < q:
        caps["free_margin" if bound == "margin" else "leverage"] = q_margin
        q = q_margin
    held_same = abs(o.q0) if o.q0 * sgn > 0 else 0.0
    q_alloc = max((alpha * equity) / unit - held_same, 0.0)
    if q_alloc < q:
        caps["max_allocation"] = q_alloc
        q = q_alloc
    if lot_size is not None:
        lot = _positive(lot_size, "lot_size")
        rounded = float(f"{math.floor(q / lot) * lot:.12g}")
        if rounded > q:
            rounded -= lot
        if rounded < q:
            caps["lot_size"] = rounded
        q = max(rounded, 0.0)
    minimum = max(beta * equity, floor_notional)
    notional = q * unit
    if notional < minimum:
        caps["minimum"] = minimum / unit
        return PositionSize("no_trade", 0.0, side, 0.0, risk_amount, q_risk, caps,
                            f"size {q:g} ({notional:,.2f} notional) is below the minimum "
                            f"{minimum:,.2f}: no trade")
    bound_names = ", ".join(caps) or "none"
    return PositionSize("trade", sgn * q, side, notional, risk_amount, q_risk, caps,
                        f"risk {risk_amount:,.2f} to the stop; caps that bound: {bound_names}")
