"""Allocation limits: position size, asset class, correlated groups, total risk; allocation report.

Allocation is a position's (or group's) net notional as a fraction of the
portfolio's equity (cash account: cash + market value; margin account: wallet
+ unrealized PnL), all in base currency. A *strategy* is a portfolio of the
book (one sub-account per strategy), so custom rules per strategy are limits
per ``portfolio_id``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ..book import Book
from ..errors import ValidationError
from ..frames import encode, float_column, frame_kind, from_arrow, id_column, require_columns, to_arrow
from ..kernels import valuation as kv
from ..market import align_fx, align_prices, position_portfolio
from ..valuation import _book, _revalue, _unit_scale

__all__ = ["AllocationLimits", "Breach", "LimitCheck", "AllocationReport", "correlated_groups",
           "check_allocation", "allocation_report"]


@dataclass(frozen=True)
class AllocationLimits:
    """Allocation rules, as fractions of equity.

    Parameters
    ----------
    min_position, max_position : float
        Smallest and largest position, absolute notional / equity (0.1 % and 10 %).
    max_total_risk : float
        Largest sum of the losses to the stops / equity (20 %).
    max_positions_per_symbol : int or None
        Most portfolios (strategies) of the book holding one instrument.
    max_asset_class : float, mapping or None
        Largest gross allocation per asset class (the instruments column
        ``asset_class``): one number or ``{asset_class: limit}``.
    max_correlated_group : float or None
        Largest gross allocation of a group of correlated instruments (25 %).
    """

    min_position: float = 0.001
    max_position: float = 0.10
    max_total_risk: float = 0.20
    max_positions_per_symbol: int | None = None
    max_asset_class: Any = None
    max_correlated_group: float | None = 0.25

    def __post_init__(self) -> None:
        for name in ("min_position", "max_position", "max_total_risk", "max_correlated_group"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf):
                raise ValidationError("must be a fraction >= 0", argument=name, value=v,
                                      expected="a finite number >= 0 (0.1 means 10 %)")
        if self.min_position > self.max_position:
            raise ValidationError("exceeds max_position", argument="min_position", value=self.min_position,
                                  expected=f"<= max_position ({self.max_position})")
        n = self.max_positions_per_symbol
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValidationError("must be a count >= 1", argument="max_positions_per_symbol", value=n)


@dataclass(frozen=True)
class Breach:
    """One limit a trade would break: its ``limit`` name, the ``value`` after the trade and the ``bound``."""

    limit: str
    value: float
    bound: float
    detail: str


@dataclass(frozen=True)
class LimitCheck:
    """Result of :func:`check_allocation`: ``allowed``, the ``breaches`` and the ``concentration`` after."""

    allowed: bool
    breaches: tuple = field(default_factory=tuple)
    concentration: float = 0.0

    def __repr__(self) -> str:
        if self.allowed:
            return f"LimitCheck(allowed, concentration={self.concentration:.2%})"
        names = ", ".join(b.limit for b in self.breaches)
        return f"LimitCheck(refused: {names}; concentration={self.concentration:.2%})"


def correlated_groups(returns: Any, /, *, threshold: float = 0.7, names: Any = None) -> Any:
    """Groups of instruments whose returns correlate above ``threshold``.

    Parameters
    ----------
    returns : frame or numpy.ndarray
        Returns history, one column per instrument (time on axis 0). A frame's
        non-numeric columns (e.g. a date) are ignored; an array needs ``names``.
    threshold : float, keyword-only
        Two instruments are linked when their correlation is above it
        (default 0.7); a group is a connected set of links.
    names : sequence, keyword-only
        Instrument ids of the array's columns.

    Returns
    -------
    frame
        The caller's kind (arrow for an array): instrument_id, group (0, 1,
        ... by first appearance), group_size.

    Notes
    -----
    Pearson correlation :math:`\\rho_{ij}` over the rows where both are
    finite; groups are the connected components of the graph with an edge
    where :math:`\\rho_{ij} > \\tau` (single linkage).

    Examples
    --------
    >>> import numpy as np
    >>> from pmcore.margin import correlated_groups
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=250)
    >>> r = np.column_stack([x, x + 0.1 * rng.normal(size=250), rng.normal(size=250)])
    >>> correlated_groups(r, names=["BTC", "ETH", "GLD"]).to_pylist()
    [{'instrument_id': 'BTC', 'group': 0, 'group_size': 2}, {'instrument_id': 'ETH', 'group': 0, 'group_size': 2}, {'instrument_id': 'GLD', 'group': 1, 'group_size': 1}]
    """
    from scipy.sparse.csgraph import connected_components

    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not -1 <= threshold < 1:
        raise ValidationError("must be a correlation", argument="threshold", value=threshold,
                              expected="a number in [-1, 1)")
    kind = frame_kind(returns)
    if isinstance(returns, np.ndarray):
        mat = np.asarray(returns, np.float64)
        if mat.ndim != 2:
            raise ValidationError("must be a matrix", argument="returns", value=mat.shape,
                                  expected="(n_obs, n_assets)")
        if names is None or len(names) != mat.shape[1]:
            raise ValidationError("must name every column", argument="names", value=names,
                                  expected=f"{mat.shape[1]} instrument ids")
        ids = list(names)
        kind = "arrow"
    else:
        table = to_arrow(returns, "returns")
        cols = [c for c in table.column_names
                if pa.types.is_floating(table.column(c).type) or pa.types.is_integer(table.column(c).type)]
        if not cols:
            raise ValidationError("has no numeric column", argument="returns",
                                  expected="one returns column per instrument")
        mat = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in cols])
        ids = cols
    n = mat.shape[1]
    ok = np.isfinite(mat)
    corr = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            both = ok[:, i] & ok[:, j]
            if both.sum() > 2:
                a, b = mat[both, i], mat[both, j]
                sa, sb = a.std(), b.std()
                corr[i, j] = ((a - a.mean()) * (b - b.mean())).mean() / (sa * sb) if sa > 0 and sb > 0 else 0.0
    adj = corr > threshold
    _, labels = connected_components(adj, directed=False)
    first: dict[int, int] = {}
    group = np.array([first.setdefault(int(g), len(first)) for g in labels], np.int64)
    size = np.bincount(group)[group] if n else np.zeros(0, np.int64)
    return from_arrow(pa.table({"instrument_id": pa.array(ids, pa.string()), "group": group,
                                "group_size": size}), kind)


def _group_vector(book: Book, groups: Any) -> np.ndarray:
    """Correlated group code per instrument (-1: in no group of two or more)."""
    out = np.full(book.n_instruments, -1, np.int64)
    if groups is None:
        return out
    table = to_arrow(groups, "groups")
    require_columns(table, "groups", ["instrument_id", "group"])
    ids = id_column(table, "groups", "instrument_id")
    g = float_column(table, "groups", "group").astype(np.int64)
    idx, _ = encode(ids, book.instrument_ids)
    keep = idx >= 0
    out[idx[keep]] = g[keep]
    sizes = np.bincount(out[out >= 0]) if (out >= 0).any() else np.zeros(0, np.int64)
    single = (out >= 0) & (sizes[np.maximum(out, 0)] < 2) if len(sizes) else np.zeros(len(out), bool)
    out[single] = -1
    return out


def _stops(book: Book, stops: Any) -> np.ndarray:
    """Stop price per position (book order), NaN where none is given."""
    out = np.full(book.n_positions, np.nan)
    if stops is None:
        return out
    table = to_arrow(stops, "stops")
    require_columns(table, "stops", ["portfolio_id", "instrument_id", "stop"])
    stop = float_column(table, "stops", "stop", positive=True)
    pcode, _ = encode(id_column(table, "stops", "portfolio_id"), book.portfolio_ids)
    icode, _ = encode(id_column(table, "stops", "instrument_id"), book.instrument_ids)
    key = position_portfolio(book) * book.n_instruments + book.instrument
    order = np.argsort(key)
    want = pcode.astype(np.int64) * book.n_instruments + icode
    at = np.minimum(np.searchsorted(key[order], want), max(len(order) - 1, 0))
    if len(order):
        hit = (pcode >= 0) & (icode >= 0) & (key[order][at] == want)
        out[order[at[hit]]] = stop[hit]
    return out


def _class_limits(book: Book, spec: Any) -> tuple[np.ndarray, np.ndarray, list]:
    """(class code per instrument, limit per class, class labels)."""
    if spec is None:
        return np.zeros(book.n_instruments, np.int64), np.array([np.inf]), [None]
    require_columns(book.instruments, "instruments", ["asset_class"])
    labels = book.instruments.column("asset_class").to_pylist()
    uniq = sorted({str(x) for x in labels})
    code = np.array([uniq.index(str(x)) for x in labels], np.int64)
    if isinstance(spec, Mapping):
        lim = np.array([float(spec.get(c, np.inf)) for c in uniq])
    else:
        lim = np.full(len(uniq), float(spec))
    return code, lim, uniq


def check_allocation(
    book: Any,
    prices: Any,
    fx: Any = None,
    /,
    portfolio_id: Any = None,
    instrument_id: Any = None,
    quantity: float = 0.0,
    *,
    limits: AllocationLimits | None = None,
    strategy_limits: Mapping | None = None,
    groups: Any = None,
    stop: float | None = None,
    stops: Any = None,
    instruments: Any = None,
    cash: Any = None,
    accounts: Any = None,
    base_currency: str | None = None,
) -> LimitCheck:
    """Which allocation limit a proposed trade would break.

    Parameters
    ----------
    book, prices, fx, instruments, cash, accounts, base_currency
        As for :func:`pmcore.value`.
    portfolio_id, instrument_id, quantity
        The trade: signed quantity added to the position.
    limits : AllocationLimits, keyword-only
        Default rules (the defaults of :class:`AllocationLimits`).
    strategy_limits : mapping, keyword-only
        ``{portfolio_id: AllocationLimits}``: custom rules per strategy.
    groups : frame, keyword-only
        Correlated groups (``instrument_id``, ``group``), e.g. from
        :func:`correlated_groups`.
    stop : float, keyword-only
        The trade's stop price, for the total-risk limit.
    stops : frame, keyword-only
        Stops of the open positions (``portfolio_id``, ``instrument_id``,
        ``stop``); positions without one carry no measured risk.

    Returns
    -------
    LimitCheck
        ``allowed``, the ``breaches`` (limit, value after the trade, bound,
        detail) and the concentration score after the trade.

    Notes
    -----
    After the trade, with equity :math:`E`, notionals :math:`N_i = q_i p_i u_i`:
    position allocation :math:`|N_i| / E` within ``[min_position,
    max_position]`` (a closed position is fine), asset class and correlated
    group :math:`\\sum_{i \\in g} |N_i| / E` under their caps, total risk
    :math:`\\sum_i |q_i| |p_i - s_i| u_i / E` under ``max_total_risk``, and the
    number of portfolios holding the instrument under
    ``max_positions_per_symbol``. Concentration score = :math:`\\max_i |N_i| / E`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.margin import check_allocation
    >>> positions = pa.table({"portfolio_id": ["S1"], "instrument_id": ["BTC"],
    ...                       "quantity": [1.0], "avg_price": [60_000.0]})
    >>> instruments = pa.table({"instrument_id": ["BTC", "ETH"], "currency": ["USD", "USD"],
    ...                         "asset_class": ["crypto", "crypto"]})
    >>> prices = pa.table({"instrument_id": ["BTC", "ETH"], "price": [60_000.0, 3_000.0]})
    >>> cash = pa.table({"portfolio_id": ["S1"], "currency": ["USD"], "amount": [540_000.0]})
    >>> check_allocation(positions, prices, None, "S1", "ETH", 10.0, instruments=instruments,
    ...                  cash=cash)
    LimitCheck(allowed, concentration=10.00%)
    >>> out = check_allocation(positions, prices, None, "S1", "ETH", 30.0, instruments=instruments,
    ...                        cash=cash, limits=AllocationLimits(max_asset_class=0.2))
    >>> [(b.limit, round(b.value, 3)) for b in out.breaches]
    [('max_position', 0.15), ('max_asset_class', 0.25)]
    """
    bk = _book(book, instruments, cash, accounts, base_currency)
    price_vec, _ = align_prices(bk, prices)
    fx_vec = align_fx(bk, fx)
    p = _code(bk.portfolio_ids, portfolio_id, "portfolio_id")
    i = _code(bk.instrument_ids, instrument_id, "instrument_id")
    if not (price_vec[i] > 0 and price_vec[i] < np.inf):
        raise ValidationError("has no price", argument="instrument_id", value=instrument_id)
    if isinstance(quantity, bool) or not isinstance(quantity, (int, float)) or not math.isfinite(quantity):
        raise ValidationError("must be a finite number", argument="quantity", value=quantity)
    rules = limits or AllocationLimits()
    if strategy_limits is not None and portfolio_id in strategy_limits:
        rules = strategy_limits[portfolio_id]
        if not isinstance(rules, AllocationLimits):
            raise ValidationError("must map portfolios to AllocationLimits", argument="strategy_limits",
                                  value=type(rules).__name__)
    scale = _unit_scale(bk, fx_vec)
    equity = float(_revalue(bk, price_vec, fx_vec).equity[p])
    lo, hi = int(bk.offsets[p]), int(bk.offsets[p + 1])
    inst = np.append(bk.instrument[lo:hi], i)
    qty = np.append(bk.quantity[lo:hi], 0.0)
    mine = np.flatnonzero(inst[:-1] == i)
    row = int(mine[0]) if len(mine) else len(inst) - 1
    qty[row] += quantity
    inst, qty = (inst, qty) if row == len(inst) - 1 else (inst[:-1], qty[:-1])
    stop_all = np.append(_stops(bk, stops)[lo:hi], np.nan)
    if stop is not None:
        stop_all[row] = stop
    stop_all = stop_all[: len(inst)]
    notional = np.abs(qty * price_vec[inst] * scale[inst])
    breaches = []
    if equity <= 0:
        breaches.append(Breach("equity", equity, 0.0, "equity is not positive: every allocation is unbounded"))
        return LimitCheck(False, tuple(breaches), math.inf)
    alloc = notional / equity
    a = float(alloc[row])
    iid = bk.instrument_ids[i].as_py()
    if a > rules.max_position:
        breaches.append(Breach("max_position", a, rules.max_position,
                               f"{iid} would be {a:.2%} of equity, above {rules.max_position:.2%}"))
    elif 0 < a < rules.min_position:
        breaches.append(Breach("min_position", a, rules.min_position,
                               f"{iid} would be {a:.2%} of equity, below {rules.min_position:.2%}"))
    code, lim, labels = _class_limits(bk, rules.max_asset_class)
    c = code[i]
    share = float(alloc[code[inst] == c].sum())
    if share > lim[c]:
        breaches.append(Breach("max_asset_class", share, float(lim[c]),
                               f"asset class {labels[c]!r} would be {share:.2%} of equity"))
    gvec = _group_vector(bk, groups)
    if rules.max_correlated_group is not None and gvec[i] >= 0:
        share = float(alloc[gvec[inst] == gvec[i]].sum())
        if share > rules.max_correlated_group:
            breaches.append(Breach("max_correlated_group", share, rules.max_correlated_group,
                                   f"correlated group {int(gvec[i])} would be {share:.2%} of equity"))
    if stop is not None or stops is not None:
        risk = np.abs(qty) * np.abs(price_vec[inst] - stop_all) * scale[inst]
        total = float(np.nansum(risk)) / equity
        if total > rules.max_total_risk:
            breaches.append(Breach("max_total_risk", total, rules.max_total_risk,
                                   f"loss to the stops would be {total:.2%} of equity"))
    if rules.max_positions_per_symbol is not None:
        held = (bk.instrument == i) & (bk.quantity != 0)
        owners = set(position_portfolio(bk)[held].tolist())
        owners.discard(p)
        count = len(owners) + (qty[row] != 0)
        if count > rules.max_positions_per_symbol:
            breaches.append(Breach("max_positions_per_symbol", float(count),
                                   float(rules.max_positions_per_symbol),
                                   f"{count} portfolios would hold {iid}"))
    return LimitCheck(not breaches, tuple(breaches), float(alloc.max()) if len(alloc) else 0.0)


def _code(ids: pa.Array, value: Any, arg: str) -> int:
    codes, _ = encode(pa.array([value], ids.type) if value is not None else pa.array([None], ids.type), ids)
    if value is None or codes[0] < 0:
        raise ValidationError("is not in the book", argument=arg, value=value)
    return int(codes[0])


@dataclass(frozen=True, repr=False)
class AllocationReport:
    """Current vs target allocation (:func:`allocation_report`).

    Attributes
    ----------
    groups : pyarrow.Table
        One row per portfolio and group: portfolio_id, <by>, allocation,
        target, drift (allocation - target), breach (above the limit).
    portfolios : pyarrow.Table
        One row per portfolio: portfolio_id, equity, concentration (largest
        absolute position notional / equity), largest (its instrument), positions.
    kind : str
    """

    groups: pa.Table
    portfolios: pa.Table
    kind: str

    def to_arrow(self) -> pa.Table:
        return self.groups

    def to_polars(self):
        return from_arrow(self.groups, "polars")

    def to_pandas(self):
        return from_arrow(self.groups, "pandas")

    def __repr__(self) -> str:
        lines = [f"AllocationReport({self.portfolios.num_rows} portfolios, {self.groups.num_rows} rows)"]
        for r in self.portfolios.to_pylist()[:5]:
            lines.append(f"  {r['portfolio_id']}: concentration {r['concentration']:.2%} ({r['largest']})")
        return "\n".join(lines)


def allocation_report(
    book: Any,
    prices: Any,
    fx: Any = None,
    /,
    *,
    by: str = "asset_class",
    targets: Any = None,
    limit: float | None = None,
    instruments: Any = None,
    cash: Any = None,
    accounts: Any = None,
    base_currency: str | None = None,
) -> AllocationReport:
    """Allocation per portfolio and group against targets, and each portfolio's concentration.

    Parameters
    ----------
    book, prices, fx, instruments, cash, accounts, base_currency
        As for :func:`pmcore.value`.
    by : str, keyword-only
        Grouping: an instruments column (``"asset_class"`` default,
        ``"sector"``, ...), ``"currency"`` or ``"instrument_id"``.
    targets : mapping or frame, keyword-only
        Target allocation (fraction of equity) per group: ``{group: target}``
        or a frame with ``<by>``, ``target`` and optionally ``portfolio_id``.
        Targeted groups a portfolio does not hold appear with allocation 0.
    limit : float, keyword-only
        Largest gross allocation of any group, for the ``breach`` column.

    Returns
    -------
    AllocationReport

    Notes
    -----
    Allocation of group :math:`g` = net exposure of :math:`g` / equity (as
    :func:`pmcore.exposures`); drift = allocation - target; concentration
    score = :math:`\\max_i |N_i| / E` over the portfolio's positions.

    Examples
    --------
    >>> from pmcore.datasets import load_sample_book
    >>> from pmcore.margin import allocation_report
    >>> s = load_sample_book()
    >>> rep = allocation_report(s.positions, s.prices, s.fx, instruments=s.instruments,
    ...                         cash=s.cash, accounts=s.accounts,
    ...                         targets={"equity": 0.6, "fixed_income": 0.3})
    >>> for r in rep.groups.to_pylist()[:3]:
    ...     print(r["portfolio_id"], r["asset_class"], round(r["allocation"], 3), r["target"])
    BALANCED commodity 0.102 None
    BALANCED equity 0.353 0.6
    BALANCED fixed_income 0.443 0.3
    >>> rep.portfolios.column("concentration")[0].as_py() > 0.24
    True
    """
    from ..exposure import exposures

    bk = _book(book, instruments, cash, accounts, base_currency)
    exp = to_arrow(exposures(bk, prices, fx, by=by), "exposures")
    pid = exp.column("portfolio_id")
    grp = exp.column(by)
    alloc = np.asarray(exp.column("net_pct").to_numpy(zero_copy_only=False)) / 100.0
    gross = np.asarray(exp.column("gross_pct").to_numpy(zero_copy_only=False)) / 100.0
    rows = {(a, b): (x, y) for a, b, x, y in zip(pid.to_pylist(), grp.to_pylist(), alloc, gross)}
    tmap: dict = {}
    if targets is not None:
        if isinstance(targets, Mapping) and frame_kind(targets) == "other" and not any(
            isinstance(v, (list, tuple, np.ndarray)) for v in targets.values()
        ):
            targets = {by: list(targets.keys()), "target": list(targets.values())}
        tt = to_arrow(targets, "targets")
        require_columns(tt, "targets", [by, "target"])
        tv = float_column(tt, "targets", "target", nonnegative=True)
        tg = tt.column(by).to_pylist()
        tp = tt.column("portfolio_id").to_pylist() if "portfolio_id" in tt.column_names else [None] * len(tv)
        for p_, g_, v_ in zip(tp, tg, tv):
            tmap[(p_, g_)] = float(v_)
    out_p, out_g, out_a, out_t, out_b = [], [], [], [], []
    for p_ in bk.portfolio_ids.to_pylist():
        held = sorted((g for (a, g) in rows if a == p_), key=lambda x: (x is None, x))
        wanted = sorted({g for (a, g) in tmap if a in (None, p_)} - set(held), key=str)
        for g_ in held + wanted:
            x, y = rows.get((p_, g_), (0.0, 0.0))
            t = tmap.get((p_, g_), tmap.get((None, g_)))
            out_p.append(p_)
            out_g.append(g_)
            out_a.append(x)
            out_t.append(t)
            out_b.append(bool(limit is not None and y > limit))
    drift = [a - t if t is not None else None for a, t in zip(out_a, out_t)]
    groups = pa.table({"portfolio_id": pa.array(out_p, bk.portfolio_ids.type), by: out_g,
                       "allocation": out_a, "target": pa.array(out_t, pa.float64()),
                       "drift": pa.array(drift, pa.float64()), "breach": out_b})
    # concentration: largest |position| / equity
    price_vec, _ = align_prices(bk, prices)
    fx_vec = align_fx(bk, fx)
    scale = _unit_scale(bk, fx_vec)
    per = np.empty((bk.n_positions, 3))
    kv.position_values(bk.instrument, bk.quantity, bk.avg_price, price_vec, scale, per)
    equity = _revalue(bk, price_vec, fx_vec).equity
    pcode = position_portfolio(bk)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.abs(per[:, 0]) / equity[pcode]
    conc = np.zeros(bk.n_portfolios)
    largest = [None] * bk.n_portfolios
    for p_ in range(bk.n_portfolios):
        lo, hi = bk.offsets[p_], bk.offsets[p_ + 1]
        if hi > lo:
            k = lo + int(np.argmax(w[lo:hi]))
            conc[p_] = w[k]
            largest[p_] = bk.instrument_ids[int(bk.instrument[k])].as_py()
    portfolios = pa.table({"portfolio_id": bk.portfolio_ids, "equity": equity, "concentration": conc,
                           "largest": pa.array(largest, pa.string()),
                           "positions": np.diff(bk.offsets)})
    return AllocationReport(groups, portfolios, bk.kind)

