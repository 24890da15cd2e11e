"""Rebalancing backtest: one portfolio over a price history, with costs, cash flows and taxes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import from_arrow
from ..kernels import backtest as K
from ._backtest_data import as_flows, as_rates, as_weights, calendar_mask, market_data

__all__ = ["BacktestResult", "PolicyContext", "backtest", "optimizer_policy"]

COSTS_FROM = ("value", "cash", "trades")
_METRICS = ("total_return", "annual_return", "annual_volatility", "sharpe_ratio", "sortino_ratio",
            "max_drawdown", "calmar_ratio")


@dataclass(frozen=True)
class PolicyContext:
    """What a policy callable sees on a rebalance date (nothing after that date).

    Attributes
    ----------
    index : int
        Row of the date in the price history.
    date : numpy.datetime64 or None
        The date (None for a price matrix without dates).
    assets : list
        Asset ids, in column order.
    prices : numpy.ndarray
        float64[index + 1, n_assets]: prices up to and including the date (read-only).
    weights : numpy.ndarray
        float64[n_assets]: current weights before trading.
    equity : float
        Portfolio value before trading.
    """

    index: int
    date: Any
    assets: list
    prices: np.ndarray
    weights: np.ndarray
    equity: float

    @property
    def returns(self) -> np.ndarray:
        """float64[index, n_assets]: simple returns up to the date."""
        return self.prices[1:] / self.prices[:-1] - 1.0


def optimizer_policy(optimizer: Callable, /, *, lookback: int = 252, min_history: int | None = None,
                     estimator: Callable | None = None, **options: Any) -> Callable[[PolicyContext], Any]:
    """A policy that runs a :mod:`pmcore.optimize` optimizer on trailing returns.

    Parameters
    ----------
    optimizer : callable
        Takes a covariance matrix (``pm.min_variance``, ``pm.risk_parity``, ...)
        and returns an :class:`~pmcore.optimize.OptimizeResult`.
    lookback : int, default 252
        Number of trailing returns given to ``estimator``.
    min_history : int, optional
        Before this many returns exist the policy returns equal weights
        (default: ``lookback``).
    estimator : callable, optional
        Returns matrix -> covariance; default :func:`pmcore.optimize.sample_covariance`.
    **options
        Passed to ``optimizer``.

    Returns
    -------
    callable
        ``policy(context) -> float64[n_assets]`` for :func:`backtest`.

    Examples
    --------
    >>> import numpy as np
    >>> import pmcore as pm
    >>> from pmcore.rebalance import backtest, optimizer_policy
    >>> rng = np.random.default_rng(0)
    >>> prices = 100 * np.cumprod(1 + rng.normal(0, [0.01, 0.02, 0.03], (400, 3)), axis=0)
    >>> res = backtest(prices, optimizer_policy(pm.min_variance, lookback=100), frequency=21)
    >>> bool(res.weights[-1, 0] > res.weights[-1, 2])    # the least volatile asset weighs most
    True
    """
    if lookback < 2:
        raise ValidationError("must be >= 2", argument="lookback", value=lookback)
    need = lookback if min_history is None else int(min_history)

    def policy(ctx: PolicyContext) -> np.ndarray:
        n = len(ctx.assets)
        if ctx.index < max(need, 2):
            return np.full(n, 1.0 / n)
        window = ctx.prices[-(lookback + 1):]
        r = window[1:] / window[:-1] - 1.0
        if estimator is None:
            from ..optimize import sample_covariance
            cov = sample_covariance(r)
        else:
            cov = estimator(r)
        w = np.asarray(optimizer(cov, **options).x, dtype=np.float64)
        return np.clip(w, 0.0, None) / max(np.clip(w, 0.0, None).sum(), 1.0)

    return policy


@dataclass(frozen=True, repr=False, eq=False)
class BacktestResult:
    """The path of a backtest; arrays have one row per date.

    Attributes
    ----------
    dates : numpy.ndarray or None
        datetime64[n_dates] (None for a price matrix without dates).
    assets : list
        Asset ids, in column order of ``weights``.
    equity, cash : numpy.ndarray
        float64[n_dates]: portfolio value and cash after the date's trades.
    weights : numpy.ndarray
        float64[n_dates, n_assets]: weights after the date's trades.
    returns : numpy.ndarray
        float64[n_dates]: time-weighted returns (flows taken out), row 0 NaN.
    turnover, costs, flows : numpy.ndarray
        float64[n_dates]: one-way turnover ``sum |trade| / (2 value)``, costs
        paid, and external flows of each date.
    rebalanced : numpy.ndarray
        bool[n_dates]: True on the dates the portfolio traded.
    postponed : numpy.ndarray
        bool[n_dates]: True on the dates a due rebalance was held back by the
        volatility pause (``volatility_limit`` of :func:`backtest`).
    realized_short_term, realized_long_term : numpy.ndarray
        float64[n_dates]: realized gains (losses < 0) of each date.
    tax : float
        Tax estimate (see :func:`backtest`).
    metrics : dict
        pmcore.metrics of ``returns[1:]``.
    kind : str
        Kind of frame that conversions without an argument return.
    """

    dates: np.ndarray | None
    assets: list
    equity: np.ndarray
    cash: np.ndarray
    weights: np.ndarray
    returns: np.ndarray
    turnover: np.ndarray
    costs: np.ndarray
    flows: np.ndarray
    rebalanced: np.ndarray
    realized_short_term: np.ndarray
    realized_long_term: np.ndarray
    tax: float
    metrics: dict = field(default_factory=dict)
    kind: str = "arrow"
    postponed: np.ndarray | None = None

    @property
    def n_rebalances(self) -> int:
        """Number of dates on which the portfolio traded (the first investment included)."""
        return int(self.rebalanced.sum())

    @property
    def n_postponed(self) -> int:
        """Number of rebalances postponed by the volatility pause (a run of postponed dates counts once)."""
        if self.postponed is None or not len(self.postponed):
            return 0
        p = self.postponed
        return int(p[0]) + int((p[1:] & ~p[:-1]).sum())

    @property
    def total_costs(self) -> float:
        """Sum of costs paid."""
        return float(self.costs.sum())

    @property
    def total_turnover(self) -> float:
        """Sum of one-way turnover after the first date (the initial investment left out)."""
        return float(self.turnover[1:].sum())

    def _index(self) -> dict:
        if self.dates is None:
            return {"period": np.arange(len(self.equity))}
        return {"date": self.dates}

    def _table(self, what: str) -> pa.Table:
        if what == "equity":
            return pa.table({**self._index(), "equity": self.equity, "cash": self.cash,
                             "returns": self.returns, "turnover": self.turnover, "costs": self.costs,
                             "flows": self.flows, "rebalanced": self.rebalanced,
                             "realized_short_term": self.realized_short_term,
                             "realized_long_term": self.realized_long_term})
        if what == "weights":
            return pa.table({**self._index(), **{str(a): self.weights[:, j] for j, a in enumerate(self.assets)}})
        raise ValidationError("is not a table", argument="what", value=what, expected="'equity' or 'weights'")

    def to_arrow(self, what: str = "equity") -> pa.Table:
        """The path per date (``"equity"``) or the weights per date and asset (``"weights"``)."""
        return self._table(what)

    def to_polars(self, what: str = "equity"):
        """As :meth:`to_arrow`, as a polars DataFrame."""
        return from_arrow(self._table(what), "polars")

    def to_pandas(self, what: str = "equity"):
        """As :meth:`to_arrow`, as a pandas DataFrame."""
        return from_arrow(self._table(what), "pandas")

    def to_frame(self, what: str = "equity"):
        """As :meth:`to_arrow`, in the kind of frame the prices came in (arrow for a matrix)."""
        return from_arrow(self._table(what), self.kind if self.kind != "numpy" else "arrow")

    def __repr__(self) -> str:
        m = self.metrics
        return (f"BacktestResult({len(self.equity)} dates x {len(self.assets)} assets, "
                f"final equity {self.equity[-1]:,.2f}, {self.n_rebalances} rebalances, "
                f"turnover {self.total_turnover:.4f}, costs {self.total_costs:,.2f}, "
                f"annual return {m.get('annual_return', float('nan')):.4f}, "
                f"max drawdown {m.get('max_drawdown', float('nan')):.4f})"
                if len(self.equity) else "BacktestResult(empty)")


class _Progress:
    """A text bar on stderr, redrawn between kernel chunks."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        if enabled is None:
            enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self.enabled = enabled and total > 0
        self.total = total

    def update(self, done: int) -> None:
        if self.enabled:
            filled = int(30 * done / self.total)
            sys.stderr.write(f"\rbacktest [{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} dates")
            if done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def backtest(
    prices: Any,
    targets: Any,
    /,
    *,
    frequency: str | int | None = "monthly",
    threshold: float | None = None,
    relative_threshold: float | None = None,
    min_interval_days: int = 0,
    commission_bps: Any = 0.0,
    half_spread_bps: Any = 0.0,
    costs_from: str = "value",
    cost_model: Any = None,
    initial_value: float = 1_000_000.0,
    flows: Any = None,
    short_term_rate: float = 0.0,
    long_term_rate: float = 0.0,
    long_term_days: int = 365,
    volatility_limit: float | None = None,
    volatility_window: int = 21,
    periods_per_year: float = 252,
    dates: Any = None,
    date_column: str = "date",
    asset_column: str = "instrument_id",
    price_column: str = "price",
    progress: bool | None = None,
) -> BacktestResult:
    """Backtest a portfolio rebalanced to target weights over a price history.

    Parameters
    ----------
    prices : frame or array-like
        Wide frame (a ``date_column`` and one column per asset; a pandas
        DatetimeIndex serves as dates), long frame (``date_column``,
        ``asset_column``, ``price_column``), or a float matrix ``(n_dates,
        n_assets)`` (assets ``0 .. n_assets - 1``; ``dates`` optional). Prices
        are > 0 and dates strictly increasing.
    targets : mapping, sequence or callable
        Target weights: ``{asset: weight}`` (absent assets 0), a sequence of
        ``n_assets`` weights, or a policy ``f(PolicyContext) -> weights`` (or
        None to skip the rebalance) called on each date the trigger fires
        (and on the first date). Weights are >= 0 and sum to at most 1; the
        rest is cash, which earns nothing.
    frequency : {"daily", "weekly", "monthly", "quarterly", "yearly"}, int or None
        Calendar trigger: the first date of each period (ISO weeks), or every
        ``k``-th row. None: every date (with ``threshold``, a pure drift trigger).
    threshold : float, optional
        Drift trigger: rebalance only when ``max_i |w_i - target_i| > threshold``
        (absolute weight, 0.05 = 5 points; drift within 1e-12 of the threshold
        is taken as rounding). With a ``frequency`` it is checked on calendar
        dates only (calendar-and-threshold).
    relative_threshold : float, optional
        Relative tolerance band: also fire when ``|w_i - target_i| / target_i >
        relative_threshold`` for an asset with a target > 0 (0.25 = 25 % of
        its target; with ``threshold=0.05`` this is the "5/25" band).
    min_interval_days : int, default 0
        Calendar days that must pass after a rebalance before the next one.
    commission_bps, half_spread_bps : float, mapping or sequence, default 0
        Proportional cost per traded notional, in basis points (scalar or per
        asset); they add up: ``rate = (commission_bps + half_spread_bps) / 10_000``.
    costs_from : {"value", "cash", "trades"}, default "value"
        How trades pay their costs (see Notes).
    cost_model : pmcore.rebalance.CostModel, optional
        Takes its ``commission_bps`` and ``half_spread_bps`` instead of the two
        arguments above. The backtest's costs are proportional to notional:
        a model with a per-share or minimum commission, or a market-impact
        term (both ``daily_volatility`` and ``adv`` set), raises.
    initial_value : float, default 1,000,000
        Cash on the first date, invested at its close.
    flows : mapping, frame or array-like, optional
        Deposits (> 0) and withdrawals (< 0): ``{date: amount}`` (row numbers
        without dates), a frame with columns ``date`` and ``amount``, or one
        amount per date. A flow lands in cash before that date's trigger.
    short_term_rate, long_term_rate : float, default 0
        Tax rates on realized short- and long-term gains (0.37 = 37 %).
    long_term_days : int, default 365
        A lot held more than this many calendar days is long term.
    volatility_limit : float or None, keyword-only
        Volatility pause (as ``volatility_limit`` of
        :func:`pmcore.rebalance.check_triggers`): postpone a rebalance that is
        due while the portfolio's trailing volatility is above this
        annualized limit (0.25 = 25 % a year; see Notes). None or inf: no pause.
    volatility_window : int, default 21
        Number of trailing daily returns (rows) the volatility is measured
        over, >= 2.
    periods_per_year : float, default 252
        For the annualized metrics and the annualized trailing volatility.
    dates : array-like, optional
        Dates of the rows of a price matrix.
    date_column, asset_column, price_column : str
        Column names of frame inputs.
    progress : bool or None, default None
        Text progress bar on stderr, redrawn between kernel chunks; None
        shows it only when stderr is a terminal.

    Returns
    -------
    BacktestResult
        Equity curve, weights, turnover, costs, flows, realized gains, tax
        estimate and metrics; ``to_frame()`` mirrors the input kind.

    Notes
    -----
    On date :math:`t` the flow lands in cash, the book is valued at
    :math:`p_t` (value :math:`V`, holdings :math:`H_i`) and, if the trigger
    fires, it trades :math:`u_i` at :math:`p_t` with cost :math:`c_i |u_i|`:

    - ``"value"`` (default): costs come out of the value traded, so that the
      weights after trading equal the targets exactly:
      :math:`u_i = w_i (V - C) - H_i` with :math:`C = \\sum_i c_i |u_i|`
      (solved exactly).
    - ``"cash"``: trade to :math:`w_i V` and pay :math:`C` from cash
      (cvxportfolio's ``MarketSimulator`` with ``TransactionCost(a=c, b=None)``).
    - ``"trades"``: each asset's cash flow, costs included, is
      :math:`w_i V - H_i`: :math:`u_i = (w_i V - H_i) / (1 \\pm c_i)` (bt's
      ``Rebalance`` with ``commission_fn = c |q| p``). A zero target sells all.

    ``equity[t]`` is the value after the date's trades; the value before them
    is ``equity[t] + costs[t]`` (cvxportfolio reports that one).
    ``returns[t] = (equity[t] - flows[t]) / equity[t-1] - 1``.

    Tax estimate: average cost per asset (costs added to the basis of buys and
    taken from the proceeds of sells); a sale's gain is
    :math:`q p - c |u| - q \\bar b`. Shares sold are dated first-in first-out
    (the rule for average-cost shares) and the gain is split short/long term
    in proportion. ``tax = short_term_rate * max(S, 0) + long_term_rate *
    max(L, 0)`` with :math:`S, L` the realized gains summed over the run:
    losses offset gains of their own term only, there is no carry-over, and
    the estimate is not deducted from equity.

    Volatility pause: on date :math:`t` the trailing volatility is
    :math:`\\sigma_t = \\sqrt{P}\\,\\mathrm{std}(r_{t-n}, \\dots, r_{t-1})`
    (sample standard deviation, ``ddof=1``, of the portfolio's own ``returns``
    above over the last :math:`n` = ``volatility_window`` rows, :math:`P` =
    ``periods_per_year``): it uses nothing after the previous close, and is
    undefined (no pause) until :math:`n` returns exist. When the trigger fires
    on a date where :math:`\\sigma_t >` ``volatility_limit``, the rebalance is
    postponed (``result.postponed``) and carried forward: every later date is
    then checked as if it were a calendar date (minimum interval and drift
    thresholds included), and the portfolio rebalances on the first one where
    :math:`\\sigma_t` is back at or under the limit; a carried rebalance whose
    drift threshold no longer fires is dropped. Calendar dates that fall
    while one is carried merge with it (``result.n_postponed`` counts each run
    of postponed dates once). The first investment is never postponed.

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.rebalance import backtest
    >>> prices = np.array([[100.0, 50.0], [110.0, 50.0], [121.0, 50.0]])
    >>> res = backtest(prices, [0.5, 0.5], frequency="daily", initial_value=1000.0)
    >>> res.equity.round(2).tolist()    # +5 % a day: half the book gains 10 %
    [1000.0, 1050.0, 1102.5]
    >>> res.weights[-1].tolist()
    [0.5, 0.5]
    """
    if costs_from not in COSTS_FROM:
        raise ValidationError("is not a cost convention", argument="costs_from", value=costs_from,
                              expected=f"one of {COSTS_FROM}")
    for name, v in (("initial_value", initial_value),):
        if not (np.isfinite(v) and v > 0):
            raise ValidationError("must be a finite number > 0", argument=name, value=v)
    for name, v in (("short_term_rate", short_term_rate), ("long_term_rate", long_term_rate)):
        if not (np.isfinite(v) and 0 <= v <= 1):
            raise ValidationError("is not a tax rate", argument=name, value=v, expected="a fraction in [0, 1]")
    for name, v in (("threshold", threshold), ("relative_threshold", relative_threshold)):
        if v is not None and not (np.isfinite(v) and v >= 0):
            raise ValidationError("must be a finite number >= 0", argument=name, value=v)
    vol_limit = _volatility_limit(volatility_limit)
    if isinstance(volatility_window, bool) or not isinstance(volatility_window, (int, np.integer)) \
            or volatility_window < 2:
        raise ValidationError("is not a window", argument="volatility_window", value=volatility_window,
                              expected="an int >= 2 (number of returns)")
    if not (isinstance(periods_per_year, (int, float, np.integer, np.floating))
            and np.isfinite(periods_per_year) and periods_per_year > 0):
        raise ValidationError("must be a finite number > 0", argument="periods_per_year", value=periods_per_year)
    if min_interval_days < 0 or long_term_days < 0:
        raise ValidationError("must be >= 0", argument="min_interval_days" if min_interval_days < 0
                              else "long_term_days", value=min(min_interval_days, long_term_days))
    market = market_data(prices, dates, date_column, asset_column, price_column)
    P, assets = market.prices, market.assets
    T, N = P.shape
    policy = targets if callable(targets) else None
    target = np.zeros(N) if policy is not None else as_weights(targets, assets, "targets")
    if cost_model is not None:
        commission_bps, half_spread_bps = _proportional(cost_model, commission_bps, half_spread_bps)
    rates = (as_rates(commission_bps, assets, "commission_bps")
             + as_rates(half_spread_bps, assets, "half_spread_bps")) / 1e4
    if (rates >= 1).any():
        raise ValidationError("add up to 100 % or more of the notional", argument="commission_bps",
                              value=float(rates.max() * 1e4), expected="less than 10,000 bps")
    cal = calendar_mask(market, frequency)
    cash_flows = as_flows(flows, market)
    mode = {"value": K.MODE_VALUE, "cash": K.MODE_CASH, "trades": K.MODE_TRADES}[costs_from]
    absolute = np.inf if threshold is None else float(threshold)
    relative = np.inf if relative_threshold is None else float(relative_threshold)
    if threshold is None and relative_threshold is None:
        absolute = -1.0  # calendar only
    params = np.array([absolute, float(min_interval_days), float(long_term_days), float(mode), relative,
                       vol_limit, float(volatility_window), float(periods_per_year)])
    shares, basis = np.zeros(N), np.zeros(N)
    lots = np.zeros((N, T))
    head = np.zeros(N, dtype=np.int64)
    state = np.zeros(K.N_STATE)
    state[[K.S_CASH, K.S_LAST_DAY, K.S_PENDING]] = float(initial_value), -np.inf, 1.0
    out = np.zeros((T, K.N_OUT))
    weights = np.zeros((T, N))
    bar = _Progress(T, progress)
    chunk = max(T // 50, 64) if bar.enabled else T
    t = 0
    while t < T:
        stop = min(t + chunk, T)
        if policy is not None and state[K.S_PENDING] >= 1.0:
            value = state[K.S_CASH] + cash_flows[t] + float(shares @ P[t])
            ctx = PolicyContext(t, None if market.dates is None else market.dates[t], assets,
                                P[: t + 1], shares * P[t] / value if value > 0 else np.zeros(N), value)
            ctx.prices.flags.writeable = False
            chosen = policy(ctx)
            if chosen is None:  # keep the book: date t runs without a rebalance
                state[K.S_PENDING] = -1.0
            else:
                target = as_weights(chosen, assets, "targets")
        t = K.simulate(P, market.days, cash_flows, cal, target, rates, params, shares, basis, lots, head,
                       state, out, weights, t, stop, policy is not None)
        bar.update(t)
    return _result(market, out, weights, cash_flows, short_term_rate, long_term_rate, periods_per_year)


def _volatility_limit(value: Any) -> float:
    """The annualized volatility limit as a float (inf for None)."""
    if value is None:
        return np.inf
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not value >= 0:
        raise ValidationError("is out of range", argument="volatility_limit", value=value,
                              expected="an annualized volatility >= 0 (0.25 = 25 %), or None")
    return float(value)


def _proportional(model: Any, commission_bps: Any, half_spread_bps: Any) -> tuple[float, float]:
    """(commission_bps, half_spread_bps) of a CostModel whose costs are proportional to notional."""
    if not (np.isscalar(commission_bps) and commission_bps == 0 and np.isscalar(half_spread_bps)
            and half_spread_bps == 0):
        raise ValidationError("is given with commission_bps or half_spread_bps", argument="cost_model",
                              hint="give the rates in the model or as arguments, not both")
    try:
        per_share, minimum = float(model.commission_per_share), float(model.min_commission)
        impact = np.isfinite(model.daily_volatility) and np.isfinite(model.adv)
        rates = float(model.commission_bps), float(model.half_spread_bps)
    except AttributeError as exc:
        raise ValidationError("is not a CostModel", argument="cost_model", value=type(model).__name__) from exc
    if per_share or minimum or impact:
        raise ValidationError("has costs that are not proportional to notional", argument="cost_model",
                              value=model, expected="commission_bps and half_spread_bps only",
                              hint="the backtest charges (commission_bps + half_spread_bps) per traded notional")
    return rates


def _result(market, out, weights, flows, short_rate, long_rate, periods_per_year) -> BacktestResult:
    from .. import metrics as pm

    equity = out[:, K.EQUITY].copy()
    returns = np.full(len(equity), np.nan)
    if len(equity) > 1:
        prev = equity[:-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            returns[1:] = np.where(prev > 0, (equity[1:] - flows[1:]) / prev - 1.0, np.nan)
    r = returns[1:]
    metrics = {}
    if len(r) and np.isfinite(r).all():
        kw = {"periods_per_year": periods_per_year}
        metrics = {
            "total_return": float(pm.total_return(r)),
            "annual_return": float(pm.annual_return(r, **kw)),
            "annual_volatility": float(pm.annual_volatility(r, **kw)),
            "sharpe_ratio": float(pm.sharpe_ratio(r, **kw)),
            "sortino_ratio": float(pm.sortino_ratio(r, **kw)),
            "max_drawdown": float(pm.max_drawdown(r)),
            "calmar_ratio": float(pm.calmar_ratio(r, **kw)),
        }
    else:
        metrics = dict.fromkeys(_METRICS, float("nan"))
    short, long_ = out[:, K.GAIN_SHORT].copy(), out[:, K.GAIN_LONG].copy()
    tax = short_rate * max(float(short.sum()), 0.0) + long_rate * max(float(long_.sum()), 0.0)
    return BacktestResult(
        dates=market.dates, assets=list(market.assets), equity=equity, cash=out[:, K.CASH].copy(),
        weights=weights, returns=returns, turnover=out[:, K.TURNOVER].copy(), costs=out[:, K.COSTS].copy(),
        flows=flows, rebalanced=out[:, K.REBALANCED] > 0, realized_short_term=short,
        realized_long_term=long_, tax=tax, metrics=metrics, kind=market.kind,
        postponed=out[:, K.POSTPONED] > 0,
    )
