"""The margin-aware withdrawal rule: a :class:`Ledger` ``margin_check`` built from pmcore.margin."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Any

from ..errors import ValidationError
from .amounts import DEFAULT_SCALE, check_scale

__all__ = ["margin_withdrawal_check"]


def margin_withdrawal_check(state: Any, fx: Any = None, /, *, base_currency: str = "USD",
                            min_level_pct: float | None = None,
                            scale: int = DEFAULT_SCALE) -> Callable[[Any, str, Decimal], Decimal | None]:
    """A ``margin_check`` for :class:`Ledger` from a :class:`pmcore.margin.MarginState`.

    Parameters
    ----------
    state : pmcore.margin.MarginState
        Margin state of the accounts (current: rebuild it when positions,
        prices or cash change).
    fx : frame or mapping, optional
        ``currency``, ``rate`` (value in base of one unit) to convert the
        limit to the withdrawal's currency; default: withdrawals in the base
        currency only.
    base_currency : str, keyword-only
        Currency of the margin state's amounts.
    min_level_pct : float, keyword-only
        Margin level (percent) to keep after the withdrawal (see
        :func:`pmcore.margin.max_withdrawal`).

    Returns
    -------
    callable
        ``check(portfolio_id, currency, amount) -> Decimal or None``: the
        largest withdrawal the margin rules allow (rounded down to the unit),
        or None for a portfolio that is not a margin account.

    Notes
    -----
    The rule is :func:`pmcore.margin.max_withdrawal` with ``reserve=0`` (the
    ledger applies its own reserve buffer): free margin stays >= 0 and equity
    above maintenance margin. The limit is a float computed by the margin
    module, converted exactly to a Decimal and floored.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.margin import margin_state
    >>> from pmcore.cash import Ledger, Limits
    >>> st = margin_state(pa.table({"portfolio_id": ["F"], "instrument_id": ["BTC"],
    ...                             "quantity": [0.1], "avg_price": [60_000.0]}),
    ...                   {"instrument_id": ["BTC"], "price": [60_000.0]},
    ...                   instruments=pa.table({"instrument_id": ["BTC"], "currency": ["USD"]}),
    ...                   cash=pa.table({"portfolio_id": ["F"], "currency": ["USD"], "amount": [2_000.0]}),
    ...                   accounts={"F": "margin"}, leverage=10)
    >>> led = Ledger(limits=Limits(reserve_ratio=0), margin_check=margin_withdrawal_check(st))
    >>> _ = led.deposit("F", "USD", 2000, trade_date="2026-11-20", status="settled")
    >>> led.withdraw("F", "USD", 1500, trade_date="2026-11-20")
    Traceback (most recent call last):
    ...
    pmcore.errors.ValidationError: withdrawal: column 'amount': W000002 refused: breaks the margin rules (at most 1400.00000000 USD may be withdrawn); got 1500, expected an amount <= 1400.00000000. Hint: close positions or add margin first
    """
    from ..frames import to_arrow
    from ..margin import max_withdrawal

    scale = check_scale(scale)
    table = to_arrow(max_withdrawal(state, reserve=0.0, min_level_pct=min_level_pct), "state")
    limits = dict(zip(table.column("portfolio_id").to_pylist(),
                      table.column("max_withdrawal").to_pylist()))
    rates: dict[str, Fraction] = {base_currency: Fraction(1)}
    if fx is not None:
        from .fx import _rates
        rates.update(_rates(fx, base_currency))
    quantum = Decimal(1).scaleb(-scale)

    def check(portfolio_id: Any, currency: str, amount: Decimal) -> Decimal | None:
        limit = limits.get(portfolio_id)
        if limit is None:
            return None
        rate = rates.get(currency)
        if rate is None:
            raise ValidationError("has no fx rate for the margin rule", argument="currency",
                                  value=currency, expected=f"one of {sorted(rates)}",
                                  hint="pass fx= to margin_withdrawal_check")
        exact = Fraction(float(limit)) / rate
        return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(quantum, ROUND_FLOOR)

    return check
