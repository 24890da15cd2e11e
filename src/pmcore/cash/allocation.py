"""Allocation of cash across strategies: weights, exact splits, reallocation transfers, tracking."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import from_arrow, to_arrow
from ._frames import check_kind
from .amounts import DEFAULT_SCALE, from_units, to_units, units_to_arrow

__all__ = [
    "METHODS",
    "Allocation",
    "allocation_weights",
    "apply_allocation",
    "apply_transfers",
    "cash_history",
    "plan_allocation",
    "split_exact",
]

METHODS = ("equal", "target", "inverse_volatility", "volatility_target", "performance")


def _returns_matrix(returns: Any, strategies: list[str]) -> np.ndarray:
    if isinstance(returns, np.ndarray):
        r = np.asarray(returns, np.float64)
        if r.ndim != 2 or r.shape[1] != len(strategies):
            raise ValidationError("has the wrong shape", argument="returns", value=r.shape,
                                  expected=f"(n_obs, {len(strategies)}) in the order of strategies")
    else:
        table = to_arrow(returns, "returns")
        missing = [s for s in strategies if s not in table.column_names]
        if missing:
            raise ValidationError(f"is missing strategy column {missing[0]!r}", argument="returns",
                                  value=table.column_names, expected="one column per strategy")
        r = np.column_stack([table.column(s).to_numpy(zero_copy_only=False).astype(np.float64)
                             for s in strategies]) if strategies else np.zeros((table.num_rows, 0))
    bad = ~np.isfinite(r)
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise ValidationError("holds a non-finite return", argument="returns", column=strategies[col],
                              row=row, value=float(r[row, col]), expected="finite returns")
    if r.shape[0] < 2:
        raise ValidationError("has fewer than 2 observations", argument="returns", value=r.shape[0],
                              expected=">= 2 rows")
    return r


def allocation_weights(strategies: Any, /, *, method: str = "equal", targets: Any = None,
                       returns: Any = None, target_volatility: float | None = None,
                       periods_per_year: int = 252, lookback: int | None = None) -> np.ndarray:
    """Fractions of the cash to give each strategy.

    Parameters
    ----------
    strategies : sequence of str
        Strategy names (n_strategies).
    method : {"equal", "target", "inverse_volatility", "volatility_target", "performance"}
        ``equal``: 1/n each. ``target``: the given ``targets``. ``inverse_volatility``
        (risk-adjusted): proportional to 1/sigma. ``volatility_target``:
        ``target_volatility / sigma_i / n`` each, scaled down if they add up to
        more than 1 (the rest stays unallocated). ``performance``: proportional to
        the positive part of the mean return (equal if none is positive).
    targets : mapping or sequence of float, keyword-only
        Target weights for ``method="target"`` (>= 0, sum <= 1).
    returns : frame or array (n_obs, n_strategies), keyword-only
        Periodic strategy returns (a column per strategy) for the risk and
        performance methods.
    target_volatility : float, keyword-only
        Annualized target volatility for ``volatility_target`` (``0.10`` = 10 %).
    periods_per_year : int, keyword-only
        Annualization of the sample volatility (default 252).
    lookback : int, keyword-only
        Use only the last ``lookback`` rows of ``returns``.

    Returns
    -------
    ndarray (n_strategies,)
        Weights >= 0 that add up to at most 1.

    Notes
    -----
    Volatility is the sample standard deviation (``ddof=1``) times
    :math:`\\sqrt{\\text{periods\\_per\\_year}}`; a strategy with zero
    volatility is refused by the risk methods.

    .. math:: w_i^{\\text{inv}} = \\frac{1/\\sigma_i}{\\sum_j 1/\\sigma_j}

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([[0.01, 0.02], [-0.01, -0.02], [0.01, 0.02]])
    >>> allocation_weights(["a", "b"], method="inverse_volatility", returns=r).round(4).tolist()
    [0.6667, 0.3333]
    """
    strategies = [str(s) for s in strategies]
    n = len(strategies)
    if len(set(strategies)) != n:
        raise ValidationError("has a duplicate strategy", argument="strategies", value=strategies)
    if method not in METHODS:
        raise ValidationError("is not an allocation method", argument="method", value=method,
                              expected=f"one of {list(METHODS)}")
    if n == 0:
        return np.zeros(0)
    if method == "equal":
        return np.full(n, 1.0 / n)
    if method == "target":
        if targets is None:
            raise ValidationError("is required for method='target'", argument="targets")
        if isinstance(targets, dict):
            unknown = [k for k in targets if str(k) not in strategies]
            if unknown:
                raise ValidationError("names an unknown strategy", argument="targets", value=unknown[0],
                                      expected=f"one of {strategies}")
            w = np.array([float(targets.get(s, 0.0)) for s in strategies])
        else:
            w = np.asarray(targets, np.float64)
            if w.shape != (n,):
                raise ValidationError("has the wrong length", argument="targets", value=len(w),
                                      expected=f"{n} weights")
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValidationError("holds an invalid weight", argument="targets", value=w.tolist(),
                                  expected="finite weights >= 0")
        if w.sum() > 1 + 1e-12:
            raise ValidationError("adds up to more than 1", argument="targets", value=float(w.sum()),
                                  expected="weights summing to at most 1")
        return w
    if returns is None:
        raise ValidationError(f"is required for method={method!r}", argument="returns")
    r = _returns_matrix(returns, strategies)
    if lookback is not None:
        r = r[-int(lookback):]
    if method == "performance":
        mu = np.clip(r.mean(axis=0), 0.0, None)
        return mu / mu.sum() if mu.sum() > 0 else np.full(n, 1.0 / n)
    vol = r.std(axis=0, ddof=1) * np.sqrt(periods_per_year)
    if (vol <= 0).any():
        j = int(np.flatnonzero(vol <= 0)[0])
        raise ValidationError("has zero volatility", argument="returns", column=strategies[j],
                              expected="returns that vary", hint="allocate to it with method='target'")
    if method == "inverse_volatility":
        inv = 1.0 / vol
        return inv / inv.sum()
    if target_volatility is None or not np.isfinite(target_volatility) or target_volatility <= 0:
        raise ValidationError("is required and must be > 0 for method='volatility_target'",
                              argument="target_volatility", value=target_volatility)
    w = target_volatility / vol / n
    return w / w.sum() if w.sum() > 1 else w


def split_exact(total_units: int, weights: Any) -> np.ndarray:
    """Split ``total_units`` by ``weights`` (sum <= 1) into int units, exactly.

    Notes
    -----
    Largest remainder: each share is floored to the unit, then the leftover
    units of :math:`\\lfloor T \\sum w \\rceil` go one each to the largest
    remainders (ties to the earlier strategy). The shares add up to
    ``round(T * sum(weights))`` exactly (``T`` when the weights sum to one).
    Weights are taken at their exact binary value.

    Examples
    --------
    >>> split_exact(100, [1/3, 1/3, 1/3]).tolist()
    [34, 33, 33]
    """
    w = [Fraction(float(x)) for x in np.asarray(weights, np.float64)]
    total = int(total_units)
    wsum = sum(w, Fraction(0))
    if abs(wsum - 1) < Fraction(1, 10**12):
        wsum = Fraction(1)
        w = [x / sum(w, Fraction(0)) for x in w] if w else w
    goal = round(total * wsum)
    shares = [total * x for x in w]
    floors = [s.numerator // s.denominator for s in shares]
    rest = goal - sum(floors)
    order = sorted(range(len(w)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[:max(rest, 0)]:
        floors[i] += 1
    return np.array(floors, np.int64)


@dataclass(frozen=True)
class Allocation:
    """A plan to bring each strategy's cash to its target, and the transfers that do it.

    Attributes
    ----------
    portfolio_id, currency, method : str
    strategies : tuple of str
    weights : ndarray
        Target fractions (sum <= 1).
    current, target, change : tuple of Decimal
        Each strategy's available cash now, its target, and target - current.
    transfers : tuple of (from_strategy, to_strategy, Decimal)
        Transfers that carry out the plan (each debit fits the available cash).

    Notes
    -----
    Built by :func:`plan_allocation`; the targets add up to the allocated
    amount exactly, and ``change = target - current``.

    Examples
    --------
    >>> from pmcore.cash import Ledger
    >>> led = Ledger(clock=lambda: 0)
    >>> _ = led.deposit("P", "USD", 100, trade_date="2026-11-20", status="settled")
    >>> plan = plan_allocation(led, "P", "USD", ["default", "x"])
    >>> plan.to_arrow().column("target").to_pylist()
    [Decimal('45.00000000'), Decimal('45.00000000')]
    """

    portfolio_id: Any
    currency: str
    method: str
    strategies: tuple
    weights: np.ndarray
    current: tuple
    target: tuple
    change: tuple
    transfers: tuple

    def to_arrow(self) -> pa.Table:
        """Per strategy: ``strategy``, ``weight``, ``current``, ``target``, ``change``.

        Notes
        -----
        Amounts are exact ``decimal128`` columns; weights are float64.

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> _ = led.deposit("P", "USD", 10, trade_date="2026-11-20", status="settled")
        >>> plan_allocation(led, "P", "USD", ["default", "x"]).to_arrow().column_names
        ['strategy', 'weight', 'current', 'target', 'change']
        """
        scale = max([-d.as_tuple().exponent for d in self.current + self.target] + [8])
        u = lambda xs: units_to_arrow(np.array([to_units(x, scale) for x in xs], np.int64), scale)
        return pa.table({"strategy": pa.array(list(self.strategies), pa.string()),
                         "weight": pa.array(self.weights, pa.float64()),
                         "current": u(self.current), "target": u(self.target), "change": u(self.change)})

    def to_polars(self):
        """:meth:`to_arrow` as a polars DataFrame.

        Notes
        -----
        Decimal columns stay exact (polars ``Decimal``).

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> _ = led.deposit("P", "USD", 10, trade_date="2026-11-20", status="settled")
        >>> plan_allocation(led, "P", "USD", ["default", "x"]).to_polars().height
        2
        """
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        """:meth:`to_arrow` as a pandas DataFrame.

        Notes
        -----
        Decimal columns become Python ``Decimal`` objects (exact).

        Examples
        --------
        >>> from pmcore.cash import Ledger
        >>> led = Ledger(clock=lambda: 0)
        >>> _ = led.deposit("P", "USD", 10, trade_date="2026-11-20", status="settled")
        >>> len(plan_allocation(led, "P", "USD", ["default", "x"]).to_pandas())
        2
        """
        return from_arrow(self.to_arrow(), "pandas")

    def __repr__(self) -> str:
        lines = [(f"Allocation({self.portfolio_id} {self.currency}, method={self.method!r}, "
                  f"{len(self.transfers)} transfers)")]
        for s, w, c, t in zip(self.strategies, self.weights, self.current, self.target):
            lines.append(f"  {s:<16} {w:7.2%}  {format(c, ',.2f'):>16} -> {format(t, ',.2f'):>16}")
        return "\n".join(lines)


def _transfers(current: list[int], target: list[int], names: list[str]) -> list[tuple[str, str, int]]:
    give = [(i, c - t) for i, (c, t) in enumerate(zip(current, target)) if c > t]
    take = [(i, t - c) for i, (c, t) in enumerate(zip(current, target)) if t > c]
    out = []
    gi = 0
    for j, need in take:
        while need > 0 and gi < len(give):
            i, have = give[gi]
            m = min(have, need)
            out.append((names[i], names[j], m))
            need -= m
            have -= m
            give[gi] = (i, have)
            if have == 0:
                gi += 1
    return out


def plan_allocation(ledger: Any, portfolio_id: Any, currency: str, strategies: Any, /, *,
                    method: str = "equal", amount: Any = None, **options: Any) -> Allocation:
    """Plan the allocation of a portfolio's cash in one currency across strategies.

    Parameters
    ----------
    ledger : Ledger
        Source of each strategy's available cash.
    portfolio_id, currency : str
    strategies : sequence of str
        Strategies to allocate to. Strategies of the portfolio not listed keep
        their cash.
    method : str, keyword-only
        See :func:`allocation_weights` (``options`` are passed on).
    amount : Decimal or str, keyword-only
        Cash to allocate (default: the listed strategies' available cash).

    Returns
    -------
    Allocation
        Targets and the transfers that reach them.

    Notes
    -----
    The amount must fit the available cash (settled minus pending out,
    locked and reserve, over the listed strategies), else
    :class:`~pmcore.errors.ValidationError`. Targets are split exactly by
    :func:`split_exact`, so they add up to the amount to the last unit;
    weights summing below one leave the rest where it is (in the strategies
    that had it, first the ones listed last).

    Examples
    --------
    >>> from pmcore.cash import Ledger
    >>> led = Ledger(clock=lambda: 0)
    >>> _ = led.deposit("P", "USD", 1000, trade_date="2026-11-20", status="settled")
    >>> plan = plan_allocation(led, "P", "USD", ["default", "trend", "carry"])
    >>> [str(t) for t in plan.target]
    ['300.00000000', '300.00000000', '300.00000000']
    >>> plan.transfers[0]
    ('default', 'trend', Decimal('300.00000000'))
    """
    names = [str(s) for s in strategies]
    weights = allocation_weights(names, method=method, **options)
    scale = ledger.scale
    current = [to_units(ledger.balance(portfolio_id, currency, strategy=s)["available"], scale)
               for s in names]
    avail = sum(max(c, 0) for c in current)
    goal = avail if amount is None else to_units(amount, scale, argument="amount")
    if goal < 0 or goal > avail:
        raise ValidationError(
            f"does not fit the available cash {format(from_units(avail, scale), 'f')} {currency} of "
            f"{portfolio_id} over {names}", argument="amount", value=amount,
            expected=f"an amount in [0, {format(from_units(avail, scale), 'f')}]")
    target = split_exact(goal, weights).tolist()
    leftover = avail - sum(target)
    keep = [max(c, 0) for c in current]
    # the unallocated rest stays where it is, taken from the end of the list first
    final = list(target)
    extra = leftover
    for i in reversed(range(len(names))):
        if extra <= 0:
            break
        add = min(extra, max(keep[i] - target[i], 0))
        final[i] += add
        extra -= add
    moves = _transfers([max(c, 0) for c in current], final, names)
    d = lambda x: from_units(x, scale)
    return Allocation(portfolio_id, str(currency), method, tuple(names), weights,
                      tuple(d(c) for c in current), tuple(d(t) for t in final),
                      tuple(d(t - max(c, 0)) for c, t in zip(current, final)),
                      tuple((a, b, d(m)) for a, b, m in moves))


def apply_transfers(ledger: Any, transfers: Any, /, *, trade_date: Any = None, actor: str = "system",
                    memo: str = "", at: Any = None) -> list[str]:
    """Record a frame of transfers between strategies in ``ledger``, all or nothing.

    Parameters
    ----------
    ledger : Ledger
    transfers : frame
        ``portfolio_id``, ``currency``, ``from_strategy``, ``to_strategy``,
        ``amount`` (e.g. a :func:`sweep_plan` result).
    trade_date, actor, memo, at : keyword-only
        As for :meth:`Ledger.transfer`.

    Returns
    -------
    list of str
        The transfer ids.

    Notes
    -----
    The total each source strategy gives is checked against its available
    cash (before the reserve) first, under the ledger's lock; if any does not
    fit, nothing is written and :class:`~pmcore.errors.ValidationError` names
    the strategy.

    Examples
    --------
    >>> from pmcore.cash import Ledger
    >>> led = Ledger(clock=lambda: 0)
    >>> _ = led.deposit("P", "USD", 100, trade_date="2026-11-20", status="settled")
    >>> plan = {"portfolio_id": ["P"], "currency": ["USD"], "from_strategy": ["default"],
    ...         "to_strategy": ["mm"], "amount": ["60"]}
    >>> apply_transfers(led, plan, trade_date="2026-11-20")
    ['T000002']
    """
    from ..frames import require_columns
    from .amounts import units_column

    t = to_arrow(transfers, "transfers")
    require_columns(t, "transfers", ["portfolio_id", "currency", "from_strategy", "to_strategy", "amount"])
    units = units_column(t, "transfers", "amount", ledger.scale)
    rows = list(zip(t.column("portfolio_id").to_pylist(), t.column("currency").to_pylist(),
                    t.column("from_strategy").to_pylist(), t.column("to_strategy").to_pylist(),
                    units.tolist()))
    with ledger._lock:
        need: dict = {}
        for p, c, src, _dst, u in rows:
            need[(p, c, src)] = need.get((p, c, src), 0) + u
        for (p, c, src), u in need.items():
            b = ledger.balance(p, c, strategy=src)
            room = to_units(b["available"] + b["reserved"], ledger.scale)
            if u > room:
                raise ValidationError(
                    f"the plan no longer fits: strategy {src!r} of {p} has "
                    f"{format(b['available'] + b['reserved'], 'f')} {c} to give, the plan moves "
                    f"{format(from_units(u, ledger.scale), 'f')}", argument="transfers",
                    hint="plan again from the current ledger")
        return [ledger.transfer(p, c, from_units(u, ledger.scale), src, dst, trade_date=trade_date,
                                actor=actor, memo=memo, at=at) for p, c, src, dst, u in rows]


def apply_allocation(ledger: Any, plan: Allocation, /, *, trade_date: Any = None,
                     actor: str = "system", at: Any = None) -> list[str]:
    """Record the transfers of ``plan`` in ``ledger``, all or nothing (see :func:`apply_transfers`).

    Returns
    -------
    list of str
        The transfer ids.

    Notes
    -----
    If the ledger changed since the plan so that a debit no longer fits,
    nothing is written and :class:`~pmcore.errors.ValidationError` is raised.

    Examples
    --------
    >>> from pmcore.cash import Ledger
    >>> led = Ledger(clock=lambda: 0)
    >>> _ = led.deposit("P", "USD", 100, trade_date="2026-11-20", status="settled")
    >>> ids = apply_allocation(led, plan_allocation(led, "P", "USD", ["default", "x"]))
    >>> led.balance("P", "USD", strategy="x")["settled"]
    Decimal('45.00000000')
    """
    frame = {"portfolio_id": [plan.portfolio_id] * len(plan.transfers),
             "currency": [plan.currency] * len(plan.transfers),
             "from_strategy": [x[0] for x in plan.transfers], "to_strategy": [x[1] for x in plan.transfers],
             "amount": [str(x[2]) for x in plan.transfers]}
    return apply_transfers(ledger, frame, trade_date=trade_date, actor=actor,
                           memo=f"allocation ({plan.method})", at=at)


def cash_history(transactions: Any, dates: Any, /, *, by: Any = ("portfolio_id", "strategy", "currency"),
                 scale: int = DEFAULT_SCALE, kind: str | None = None) -> Any:
    """Cash of each strategy (or any key) at the end of each date, by value date.

    Parameters
    ----------
    transactions : frame
        Ledger lines (:meth:`Ledger.transactions`): ``amount``, ``status``,
        ``value_date`` and the ``by`` columns.
    dates : sequence of dates
        Sorted dates.

    Returns
    -------
    frame
        Long form: the keys, ``date``, ``cash`` (exact): the sum of every line
        that is not failed or cancelled with a value date on or before the date.

    Notes
    -----
    Unlike :func:`projected_cash`, a settled line counts from its value date,
    so the history shows each strategy's cash as it moved.

    Examples
    --------
    >>> from pmcore.cash import Ledger
    >>> led = Ledger(clock=lambda: 0)
    >>> _ = led.deposit("P", "USD", 100, trade_date="2026-11-20", settlement_days=0, status="settled")
    >>> _ = led.transfer("P", "USD", 40, "default", "x", trade_date="2026-11-23")
    >>> h = cash_history(led.transactions(), ["2026-11-20", "2026-11-23"])
    >>> [str(v) for v in h.column("cash").to_pylist()]
    ['100.00000000', '60.00000000', '0E-8', '40.00000000']
    """
    from ..frames import frame_kind
    from .balances import projected_cash

    out_kind = frame_kind(transactions) if kind is None else check_kind(kind)
    table = to_arrow(transactions, "transactions")
    from ._frames import status_codes
    codes = status_codes(table, "transactions")
    as_pending = pa.array(np.where(codes <= 1, "pending", "cancelled"))
    table = table.set_column(table.column_names.index("status"), "status", as_pending)
    result = projected_cash(table, dates, by=by, scale=scale)
    result = result.rename_columns([*result.column_names[:-1], "cash"])
    return from_arrow(result, out_kind if out_kind != "other" else "arrow")


