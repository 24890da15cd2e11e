"""Valuation of many portfolios at once (exposures by group: :mod:`pmcore.exposure`).

Two account types, per portfolio:

* cash (spot) account: position market value
  :math:`MV = q \\cdot p \\cdot m \\cdot fx`; portfolio value = cash in base
  currency + :math:`\\sum MV`; equity = portfolio value.
* margin (derivatives) account: equity = cash (wallet balance) +
  :math:`\\sum UPNL`; gross exposure = :math:`\\sum |MV|`; leverage = gross
  exposure / equity.

Unrealized PnL is :math:`q (p - \\bar p) m \\cdot fx` for both, with
:math:`\\bar p` the average cost per unit. Every amount is converted to the
book's base currency with the fx rate of its currency (value in base of one
unit). Sums are compensated (Neumaier), so portfolio values up to 1e7 are
exact to 1e-8 and larger ones to a few units in the last place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from . import schema
from .book import Book, _parallel, _split
from .errors import ValidationError
from .frames import from_arrow
from .kernels import valuation as kv
from .market import align_fx, align_prices, position_portfolio, stale_positions

__all__ = ["Valuation", "revalue", "value", "positions"]

_VALUE_COLUMNS = (
    "portfolio_id", "account_type", "cash", "locked_cash", "available_cash", "market_value",
    "long_value", "short_value", "gross_exposure", "net_exposure", "unrealized_pnl",
    "invested_value", "portfolio_value", "equity", "leverage", "position_count",
)


@dataclass(frozen=True, repr=False, eq=False)
class Valuation:
    """Per-portfolio values of a book, as numpy arrays (all in base currency).

    Returned by :meth:`Book.revalue`; :func:`pmcore.value` returns the same
    numbers as a frame. Each attribute is float64[n_portfolios] unless noted.

    Attributes
    ----------
    portfolio_ids : pyarrow.Array
    is_margin : numpy.ndarray
        bool: margin account (else cash account).
    cash, locked_cash, available_cash
        Cash balance, funds locked (e.g. by open orders), and their difference.
    market_value
        :math:`\\sum q p m \\, fx` (= ``net_exposure``).
    long_value, short_value
        Sums over long and over short positions; ``short_value <= 0``.
    gross_exposure
        :math:`\\sum |q p m \\, fx|` = ``long_value - short_value``.
    unrealized_pnl
        :math:`\\sum q (p - \\bar p) m \\, fx`.
    invested_value
        Cost of the positions held, :math:`\\sum |q| \\bar p m \\, fx`.
    equity, portfolio_value
        Cash account: cash + market value; margin account: cash + unrealized PnL.
    leverage
        ``gross_exposure / equity``; 0 with no exposure, ``inf`` when equity <= 0.
    position_count
        int64: positions with a non-zero quantity.
    stale_count
        int64 or None: positions whose price is older than ``max_age``.
    """

    portfolio_ids: pa.Array
    is_margin: np.ndarray
    matrix: np.ndarray
    stale_count: np.ndarray | None = None

    @property
    def cash(self) -> np.ndarray:
        return self.matrix[:, kv.CASH]

    @property
    def locked_cash(self) -> np.ndarray:
        return self.matrix[:, kv.LOCKED]

    @property
    def available_cash(self) -> np.ndarray:
        return self.matrix[:, kv.CASH] - self.matrix[:, kv.LOCKED]

    @property
    def market_value(self) -> np.ndarray:
        return self.matrix[:, kv.NET]

    net_exposure = market_value

    @property
    def long_value(self) -> np.ndarray:
        return self.matrix[:, kv.LONG]

    @property
    def short_value(self) -> np.ndarray:
        return self.matrix[:, kv.SHORT]

    @property
    def gross_exposure(self) -> np.ndarray:
        return self.matrix[:, kv.LONG] - self.matrix[:, kv.SHORT]

    @property
    def unrealized_pnl(self) -> np.ndarray:
        return self.matrix[:, kv.UPNL]

    @property
    def invested_value(self) -> np.ndarray:
        return self.matrix[:, kv.INVESTED]

    @property
    def equity(self) -> np.ndarray:
        return self.matrix[:, kv.EQUITY]

    portfolio_value = equity

    @property
    def leverage(self) -> np.ndarray:
        gross = self.gross_exposure
        equity = self.equity
        with np.errstate(divide="ignore", invalid="ignore"):
            lev = np.where(equity > 0, gross / equity, np.inf)
        lev[gross == 0] = 0.0
        return lev

    @property
    def position_count(self) -> np.ndarray:
        return self.matrix[:, kv.COUNT].astype(np.int64)

    def to_arrow(self) -> pa.Table:
        """Return one row per portfolio as a ``pyarrow.Table``."""
        cols: dict[str, Any] = {}
        for name in _VALUE_COLUMNS:
            if name == "portfolio_id":
                cols[name] = self.portfolio_ids
            elif name == "account_type":
                cols[name] = pa.DictionaryArray.from_arrays(
                    pa.array(self.is_margin.astype(np.int8)), pa.array(schema.ACCOUNT_TYPES)
                ).dictionary_decode()
            else:
                cols[name] = getattr(self, name)
        if self.stale_count is not None:
            cols["stale_count"] = self.stale_count
        return pa.table(cols)

    def to_polars(self):
        """Return one row per portfolio as a ``polars.DataFrame``."""
        return from_arrow(self.to_arrow(), "polars")

    def to_pandas(self):
        """Return one row per portfolio as a ``pandas.DataFrame``."""
        return from_arrow(self.to_arrow(), "pandas")

    def __repr__(self) -> str:
        n = len(self.portfolio_ids)
        head = ", ".join(
            f"{pid}: equity={eq:,.2f}"
            for pid, eq in zip(self.portfolio_ids[:3].to_pylist(), self.equity[:3])
        )
        more = ", ..." if n > 3 else ""
        return f"Valuation({n} portfolios: {head}{more})"


def _unit_scale(book: Book, fx_vec: np.ndarray) -> np.ndarray:
    return book.multiplier * fx_vec[book.instrument_currency]


def _cash_base(book: Book, fx_vec: np.ndarray) -> np.ndarray:
    out = np.empty((book.n_portfolios, 2))
    kv.cash_in_base(book.cash_offsets, book.cash_currency, book.cash_amounts, fx_vec, out)
    return out


def revalue(book: Book, prices: Any, fx: Any = None, /) -> Valuation:
    """Value every portfolio of a prepared book; the function form of :meth:`Book.revalue`.

    Parameters
    ----------
    book : Book
    prices : numpy.ndarray or frame
        float64[n_instruments] aligned to ``book.instrument_ids`` (no id is
        looked up), or a prices frame as for :func:`pmcore.value`.
    fx : numpy.ndarray, frame, mapping or None
        float64[n_currencies] aligned to ``book.currencies``, or an fx frame or
        mapping; None when every currency is the base currency.

    Returns
    -------
    Valuation
        Per-portfolio numpy arrays (no frame is built).

    Examples
    --------
    >>> import numpy as np, pyarrow as pa, pmcore as pm
    >>> book = pm.Book.from_frames(
    ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"],
    ...               "quantity": [2.0], "avg_price": [5.0]}),
    ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
    >>> float(pm.revalue(book, np.array([6.0])).market_value[0])
    12.0
    """
    price_vec, _ = align_prices(book, prices)
    fx_vec = align_fx(book, fx)
    return _revalue(book, price_vec, fx_vec)


def _halves(book: Book) -> list[tuple[int, int]]:
    """Portfolio ranges to value on separate threads: two halves of the positions for a large book."""
    if not _parallel(book.n_positions):
        return [(0, book.n_portfolios)]
    mid = int(np.searchsorted(book.offsets, book.n_positions // 2))
    return [(0, mid), (mid, book.n_portfolios)]


def _revalue(book: Book, price_vec: np.ndarray, fx_vec: np.ndarray, stale_count=None) -> Valuation:
    out = np.empty((book.n_portfolios, kv.N_FIELDS))
    parts = _halves(book)
    if len(parts) == 1:  # the latency path: one call, no slicing
        kv.revalue_book(book.offsets, book.instrument, book.quantity, book.avg_price, price_vec, book.multiplier,
                        book.instrument_currency, fx_vec, book.cash_offsets, book.cash_currency,
                        book.cash_amounts, book.is_margin, out)
    else:
        scale = _unit_scale(book, fx_vec)
        cash = _cash_base(book, fx_vec)
        _split(True, [
            (kv.value_book, (book.offsets[lo:hi + 1], book.instrument, book.quantity, book.avg_price,
                             price_vec, scale, cash[lo:hi], book.is_margin[lo:hi], out[lo:hi]))
            for lo, hi in parts
        ])
    return Valuation(book.portfolio_ids, book.is_margin, out, stale_count)


# ----------------------------------------------------------------------------- public


def _book(book_or_positions: Any, instruments, cash, accounts, base_currency) -> Book:
    if isinstance(book_or_positions, Book):
        given = [n for n, v in (("instruments", instruments), ("cash", cash),
                                ("accounts", accounts), ("base_currency", base_currency)) if v is not None]
        if given:
            raise ValidationError(
                f"cannot be combined with a prepared Book (the book already holds {given[0]})",
                argument=given[0], hint="pass positions instead of a Book, or drop the argument",
            )
        return book_or_positions
    if instruments is None:
        raise ValidationError("is required when positions are given as a frame",
                              argument="instruments", expected="an instruments frame")
    return Book.from_frames(
        book_or_positions, instruments, cash=cash, accounts=accounts,
        base_currency=base_currency or schema.DEFAULT_BASE_CURRENCY,
    )


def value(
    book: Any,
    prices: Any,
    fx: Any = None,
    /,
    *,
    instruments: Any = None,
    cash: Any = None,
    accounts: Any = None,
    base_currency: str | None = None,
    max_age: Any = None,
    as_of: Any = None,
):
    """Value every portfolio: one row per portfolio.

    Parameters
    ----------
    book : Book or frame
        A prepared :class:`Book`, or a positions frame (then pass
        ``instruments`` and optionally ``cash``, ``accounts``,
        ``base_currency`` as for :meth:`Book.from_frames`).
    prices : frame or numpy.ndarray
        Columns ``instrument_id``, ``price`` (> 0) and, for ``max_age``,
        ``timestamp``; or float64[n_instruments] aligned to
        ``book.instrument_ids``. Every held instrument needs a price.
    fx : frame, mapping, numpy.ndarray or None
        Columns ``currency``, ``rate`` (value in base currency of one unit),
        a mapping ``{currency: rate}``, or float64[n_currencies] aligned to
        ``book.currencies``. The base currency's rate is 1 and may be left out;
        every other currency held needs a rate.
    max_age : datetime.timedelta or float seconds, optional
        Count, per portfolio, the positions whose price timestamp is older
        than ``max_age`` at ``as_of`` (column ``stale_count``) instead of
        silently using them.
    as_of : datetime, optional
        Reference time for ``max_age`` (default: now, UTC).

    Returns
    -------
    frame
        The kind of the positions frame the book was built from, one row per
        portfolio (sorted by id) with columns portfolio_id, account_type, cash,
        locked_cash, available_cash, market_value, long_value, short_value,
        gross_exposure, net_exposure, unrealized_pnl, invested_value,
        portfolio_value, equity, leverage, position_count (and stale_count).

    Notes
    -----
    Per position, in base currency: notional :math:`N = q p m \\, fx`, unrealized
    PnL :math:`U = q (p - \\bar p) m \\, fx`. Per portfolio: long value
    :math:`\\sum_{q>0} N`, short value :math:`\\sum_{q<0} N \\le 0`, gross
    exposure :math:`\\sum |N|`, net exposure = market value :math:`\\sum N`,
    invested value :math:`\\sum |q| \\bar p m \\, fx`. Cash account:
    equity = portfolio value = cash + :math:`\\sum N`. Margin account:
    equity = portfolio value = cash + :math:`\\sum U`. Leverage = gross
    exposure / equity (0 with no exposure, inf when equity <= 0). Cash may be
    negative (margin debt); ``available_cash = cash - locked_cash``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> import pmcore as pm
    >>> positions = pa.table({"portfolio_id": ["A", "A", "B"],
    ...                       "instrument_id": ["AAPL", "SAP", "BTC-PERP"],
    ...                       "quantity": [10.0, 5.0, -0.5],
    ...                       "avg_price": [150.0, 120.0, 60000.0]})
    >>> instruments = pa.table({"instrument_id": ["AAPL", "SAP", "BTC-PERP"],
    ...                         "currency": ["USD", "EUR", "USD"]})
    >>> cash = pa.table({"portfolio_id": ["A", "B"], "currency": ["USD", "USD"],
    ...                  "amount": [1000.0, 5000.0]})
    >>> prices = pa.table({"instrument_id": ["AAPL", "SAP", "BTC-PERP"],
    ...                    "price": [160.0, 130.0, 58000.0]})
    >>> out = pm.value(positions, prices, {"EUR": 1.1}, instruments=instruments,
    ...                cash=cash, accounts={"B": "margin"})
    >>> out.select(["portfolio_id", "account_type", "equity", "leverage"]).to_pylist()[1]
    {'portfolio_id': 'B', 'account_type': 'margin', 'equity': 6000.0, 'leverage': 4.833333333333333}
    """
    bk = _book(book, instruments, cash, accounts, base_currency)
    price_vec, ts = align_prices(bk, prices, timestamps=max_age is not None)
    fx_vec = align_fx(bk, fx)
    stale_count = None
    if max_age is not None:
        stale, _ = stale_positions(bk, ts, as_of, max_age)
        stale_count = np.bincount(position_portfolio(bk)[stale], minlength=bk.n_portfolios)
    return from_arrow(_revalue(bk, price_vec, fx_vec, stale_count).to_arrow(), bk.kind)


def positions(
    book: Any,
    prices: Any,
    fx: Any = None,
    /,
    *,
    instruments: Any = None,
    cash: Any = None,
    accounts: Any = None,
    base_currency: str | None = None,
    max_age: Any = None,
    as_of: Any = None,
):
    """Value every position: one row per position, grouped by portfolio.

    Parameters are those of :func:`pmcore.value`.

    Returns
    -------
    frame
        The kind of the positions frame, one row per position (portfolios in
        sorted order, positions in input order within a portfolio), columns
        portfolio_id, instrument_id, currency, quantity, avg_price, price,
        multiplier, fx_rate, market_value, cost_basis, unrealized_pnl, weight,
        source_row (the row in the positions frame), and with ``max_age`` the
        columns price_age_s and stale.

    Notes
    -----
    In base currency: market value (notional) :math:`q p m \\, fx`, cost basis
    :math:`q \\bar p m \\, fx`, unrealized PnL :math:`q (p - \\bar p) m \\, fx`.
    ``weight`` is market value / portfolio equity, so on a cash account the
    position weights plus cash / equity sum to 1, and on a margin account the
    absolute weights sum to the leverage. Equity <= 0 gives inf or NaN weights.

    Examples
    --------
    >>> import pyarrow as pa
    >>> import pmcore as pm
    >>> positions = pa.table({"portfolio_id": ["A", "A"],
    ...                       "instrument_id": ["AAPL", "SAP"],
    ...                       "quantity": [10.0, 5.0], "avg_price": [150.0, 120.0]})
    >>> instruments = pa.table({"instrument_id": ["AAPL", "SAP"],
    ...                         "currency": ["USD", "EUR"]})
    >>> prices = pa.table({"instrument_id": ["AAPL", "SAP"], "price": [160.0, 130.0]})
    >>> out = pm.positions(positions, prices, {"EUR": 1.1}, instruments=instruments)
    >>> [round(w, 4) for w in out.column("weight").to_pylist()]
    [0.6911, 0.3089]
    """
    bk = _book(book, instruments, cash, accounts, base_currency)
    price_vec, ts = align_prices(bk, prices, timestamps=max_age is not None)
    fx_vec = align_fx(bk, fx)
    scale = _unit_scale(bk, fx_vec)
    per = np.empty((bk.n_positions, 3))
    kv.position_values(bk.instrument, bk.quantity, bk.avg_price, price_vec, scale, per)
    val = _revalue(bk, price_vec, fx_vec)
    pcode = position_portfolio(bk)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = per[:, 0] / val.equity[pcode]
    inst = bk.instrument
    cols: dict[str, Any] = {
        "portfolio_id": bk.portfolio_ids.take(pcode),
        "instrument_id": bk.instrument_ids.take(inst),
        "currency": bk.currencies.take(bk.instrument_currency[inst]),
        "quantity": bk.quantity,
        "avg_price": bk.avg_price,
        "price": price_vec[inst],
        "multiplier": bk.multiplier[inst],
        "fx_rate": fx_vec[bk.instrument_currency[inst]],
        "market_value": per[:, 0],
        "cost_basis": per[:, 1],
        "unrealized_pnl": per[:, 2],
        "weight": weight,
        "source_row": bk.source_row.astype(np.int64),
    }
    if max_age is not None:
        stale, age_s = stale_positions(bk, ts, as_of, max_age)
        cols["price_age_s"] = age_s
        cols["stale"] = stale
    return from_arrow(pa.table(cols), bk.kind)
