"""Multi-currency: exact conversion with spreads, currency exposure, hedge suggestions, flows in base."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import frame_kind, from_arrow, id_column, require_columns, to_arrow
from .amounts import (
    DEFAULT_SCALE,
    check_scale,
    from_units,
    round_units,
    to_units,
    units_column,
    units_to_arrow,
)

__all__ = ["FxConversion", "currency_exposure", "flows_in_base", "fx_convert", "hedge_suggestion"]


def _fraction(value: Any, name: str, *, positive: bool = False, below_one: bool = False) -> Fraction:
    try:
        if isinstance(value, (float, np.floating)):
            if not np.isfinite(value):
                raise ValueError
            f = Fraction(repr(float(value)))
        elif isinstance(value, Fraction):
            f = value
        else:
            f = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise ValidationError("is not a finite number", argument=name, value=value) from None
    if f < 0 or (positive and f == 0) or (below_one and f >= 1):
        rule = "a number > 0" if positive else "a fraction in [0, 1)" if below_one else "a number >= 0"
        raise ValidationError("is out of range", argument=name, value=value, expected=rule)
    return f


@dataclass(frozen=True)
class FxConversion:
    """An exact currency conversion: what is sold, bought and paid as spread.

    Attributes
    ----------
    sold, bought, cost : Decimal
        Amount sold (sell currency), bought (buy currency) and the spread cost
        (sell currency).
    rate, spread : Fraction
        Mid rate (buy per sell unit) and spread (fraction of the amount sold).

    Notes
    -----
    Built by :func:`fx_convert`; the amounts are exact Decimals at the scale.

    Examples
    --------
    >>> fx_convert("10", "2", spread="0.01")
    FxConversion(sold=10.00000000, bought=20.00000000, cost=0.10000000, rate=2, spread=0.01)
    """

    sold: Decimal
    bought: Decimal
    cost: Decimal
    rate: Fraction
    spread: Fraction

    def __repr__(self) -> str:
        return (f"FxConversion(sold={self.sold}, bought={self.bought}, cost={self.cost}, "
                f"rate={float(self.rate):g}, spread={float(self.spread):g})")


def fx_convert(amount: Any, rate: Any, /, *, spread: Any = 0, scale: int = DEFAULT_SCALE) -> FxConversion:
    """Convert ``amount`` at mid ``rate`` and charge ``spread``, exactly.

    Parameters
    ----------
    amount : Decimal, str or number
        Amount sold (> 0, at most ``scale`` decimals).
    rate : Decimal, str or number
        Units bought per unit sold (> 0). A float is read at its shortest repr.
    spread : Decimal, str or number, keyword-only
        Cost as a fraction of the amount sold (``0.001`` = 10 bp).
    scale : int, keyword-only
        Decimals of the result (8 to 12).

    Returns
    -------
    FxConversion

    Notes
    -----
    .. math::

        \\text{bought} = \\operatorname{round}_{\\text{half even}}(A r), \\qquad
        \\text{cost} = \\lceil A s \\rceil

    to the unit :math:`10^{-\\text{scale}}`. The cost rounds against the
    client, the conversion to nearest. Same rule as :meth:`Ledger.convert`.

    Examples
    --------
    >>> c = fx_convert("1000", "1.0478", spread="0.0025")
    >>> c.bought, c.cost
    (Decimal('1047.80000000'), Decimal('2.50000000'))
    """
    scale = check_scale(scale)
    u = to_units(amount, scale)
    if u <= 0:
        raise ValidationError("is not positive", argument="amount", value=amount, expected="an amount > 0")
    r = _fraction(rate, "rate", positive=True)
    s = _fraction(spread, "spread", below_one=True)
    a = Fraction(u, 10**scale)
    return FxConversion(from_units(u, scale), from_units(round_units(a * r, scale), scale),
                        from_units(round_units(a * s, scale, "ceiling"), scale), r, s)


def _rates(fx: Any, base_currency: str) -> dict[str, Fraction]:
    table = to_arrow(fx, "fx")
    require_columns(table, "fx", ["currency", "rate"])
    cur = id_column(table, "fx", "currency").to_pylist()
    col = table.column("rate")
    vals = col.to_pylist()
    out: dict[str, Fraction] = {}
    for i, (c, v) in enumerate(zip(cur, vals)):
        if c in out:
            raise ValidationError("has a duplicate currency", argument="fx", column="currency", row=i,
                                  value=c, expected="one rate per currency")
        if v is None:
            raise ValidationError("is null", argument="fx", column="rate", row=i, expected="a rate > 0")
        try:
            out[str(c)] = _fraction(v, "fx", positive=True)
        except ValidationError:
            raise ValidationError("holds an invalid rate", argument="fx", column="rate", row=i,
                                  value=v, expected="a finite rate > 0") from None
    out.setdefault(base_currency, Fraction(1))
    return out


def _to_base(units: np.ndarray, currencies: list, rates: dict, scale: int, arg: str) -> np.ndarray:
    out = np.empty(len(units), np.int64)
    for i, (u, c) in enumerate(zip(units.tolist(), currencies)):
        r = rates.get(c)
        if r is None:
            raise ValidationError("has a currency without an fx rate", argument=arg, column="currency",
                                  row=i, value=c, expected=f"one of {sorted(rates)}",
                                  hint="add the currency to the fx frame")
        out[i] = to_units(from_units(round_units(Fraction(u, 10**scale) * r, scale), scale), scale,
                          argument=arg)
    return out


def currency_exposure(cash: Any, fx: Any, /, *, amount: str = "amount", base_currency: str = "USD",
                      scale: int = DEFAULT_SCALE) -> Any:
    """Cash per portfolio and currency in base currency, with each currency's share.

    Parameters
    ----------
    cash : frame
        ``portfolio_id``, ``currency`` and an amount column (for example a
        :meth:`Ledger.balances` frame with ``amount="total"``); rows with the
        same portfolio and currency are added.
    fx : frame
        ``currency``, ``rate``: value in base currency of one unit.
    amount : str, keyword-only
        Name of the amount column.
    base_currency : str, keyword-only
        Currency of the ``base_value`` column (rate 1 if missing from ``fx``).

    Returns
    -------
    frame
        The caller's kind: ``portfolio_id``, ``currency``, ``amount``,
        ``rate`` (float, for display), ``base_value`` (exact decimal) and
        ``share`` (float, of the portfolio's base total; NaN if that is 0).

    Notes
    -----
    ``base_value = round_half_even(amount * rate)`` per row, to the unit;
    rates are read exactly (floats at their shortest repr).

    Examples
    --------
    >>> import pyarrow as pa
    >>> cash = pa.table({"portfolio_id": ["A", "A"], "currency": ["USD", "EUR"],
    ...                  "amount": ["100", "50"]})
    >>> fx = pa.table({"currency": ["USD", "EUR"], "rate": [1.0, 1.2]})
    >>> e = currency_exposure(cash, fx)
    >>> [str(v) for v in e.column("base_value").to_pylist()], e.column("share").to_pylist()
    (['60.00000000', '100.00000000'], [0.375, 0.625])
    """
    from .balances import cash_balances

    scale = check_scale(scale)
    kind = frame_kind(cash)
    table = to_arrow(cash, "cash")
    require_columns(table, "cash", ["portfolio_id", "currency", amount])
    units = units_column(table, "cash", amount, scale)
    grouped = cash_balances(pa.table({"portfolio_id": table.column("portfolio_id"),
                                      "currency": table.column("currency"),
                                      "amount": units_to_arrow(units, scale),
                                      "status": pa.array(["settled"] * table.num_rows)}),
                            by=("portfolio_id", "currency"), scale=scale)
    order = np.lexsort((np.array(grouped.column("currency").to_pylist(), object).astype(str),
                        np.array(grouped.column("portfolio_id").to_pylist(), object).astype(str)))
    grouped = grouped.take(pa.array(order))
    rates = _rates(fx, base_currency)
    gu = units_column(grouped, "cash", "settled", scale)
    curs = grouped.column("currency").to_pylist()
    base = _to_base(gu, curs, rates, scale, "cash")
    pids = grouped.column("portfolio_id").to_pylist()
    totals: dict = {}
    for p, b in zip(pids, base.tolist()):
        totals[p] = totals.get(p, 0) + b
    share = np.array([float(Fraction(b, totals[p])) if totals[p] else np.nan
                      for p, b in zip(pids, base.tolist())])
    out = pa.table({"portfolio_id": grouped.column("portfolio_id"), "currency": grouped.column("currency"),
                    "amount": units_to_arrow(gu, scale),
                    "rate": pa.array([float(rates[c]) for c in curs], pa.float64()),
                    "base_value": units_to_arrow(base, scale), "share": pa.array(share, pa.float64())})
    return from_arrow(out, kind if kind != "other" else "arrow")


def hedge_suggestion(exposure: Any, /, *, target_ratio: float = 1.0, hedged: Any = None,
                     base_currency: str = "USD", scale: int = DEFAULT_SCALE) -> Any:
    """Amount of each foreign currency to hedge to reach a target hedge ratio.

    Parameters
    ----------
    exposure : frame
        ``portfolio_id``, ``currency``, ``amount`` (foreign-currency exposure,
        e.g. a :func:`currency_exposure` result or positions' market value).
    target_ratio : float, keyword-only
        Fraction of each foreign exposure to hedge (0 to 1; 1 = fully hedged).
    hedged : frame, optional
        ``portfolio_id``, ``currency``, ``amount``: exposure already hedged
        (positive = foreign currency sold forward).
    base_currency : str, keyword-only
        Base-currency rows are skipped.

    Returns
    -------
    frame
        ``portfolio_id``, ``currency``, ``exposure``, ``hedged``, ``target``,
        ``to_hedge`` (exact decimals; positive = sell that much more of the
        currency forward, negative = unwind).

    Notes
    -----
    :math:`\\text{to\\_hedge} = \\operatorname{round}(h^* E) - H` with
    exposure :math:`E`, target ratio :math:`h^*` and existing hedge :math:`H`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> exp = pa.table({"portfolio_id": ["A", "A"], "currency": ["USD", "EUR"],
    ...                 "amount": ["100", "1000"]})
    >>> h = hedge_suggestion(exp, target_ratio=0.5,
    ...                      hedged={"portfolio_id": ["A"], "currency": ["EUR"], "amount": ["200"]})
    >>> h.column("to_hedge").to_pylist()
    [Decimal('300.00000000')]
    """
    scale = check_scale(scale)
    ratio = _fraction(target_ratio, "target_ratio")
    if ratio > 1:
        raise ValidationError("is out of range", argument="target_ratio", value=target_ratio,
                              expected="a fraction in [0, 1]")
    kind = frame_kind(exposure)
    table = to_arrow(exposure, "exposure")
    require_columns(table, "exposure", ["portfolio_id", "currency", "amount"])
    units = units_column(table, "exposure", "amount", scale)
    keys = list(zip(id_column(table, "exposure", "portfolio_id").to_pylist(),
                    id_column(table, "exposure", "currency").to_pylist()))
    exp: dict = {}
    for k, u in zip(keys, units.tolist()):
        if k[1] != base_currency:
            exp[k] = exp.get(k, 0) + u
    held: dict = {}
    if hedged is not None:
        h = to_arrow(hedged, "hedged")
        require_columns(h, "hedged", ["portfolio_id", "currency", "amount"])
        hu = units_column(h, "hedged", "amount", scale)
        for k, u in zip(zip(id_column(h, "hedged", "portfolio_id").to_pylist(),
                            id_column(h, "hedged", "currency").to_pylist()), hu.tolist()):
            held[k] = held.get(k, 0) + u
            exp.setdefault(k, 0)
    order = sorted(exp, key=lambda k: (str(k[0]), str(k[1])))
    e = np.array([exp[k] for k in order], np.int64)
    hh = np.array([held.get(k, 0) for k in order], np.int64)
    target = np.array([round_units(Fraction(int(x), 10**scale) * ratio, scale) for x in e], np.int64)
    out = pa.table({"portfolio_id": pa.array([k[0] for k in order]),
                    "currency": pa.array([k[1] for k in order], pa.string()),
                    "exposure": units_to_arrow(e, scale), "hedged": units_to_arrow(hh, scale),
                    "target": units_to_arrow(target, scale),
                    "to_hedge": units_to_arrow(target - hh, scale)})
    return from_arrow(out, kind if kind != "other" else "arrow")


def flows_in_base(transactions: Any, fx: Any, /, *, base_currency: str = "USD",
                  by: tuple = ("portfolio_id", "kind", "currency"), scale: int = DEFAULT_SCALE) -> Any:
    """Cross-currency flows (settled and pending) summed per key and reported in base currency.

    Parameters
    ----------
    transactions : frame
        Ledger lines (e.g. :meth:`Ledger.transactions`): ``amount``,
        ``status``, ``currency`` and the ``by`` columns.
    fx : frame
        ``currency``, ``rate`` (value in base of one unit).
    by : tuple of str, keyword-only
        Keys; must include ``currency``.

    Returns
    -------
    frame
        The caller's kind, one row per key: the keys, ``amount`` (local
        currency) and ``base_value`` (exact decimals). Failed and cancelled
        lines are excluded; pending lines count.

    Notes
    -----
    Each key's local sum is exact; the base value is
    ``round_half_even(sum * rate)`` per key.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"portfolio_id": ["A", "A"], "kind": ["deposit", "deposit"],
    ...               "currency": ["EUR", "EUR"], "amount": ["10", "5"],
    ...               "status": ["settled", "pending"]})
    >>> flows_in_base(t, {"currency": ["EUR"], "rate": [1.1]}).column("base_value").to_pylist()
    [Decimal('16.50000000')]
    """
    from .balances import cash_balances

    if "currency" not in by:
        raise ValidationError("must include 'currency'", argument="by", value=list(by))
    scale = check_scale(scale)
    kind = frame_kind(transactions)
    b = to_arrow(cash_balances(to_arrow(transactions, "transactions"), by=by, scale=scale), "t")
    local = units_column(b, "t", "total", scale)
    base = _to_base(local, b.column("currency").to_pylist(), _rates(fx, base_currency), scale,
                    "transactions")
    out = b.select(list(by)).append_column("amount", units_to_arrow(local, scale)).append_column(
        "base_value", units_to_arrow(base, scale))
    return from_arrow(out, kind if kind != "other" else "arrow")
