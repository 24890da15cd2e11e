"""Margin state of many accounts: initial and tiered maintenance margin, liquidation prices."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numba
import numpy as np
import pyarrow as pa

from .._threads import thread_budget
from ..book import Book
from ..errors import ValidationError
from ..frames import encode, float_column, frame_kind, from_arrow, id_column, require_columns, to_arrow
from ..kernels import margin as km
from ..kernels.valuation import cash_in_base
from ..market import align_fx, align_prices, position_portfolio
from ..valuation import _book
from .brackets import MAX_LEVERAGE, align_brackets

__all__ = ["MarginState", "margin_state", "MODES"]

MODES = ("cross", "isolated")
_PARALLEL = threading.Lock()

_ACCOUNT_COLUMNS = (
    ("wallet_balance", km.WALLET), ("unrealized_pnl", km.A_UPNL), ("equity", km.EQUITY),
    ("gross_notional", km.GROSS), ("margin_used", km.USED), ("free_margin", km.FREE),
    ("margin_level_pct", km.LEVEL), ("maintenance_margin", km.A_MAINT), ("margin_ratio", km.RATIO),
    ("excess_liquidity", km.EXCESS), ("buying_power", km.BUYING), ("isolated_margin", km.ISOLATED),
)
_POSITION_COLUMNS = (
    ("notional", km.NOTIONAL), ("initial_margin", km.INITIAL), ("maintenance_margin", km.MAINT),
    ("maintenance_rate", km.RATE), ("maintenance_amount", km.AMOUNT), ("unrealized_pnl", km.UPNL),
    ("position_margin", km.POS_MARGIN), ("liquidation_price", km.LIQ),
    ("distance_to_liquidation", km.DIST),
)


def _check_leverage(values: np.ndarray, arg: str, column: str | None) -> None:
    row = int(km.first_outside(values, 1.0, MAX_LEVERAGE, False))
    if row >= 0:
        raise ValidationError("is out of range", argument=arg, column=column,
                              row=row if values.ndim and len(values) > 1 or column else None,
                              value=float(values[row]), expected="a leverage from 1 to 125")


def _keyed(book: Book, table: pa.Table, arg: str, column: str):
    """(position index or -1, account code or -1) of each row of a per-position/account table."""
    pid = id_column(table, arg, "portfolio_id")
    pcode, _ = encode(pid, book.portfolio_ids)
    if len(pcode) and pcode.min() < 0:
        row = int(np.flatnonzero(pcode < 0)[0])
        raise ValidationError("names a portfolio that is not in the book", argument=arg,
                              column="portfolio_id", row=row, value=pid[row].as_py())
    if "instrument_id" not in table.column_names:
        return None, pcode
    iid = id_column(table, arg, "instrument_id")
    icode, _ = encode(iid, book.instrument_ids)
    n_i = book.n_instruments
    pos_key = position_portfolio(book).astype(np.int64) * n_i + book.instrument
    row_key = pcode.astype(np.int64) * n_i + icode
    order = np.argsort(pos_key)
    where = np.searchsorted(pos_key[order], row_key)
    where = np.minimum(where, max(len(order) - 1, 0))
    found = (icode >= 0) & (len(order) > 0)
    if len(order):
        found &= pos_key[order][where] == row_key
    if not found.all():
        row = int(np.flatnonzero(~found)[0])
        raise ValidationError("names a position that is not in the book", argument=arg,
                              column="instrument_id", row=row,
                              value=(pid[row].as_py(), iid[row].as_py()))
    return order[where], pcode


def _per_position(book: Book, value: Any, arg: str, pos_table: pa.Table | None, parse, default):
    """Resolve an option given as a scalar, an array in book order, a frame, or a positions column.

    Returns (per-position array, per-account array or None).
    """
    n = book.n_positions
    if value is None and pos_table is not None and arg in pos_table.column_names:
        col = parse(pos_table, "positions", arg)
        return col[book.source_row], None
    if value is None:
        value = default
    if isinstance(value, (np.ndarray, list, tuple)):
        arr = np.asarray(value)
        if arr.shape != (n,):
            raise ValidationError("has the wrong shape", argument=arg, value=arr.shape,
                                  expected=f"({n},): one value per position of the book, in book order")
        arr = parse(arr, arg, arg)
        if arr.shape != (n,):
            raise ValidationError("has the wrong shape", argument=arg, value=arr.shape,
                                  expected=f"({n},): one value per position of the book, in book order")
        return arr, None
    if isinstance(value, Mapping) and frame_kind(value) == "other" and not any(
        isinstance(v, (list, tuple, np.ndarray)) for v in value.values()
    ):
        value = {"portfolio_id": list(value.keys()), arg: list(value.values())}
    if frame_kind(value) != "other" or isinstance(value, Mapping):
        table = to_arrow(value, arg)
        require_columns(table, arg, ["portfolio_id", arg])
        vals = parse(table, arg, arg)
        idx, pcode = _keyed(book, table, arg, arg)
        base = parse(pa.table({arg: [default]}), arg, arg)[0] if not isinstance(default, np.ndarray) else default
        if idx is None:
            acct = np.full(book.n_portfolios, base, dtype=np.asarray(base).dtype)
            acct[pcode] = vals
            return acct[position_portfolio(book)], acct
        out = np.full(n, base, dtype=np.asarray(base).dtype)
        out[idx] = vals
        return out, None
    scalar = parse(pa.table({arg: [value]}), arg, None)[0]
    return np.full(n, scalar), np.full(book.n_portfolios, scalar)


def _parse_leverage(table: Any, arg: str, column: str | None) -> np.ndarray:
    if isinstance(table, np.ndarray):  # an array in book order: checked without a copy
        if table.dtype.kind not in "fiu":
            raise ValidationError("must be numbers", argument=arg, value=str(table.dtype),
                                  expected="a leverage from 1 to 125")
        vals = table.astype(np.float64, copy=False)
        _check_leverage(vals, arg, None)
        return vals
    name = column or table.column_names[0]
    try:
        vals = float_column(table, arg, name)
    except ValidationError as exc:
        if column is None:
            raise ValidationError("must be a number", argument=arg, value=table.column(0)[0].as_py(),
                                  expected="a leverage from 1 to 125") from exc
        raise
    _check_leverage(vals, arg, column)
    return vals


def _parse_mode(table: Any, arg: str, column: str | None) -> np.ndarray:
    if isinstance(table, np.ndarray):
        if table.dtype == bool:
            return table
        table = pa.table({arg: table})
    name = column or table.column_names[0]
    col = table.column(name)
    if pa.types.is_boolean(col.type):
        return np.asarray(col.to_numpy(zero_copy_only=False), bool)
    ids = id_column(table, arg, name)
    code, _ = encode(ids.cast(pa.string()) if not pa.types.is_string(ids.type) else ids, pa.array(MODES))
    if len(code) and code.min() < 0:
        row = int(np.flatnonzero(code < 0)[0])
        raise ValidationError("is not a margin mode", argument=arg, column=column,
                              row=row if column else None, value=ids[row].as_py(),
                              expected="'cross' or 'isolated'")
    return code == 1


def _parse_margin(table: Any, arg: str, column: str | None) -> np.ndarray:
    if isinstance(table, np.ndarray) and table.dtype.kind == "f":
        vals = table.astype(np.float64, copy=False)
        row = int(km.first_outside(vals, 0.0, np.finfo(np.float64).max, True))  # NaN: at entry
        if row >= 0:
            raise ValidationError("holds an invalid margin", argument=arg, row=row,
                                  value=float(vals[row]), expected="a finite amount >= 0, or NaN")
        return vals
    if isinstance(table, np.ndarray):
        table = pa.table({arg: table})
    name = column or table.column_names[0]
    if pa.types.is_null(table.column(name).type):
        return np.full(table.num_rows, np.nan)
    col = table.column(name)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    vals = arr.to_numpy(zero_copy_only=False).astype(np.float64)  # nulls: NaN (entry margin)
    row = int(km.first_outside(vals, 0.0, np.finfo(np.float64).max, True))
    if row >= 0:
        raise ValidationError("holds an invalid margin", argument=arg, column=column, row=row,
                              value=float(vals[row]), expected="a finite amount >= 0, or null")
    return vals


@dataclass(frozen=True, repr=False, eq=False)
class MarginState:
    """Margin of every margin account of a book and of each of its positions.

    Returned by :func:`margin_state`. Attributes ending in ``_`` are the raw
    arrays over *all* portfolios and positions of the book (cash accounts
    included, in book order); the named properties and the frames hold the
    margin accounts only.

    Attributes
    ----------
    book : pmcore.Book
    price, fx : numpy.ndarray
        Mark price per instrument and fx rate per currency used.
    pos, account : numpy.ndarray
        Kernel inputs per position and per portfolio (see
        :mod:`pmcore.kernels.margin`); ``leverage``, ``isolated``,
        ``isolated_margin`` and ``account_leverage`` read them.
    position_matrix_, account_matrix_ : numpy.ndarray
        Kernel outputs (see :mod:`pmcore.kernels.margin` for the columns).
    """

    book: Book
    price: np.ndarray
    fx: np.ndarray
    unit_scale: np.ndarray
    pos: tuple
    account: np.ndarray
    br_offsets: np.ndarray
    br: np.ndarray
    br_max_leverage: np.ndarray
    default_fraction: float
    position_matrix_: np.ndarray
    account_matrix_: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def leverage(self) -> np.ndarray:
        """Per position (book order, every account)."""
        return self.pos[2]

    @property
    def isolated(self) -> np.ndarray:
        """bool per position: isolated margin mode."""
        return self.pos[3]

    @property
    def isolated_margin(self) -> np.ndarray:
        """Margin set aside per isolated position; NaN for cross positions."""
        return np.where(self.isolated, self.position_matrix_[:, km.POS_MARGIN], np.nan)

    @cached_property
    def account_leverage(self) -> np.ndarray:
        """Per portfolio: the leverage of buying power and of new positions."""
        lev = self.account[:, 1].copy()
        todo = np.isnan(lev)
        if todo.any():
            counts = np.diff(self.book.offsets)
            top = np.ones(self.book.n_portfolios)
            has = counts > 0
            if has.any():
                top[has] = np.maximum.reduceat(np.asarray(self.pos[2]), self.book.offsets[:-1][has])
            lev[todo] = top[todo]
        return lev

    # ------------------------------------------------------------------ selection
    @cached_property
    def accounts_index(self) -> np.ndarray:
        """int64: codes of the margin accounts (rows of the account frame)."""
        return np.flatnonzero(self.book.is_margin)

    @cached_property
    def positions_index(self) -> np.ndarray:
        """int64: book rows of the positions of margin accounts."""
        if self.book.is_margin.all():
            return np.arange(self.book.n_positions)
        return np.flatnonzero(self.book.is_margin[position_portfolio(self.book)])

    def _acc(self, col: int) -> np.ndarray:
        m = self.account_matrix_[:, col]
        return m if self.book.is_margin.all() else m[self.accounts_index]

    def _pos(self, col: int) -> np.ndarray:
        m = self.position_matrix_[:, col]
        return m if self.book.is_margin.all() else m[self.positions_index]

    @property
    def portfolio_ids(self) -> pa.Array:
        return self.book.portfolio_ids.take(self.accounts_index)

    @property
    def equity(self) -> np.ndarray:
        """Wallet balance + unrealized PnL, per margin account."""
        return self._acc(km.EQUITY)

    @property
    def margin_used(self) -> np.ndarray:
        """Sum of the positions' initial margin."""
        return self._acc(km.USED)

    @property
    def free_margin(self) -> np.ndarray:
        """Equity - margin used."""
        return self._acc(km.FREE)

    @property
    def margin_level_pct(self) -> np.ndarray:
        """100 x equity / margin used (inf without positions)."""
        return self._acc(km.LEVEL)

    @property
    def maintenance_margin(self) -> np.ndarray:
        return self._acc(km.A_MAINT)

    @property
    def margin_ratio(self) -> np.ndarray:
        """Maintenance margin / equity (1.0 or more: liquidation)."""
        return self._acc(km.RATIO)

    @property
    def excess_liquidity(self) -> np.ndarray:
        """Equity - maintenance margin."""
        return self._acc(km.EXCESS)

    @property
    def buying_power(self) -> np.ndarray:
        """max(free margin, 0) x account leverage."""
        return self._acc(km.BUYING)

    @property
    def liquidation_price(self) -> np.ndarray:
        """Per position of the margin accounts (book order)."""
        return self._pos(km.LIQ)

    # ------------------------------------------------------------------ lookups
    def portfolio_code(self, portfolio_id: Any) -> int:
        """Code of a margin account; raises ValidationError for unknown or cash accounts."""
        index = self._cache.get("p")
        if index is None:
            index = {pid: p for p, pid in enumerate(self.book.portfolio_ids.to_pylist())}
            self._cache["p"] = index
        p = index.get(portfolio_id)
        if p is None:
            raise ValidationError("is not a portfolio of the book", argument="portfolio_id",
                                  value=portfolio_id)
        if not self.book.is_margin[p]:
            raise ValidationError("is a cash account", argument="portfolio_id", value=portfolio_id,
                                  expected="a margin account",
                                  hint="declare it with accounts={..: 'margin'}")
        return p

    def instrument_code(self, instrument_id: Any) -> int:
        index = self._cache.get("i")
        if index is None:
            index = {iid: i for i, iid in enumerate(self.book.instrument_ids.to_pylist())}
            self._cache["i"] = index
        i = index.get(instrument_id)
        if i is None:
            raise ValidationError("is not an instrument of the book", argument="instrument_id",
                                  value=instrument_id)
        if not (self.price[i] > 0.0 and self.price[i] < np.inf):
            raise ValidationError("has no price", argument="instrument_id", value=instrument_id,
                                  hint="pass a price for it in prices")
        return i

    def position_row(self, p: int, i: int) -> int:
        """Book row of account ``p``'s position in instrument ``i``, or -1."""
        rows = self._cache.get(("rows", p))
        if rows is None:
            lo, hi = int(self.book.offsets[p]), int(self.book.offsets[p + 1])
            rows = {int(self.book.instrument[k]): k for k in range(lo, hi)}
            self._cache[("rows", p)] = rows
        return rows.get(i, -1)

    # ------------------------------------------------------------------ frames
    def to_arrow(self, part: str = "accounts") -> pa.Table:
        """One row per margin account (``part="accounts"``) or per position (``"positions"``)."""
        if part == "accounts":
            cols: dict[str, Any] = {"portfolio_id": self.portfolio_ids}
            for name, c in _ACCOUNT_COLUMNS:
                cols[name] = self._acc(c)
            return pa.table(cols)
        if part == "positions":
            rows = self.positions_index
            bk = self.book
            inst = bk.instrument[rows]
            cols = {
                "portfolio_id": bk.portfolio_ids.take(position_portfolio(bk)[rows]),
                "instrument_id": bk.instrument_ids.take(inst),
                "margin_mode": pa.array(np.where(self.isolated[rows], "isolated", "cross")),
                "leverage": self.leverage[rows],
                "quantity": bk.quantity[rows],
                "entry_price": bk.avg_price[rows],
                "mark_price": self.price[inst],
            }
            for name, c in _POSITION_COLUMNS:
                cols[name] = self._pos(c)
            return pa.table(cols)
        raise ValidationError("is not a part of the margin state", argument="part", value=part,
                              expected="'accounts' or 'positions'")

    def to_polars(self, part: str = "accounts"):
        return from_arrow(self.to_arrow(part), "polars")

    def to_pandas(self, part: str = "accounts"):
        return from_arrow(self.to_arrow(part), "pandas")

    @property
    def accounts(self) -> Any:
        """One row per margin account, as the kind of frame the book was built from."""
        return from_arrow(self.to_arrow("accounts"), self.book.kind)

    @property
    def positions(self) -> Any:
        """One row per position of a margin account, as the book's kind of frame."""
        return from_arrow(self.to_arrow("positions"), self.book.kind)

    def __repr__(self) -> str:
        ids = self.portfolio_ids
        n = len(ids)
        head = ", ".join(
            f"{pid}: level={lvl:,.1f}% free={free:,.2f}"
            for pid, lvl, free in zip(ids[:3].to_pylist(), self.margin_level_pct[:3], self.free_margin[:3])
        )
        more = ", ..." if n > 3 else ""
        return f"MarginState({n} margin accounts: {head}{more})"


def margin_state(
    book: Any,
    prices: Any,
    fx: Any = None,
    /,
    *,
    leverage: Any = None,
    margin_mode: Any = None,
    isolated_margin: Any = None,
    brackets: Any = None,
    default_maintenance: float = 0.5,
    instruments: Any = None,
    cash: Any = None,
    accounts: Any = None,
    base_currency: str | None = None,
) -> MarginState:
    """Margin state of every margin account and position: margins, levels, liquidation prices.

    Parameters
    ----------
    book : Book or frame
        A prepared :class:`pmcore.Book` or a positions frame (then pass
        ``instruments``, ``cash`` and ``accounts`` as for :func:`pmcore.value`).
        A positions frame may carry the columns ``leverage``, ``margin_mode``
        and ``isolated_margin``. Only margin accounts are reported.
    prices, fx
        Mark prices and fx rates, as for :func:`pmcore.value`.
    leverage : float, array, mapping or frame, keyword-only
        1 to 125. One number for every position (default: the positions
        frame's ``leverage`` column, else 10), float64[n_positions]
        in book order, a mapping ``{portfolio_id: leverage}``, or a frame with
        ``portfolio_id``, optional ``instrument_id`` and ``leverage``. The
        account leverage (buying power, new positions) is the number or the
        account's value; per position, the account's highest.
    margin_mode : str, array, mapping or frame, keyword-only
        ``"cross"`` or ``"isolated"`` (default: the positions frame's
        ``margin_mode`` column, else cross), in the same forms (or a bool
        array, True for isolated).
    isolated_margin : array or frame, keyword-only
        Margin set aside for each isolated position (base currency); missing
        or null: the entry notional / leverage.
    brackets : frame, keyword-only
        Tiered maintenance table (see :func:`sample_margin_brackets`).
        Instruments without tiers use ``default_maintenance``.
    default_maintenance : float, keyword-only
        Maintenance margin as a fraction of initial margin where no tiers are
        given (default 0.5, i.e. 50 %).

    Returns
    -------
    MarginState
        Arrays per account and position; ``.accounts`` and ``.positions`` are
        frames of the book's kind.

    Notes
    -----
    Per position with signed quantity :math:`q`, mark :math:`P`, entry
    :math:`E`, unit scale :math:`u` (multiplier x fx), leverage :math:`L`:
    notional :math:`N = |q| P u`, initial margin :math:`IM = N / L`,
    maintenance margin :math:`MM = N r_t - cum_t` with the tier :math:`t`
    whose floor is the largest <= :math:`N`, unrealized PnL :math:`q (P - E) u`.

    Per account: equity = wallet balance + :math:`\\sum` PnL, margin used
    :math:`= \\sum IM`, free margin = equity - margin used, margin level
    :math:`= 100 \\cdot` equity / margin used, margin ratio = :math:`\\sum MM`
    / equity, excess liquidity = equity - :math:`\\sum MM`, buying power =
    max(free margin, 0) x account leverage.

    Liquidation price, the exchange's formula (one-way mode), with side
    :math:`s = \\pm 1`:

    .. math::

        LP = \\frac{WB - TMM_1 + UPNL_1 + cum_t - s |q| u E}{|q| u (r_t - s)}

    For an isolated position :math:`WB` is its isolated margin and
    :math:`TMM_1 = UPNL_1 = 0`; for a cross position :math:`WB` is the wallet
    balance less the isolated margins, :math:`TMM_1` and :math:`UPNL_1` the
    maintenance margin and PnL of the account's other cross positions. The
    tier is the one the notional *at the liquidation price* falls in. A long
    that no positive price liquidates gets 0. Distance to liquidation is
    :math:`s (P - LP) / P` (negative once past it).

    Examples
    --------
    >>> import pyarrow as pa
    >>> import pmcore as pm
    >>> from pmcore.margin import margin_state
    >>> positions = pa.table({"portfolio_id": ["F"], "instrument_id": ["BTC"],
    ...                       "quantity": [1.0], "avg_price": [50_000.0]})
    >>> instruments = pa.table({"instrument_id": ["BTC"], "currency": ["USD"]})
    >>> cash = pa.table({"portfolio_id": ["F"], "currency": ["USD"], "amount": [10_000.0]})
    >>> st = margin_state(positions, {"instrument_id": ["BTC"], "price": [50_000.0]},
    ...                   instruments=instruments, cash=cash, accounts={"F": "margin"},
    ...                   leverage=10)
    >>> float(st.margin_used[0]), float(st.free_margin[0]), float(st.margin_level_pct[0])
    (5000.0, 5000.0, 200.0)
    >>> round(float(st.liquidation_price[0]), 2)  # 50 % of IM maintenance: (50,000 - 10,000) / (1 - 0.05)
    42105.26
    """
    pos_table = None
    if not isinstance(book, Book):
        pos_table = to_arrow(book, "positions") if book is not None else None
    bk = _book(book, instruments, cash, accounts, base_currency)
    if not bk.is_margin.any():
        raise ValidationError("has no margin account", argument="accounts",
                              expected="at least one portfolio with account_type 'margin'",
                              hint="pass accounts={portfolio_id: 'margin'}")
    if not (isinstance(default_maintenance, (int, float)) and 0.0 < default_maintenance < 1.0):
        raise ValidationError("must be a fraction of initial margin", argument="default_maintenance",
                              value=default_maintenance, expected="a number in (0, 1)")
    price_vec, _ = align_prices(bk, prices)
    fx_vec = align_fx(bk, fx)
    n = bk.n_positions
    account = np.empty((bk.n_portfolios, 2))
    no_column = pos_table is None or "leverage" not in pos_table.column_names
    if leverage is None and no_column:
        leverage = 10.0
    if isinstance(leverage, (int, float)) and not isinstance(leverage, bool) and no_column:
        _check_leverage(np.array([float(leverage)]), "leverage", None)
        lev = np.broadcast_to(np.float64(leverage), (n,))
        account[:, 1] = leverage
    else:
        lev, acct_lev = _per_position(bk, leverage, "leverage", pos_table, _parse_leverage, 10.0)
        account[:, 1] = np.nan if acct_lev is None else acct_lev
    no_column = pos_table is None or "margin_mode" not in pos_table.column_names
    if margin_mode is None and no_column:
        margin_mode = "cross"
    if isinstance(margin_mode, str) and margin_mode in MODES and no_column:
        iso = np.broadcast_to(np.bool_(margin_mode == "isolated"), (n,))
    else:
        iso = _per_position(bk, margin_mode, "margin_mode", pos_table, _parse_mode, "cross")[0].astype(bool)
    if isolated_margin is None and (pos_table is None or "isolated_margin" not in pos_table.column_names):
        given = np.broadcast_to(np.float64(np.nan), (n,))
    else:
        given = _per_position(bk, isolated_margin, "isolated_margin", pos_table, _parse_margin, np.nan)[0]
    pos = (bk.quantity, bk.avg_price, lev, iso, given)
    scale = bk.multiplier * fx_vec[bk.instrument_currency]
    br_offsets, br, br_max = align_brackets(bk, brackets)
    market = np.column_stack([price_vec, scale])
    cash_base = np.empty((bk.n_portfolios, 1))  # the balance column only
    cash_in_base(bk.cash_offsets, bk.cash_currency, np.ascontiguousarray(bk.cash_amounts[:, :1]), fx_vec,
                 cash_base)
    account[:, 0] = cash_base[:, 0]
    out_pos = np.empty((n, km.N_POS_FIELDS))
    out_acc = np.empty((bk.n_portfolios, km.N_ACC_FIELDS))
    table = km.instrument_table(market, br_offsets, br)
    args = (bk.offsets, bk.instrument, pos, table, account, float(default_maintenance), out_pos, out_acc)
    # large books split over threads; one parallel launch at a time (Numba's fallback
    # threading layer is not thread-safe), so a concurrent caller runs on its own thread
    threads = thread_budget() if n >= km.PARALLEL_POSITIONS else 1
    if threads >= 2 and _PARALLEL.acquire(blocking=False):
        try:
            # Numba's pool, held to pmcore's thread budget (PMCORE_NUM_THREADS); the
            # setting is per calling thread and is put back
            before = numba.get_num_threads()
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            try:
                km.margin_state_parallel(*args)
            finally:
                numba.set_num_threads(before)
        finally:
            _PARALLEL.release()
    else:
        km.margin_state(*args)
    return MarginState(
        book=bk, price=price_vec, fx=fx_vec, unit_scale=scale, pos=pos, account=account,
        br_offsets=br_offsets, br=br, br_max_leverage=br_max,
        default_fraction=float(default_maintenance), position_matrix_=out_pos, account_matrix_=out_acc,
    )
