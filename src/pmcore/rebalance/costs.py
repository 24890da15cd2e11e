"""Transaction cost model: commission, half spread and square-root market impact."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import encode, float_column, frame_kind, from_arrow, id_column, require_columns, to_arrow
from ..kernels import rebalance_trades as kr

__all__ = ["CostModel", "estimate_costs"]

# CostModel field -> (kernel column, scale to the kernel's unit)
_FIELDS = {
    "commission_per_share": (kr.PER_SHARE, 1.0),
    "commission_bps": (kr.RATE, 1e-4),
    "min_commission": (kr.MIN_FEE, 1.0),
    "half_spread_bps": (kr.HALF_SPREAD, 1e-4),
    "daily_volatility": (kr.VOLATILITY, 1.0),
    "adv": (kr.ADV, 1.0),
    "impact_coefficient": (kr.IMPACT, 1.0),
}


@dataclass(frozen=True)
class CostModel:
    """Estimated cost of a trade: commission + half spread + square-root market impact.

    Every parameter is one figure for all instruments; a column of the same
    name in the ``instruments`` frame given with it overrides it per
    instrument (instruments not listed keep the figure here).

    Parameters
    ----------
    commission_per_share : float
        Commission per unit traded (currency per share).
    commission_bps : float
        Commission as basis points of the notional.
    min_commission : float
        Minimum commission per trade (currency).
    half_spread_bps : float
        Half the bid-ask spread, in basis points of the price.
    daily_volatility : float
        Daily volatility of the instrument's returns (fraction); NaN (the
        default) leaves out the impact term.
    adv : float
        Average daily volume in units; NaN (the default) leaves out the
        impact term.
    impact_coefficient : float
        :math:`c` of the square-root law (default 1.0).

    Notes
    -----
    For a trade of :math:`q` units at price :math:`P`, notional
    :math:`N = |q| P`:

    .. math::

        \\text{cost} = \\max\\bigl(m, \\; f_s |q| + f_r N\\bigr)
        + s N + c \\, \\sigma \\sqrt{|q| / \\text{ADV}} \\; N

    with minimum commission :math:`m`, per-share and rate commissions
    :math:`f_s, f_r`, half spread :math:`s`, daily volatility :math:`\\sigma`
    and average daily volume ADV. The last term is the square-root law of
    market impact: the price moves against the trade by about
    :math:`c\\,\\sigma\\sqrt{q/V}` (Grinold and Kahn, *Active Portfolio
    Management*, 2nd ed., 2000, ch. 16; Almgren, Thum, Hauptmann and Li,
    "Direct estimation of equity market impact", *Risk*, 2005, who measure
    an exponent near 1/2 and :math:`c` near 1 on US equities). It is the
    price of a single order and ignores the timing of its execution.

    Examples
    --------
    >>> from pmcore.rebalance import CostModel
    >>> m = CostModel(commission_bps=1.0, min_commission=1.0, half_spread_bps=2.0,
    ...               daily_volatility=0.02, adv=1_000_000)
    >>> [round(x, 2) for x in m.cost(10_000, 50.0)]  # commission, spread, impact of $500,000
    [50.0, 100.0, 1000.0]
    """

    commission_per_share: float = 0.0
    commission_bps: float = 0.0
    min_commission: float = 0.0
    half_spread_bps: float = 0.0
    daily_volatility: float = math.nan
    adv: float = math.nan
    impact_coefficient: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            ok = isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
            nan_ok = f.name in ("daily_volatility", "adv")
            if not ok or (math.isnan(v) and not nan_ok) or (not math.isnan(v) and not (0 <= v < math.inf)):
                raise ValidationError("is out of range", argument=f.name, value=v,
                                      expected="a finite number >= 0" + (" or NaN" if nan_ok else ""))
        if self.adv == 0:
            raise ValidationError("is zero", argument="adv", value=0.0, expected="a volume > 0, or NaN")

    def params(self, keys: pa.Array, instruments: Any = None) -> np.ndarray:
        """float64[n_keys, 7]: the kernel's cost parameters of each instrument in ``keys``."""
        out = np.empty((len(keys), kr.N_COST))
        for name, (col, scale) in _FIELDS.items():
            out[:, col] = getattr(self, name) * scale
        if instruments is None:
            return out
        t = to_arrow(instruments, "instruments")
        present = [name for name in _FIELDS if name in t.column_names]
        if not present:
            return out
        code, _ = encode(id_column(t, "instruments", "instrument_id"), keys)
        keep = code >= 0
        for name in present:
            col, scale = _FIELDS[name]
            if name in ("daily_volatility", "adv"):
                vals = _nan_ok_column(t, name)
            else:
                vals = float_column(t, "instruments", name, nonnegative=True)
            out[code[keep], col] = vals[keep] * scale
        return out

    def cost(self, quantity: float, price: float) -> tuple[float, float, float]:
        """(commission, spread, impact) of one trade with these parameters."""
        p = self.params(pa.array(["x"]))[0]
        return tuple(float(x) for x in kr.trade_cost(float(quantity), float(price), p))


def _nan_ok_column(t: pa.Table, name: str) -> np.ndarray:
    """A column where null/NaN means "unknown" but values must be > 0 (volatility, ADV)."""
    arr = t.column(name).combine_chunks()
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
        raise ValidationError("has the wrong type", argument="instruments", column=name, value=str(arr.type),
                              expected="a numeric column")
    vals = arr.cast(pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False)
    bad = ~np.isnan(vals) & ~((vals > 0) & np.isfinite(vals))
    if name == "daily_volatility":
        bad = ~np.isnan(vals) & ~((vals >= 0) & np.isfinite(vals))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        iid = t.column("instrument_id")[row].as_py()
        raise ValidationError(f"holds an invalid value for instrument {iid!r}", argument="instruments",
                              column=name, row=row, value=float(vals[row]),
                              expected="a finite number > 0, or null when unknown")
    return vals


def estimate_costs(
    trades: Any,
    /,
    *,
    prices: Any = None,
    instruments: Any = None,
    model: CostModel | None = None,
) -> Any:
    """Estimated commission, spread and market impact of each trade.

    Parameters
    ----------
    trades : frame
        Columns ``instrument_id`` and signed ``quantity`` (buy > 0), and
        ``price`` unless ``prices`` is given; any other column is kept.
    prices : frame, keyword-only
        Columns ``instrument_id`` and ``price`` (> 0).
    instruments : frame, keyword-only
        Per-instrument overrides of the model's parameters (columns named
        like :class:`CostModel`'s fields, e.g. ``adv``, ``half_spread_bps``).
    model : CostModel, keyword-only
        Default ``CostModel()`` (no costs unless parameters are given).

    Returns
    -------
    frame
        The trades with ``notional``, ``commission``, ``spread``, ``impact``
        and ``cost`` (their sum) added, in the kind of frame given.

    Notes
    -----
    The formula is the one of :class:`CostModel`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.rebalance import CostModel, estimate_costs
    >>> trades = pa.table({"instrument_id": ["SPY", "AGG"], "quantity": [100.0, -250.0]})
    >>> prices = pa.table({"instrument_id": ["SPY", "AGG"], "price": [600.0, 98.0]})
    >>> out = estimate_costs(trades, prices=prices, model=CostModel(commission_per_share=0.005,
    ...                                                             min_commission=1.0, half_spread_bps=1.0))
    >>> [round(c, 6) for c in out.column("cost").to_pylist()]  # min 1 + 6; 1.25 + 2.45
    [7.0, 3.7]
    """
    model = CostModel() if model is None else model
    if not isinstance(model, CostModel):
        raise ValidationError("is not a CostModel", argument="model", value=type(model).__name__)
    kind = frame_kind(trades)
    t = to_arrow(trades, "trades")
    require_columns(t, "trades", ["instrument_id", "quantity"])
    qty = float_column(t, "trades", "quantity")
    iid = id_column(t, "trades", "instrument_id")
    code, keys = encode(iid)
    if prices is not None:
        pt = to_arrow(prices, "prices")
        px_by = float_column(pt, "prices", "price", positive=True)
        pcode, _ = encode(id_column(pt, "prices", "instrument_id"), keys)
        px_key = np.full(len(keys), np.nan)
        px_key[pcode[pcode >= 0]] = px_by[pcode >= 0]
        px = px_key[code] if len(code) else np.zeros(0)
        if np.isnan(px).any():
            row = int(np.flatnonzero(np.isnan(px))[0])
            raise ValidationError(f"has no price for instrument {iid[row].as_py()!r}", argument="prices",
                                  row=row, expected="a price for every instrument traded")
    else:
        px = float_column(t, "trades", "price", positive=True)
    costs = kr.trade_costs(qty, px, code.astype(np.int64), model.params(keys, instruments))
    out = t
    for name, col in (("notional", np.abs(qty) * px), ("commission", costs[:, 0]), ("spread", costs[:, 1]),
                      ("impact", costs[:, 2]), ("cost", costs.sum(axis=1))):
        out = out.append_column(name, pa.array(col))
    return from_arrow(out, kind if kind != "other" else "arrow")
