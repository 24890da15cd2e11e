"""The prepared, immutable portfolio book.

A :class:`Book` holds positions, instruments, cash and account types of many
portfolios with ids dictionary-encoded to integer codes and positions grouped
by portfolio (CSR: an ``offsets`` array). Preparing costs one pass over the
string ids; valuing again as prices tick then touches only numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _threads, schema
from .errors import ValidationError
from .frames import encode, first_duplicate, float_column, frame_kind, id_column, require_columns, to_arrow
from .kernels.book import block_starts, count_block, first_repeat, group_rows, scatter_block

__all__ = ["Book"]


def _readonly(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.flags.writeable = False


def _check_unique(ids: pa.Array, arg: str, column: str) -> None:
    """Raise if an id repeats, naming the first row that repeats an earlier one."""
    codes, dictionary = encode(ids)
    if len(dictionary) == len(ids):
        return
    first, repeat = first_duplicate(codes)
    raise ValidationError(
        f"has a duplicate id (first seen in row {first})", argument=arg, column=column,
        row=repeat, value=ids[repeat].as_py(), expected="unique ids",
    )


_PARALLEL_ROWS = 200_000


def _parallel(n_rows: int) -> bool:
    """Whether work over ``n_rows`` rows is split over two threads.

    Only large inputs (``_PARALLEL_ROWS``) when at least two threads are
    allowed (``_threads.thread_budget``). Results are the same either way.
    """
    return n_rows >= _PARALLEL_ROWS and _threads.thread_budget() >= 2


def _split(parallel: bool, calls: list) -> list:
    """Run ``(function, args)`` calls and return their results in order.

    With ``parallel``, they run at the same time (:func:`pmcore._threads.run_split`,
    on the caller's thread and pmcore's workers); Arrow's hash kernels and
    pmcore's kernels release the GIL, so the calls overlap on a multi-core
    machine. An exception in any call is raised here.
    """
    if not parallel:
        return [f(*args) for f, args in calls]
    return _threads.run_split(lambda call: call[0](*call[1]), calls)


def _layout(parallel, pcode, remap, n_p, icode, n_i, quantity, avg_price):
    """Positions grouped by portfolio (stable counting sort); two blocks of rows on two threads."""
    n = len(pcode)
    n_blocks = 2 if parallel else 1
    cuts = [n * b // n_blocks for b in range(n_blocks + 1)]
    counts = np.zeros((n_blocks, n_p), np.int64)
    _split(parallel, [(count_block, (pcode, remap, cuts[b], cuts[b + 1], counts[b])) for b in range(n_blocks)])
    offsets = np.empty(n_p + 1, np.int64)
    block_starts(counts, offsets)
    order = np.empty(n, np.int32)
    instrument = np.empty(n, np.int32)
    qty = np.empty(n)
    avg = np.empty(n)
    held = np.zeros(n_i, bool)
    _split(parallel, [
        (scatter_block, (pcode, remap, icode, quantity, avg_price, cuts[b], cuts[b + 1], counts[b],
                         order, instrument, qty, avg, held))
        for b in range(n_blocks)
    ])
    mid = int(np.searchsorted(offsets, n // 2)) if n_blocks > 1 else n_p
    p_cuts = [0, mid, n_p][: n_blocks] + [n_p]
    dups = [d for d in _split(parallel, [
        (first_repeat, (offsets, order, instrument, n_i, p_cuts[b], p_cuts[b + 1])) for b in range(n_blocks)
    ]) if d >= 0]
    return offsets, order, instrument, qty, avg, held, (min(dups) if dups else -1)


def _optional_table(obj: Any, arg: str, columns: tuple[str, str] | None = None) -> pa.Table | None:
    """Accept a frame, or (with ``columns``) a mapping ``{key: value}`` for a two-column table."""
    if obj is None:
        return None
    if columns is not None and isinstance(obj, Mapping) and frame_kind(obj) == "other" and not all(
        isinstance(v, (list, tuple, np.ndarray, pa.Array)) for v in obj.values()
    ):
        return pa.table({columns[0]: list(obj.keys()), columns[1]: list(obj.values())})
    return to_arrow(obj, arg)


@dataclass(frozen=True, repr=False, eq=False)
class Book:
    """Positions, instruments, cash and account types of many portfolios, prepared once.

    Build it with :meth:`Book.from_frames`; value it with :func:`pmcore.value`,
    :func:`pmcore.positions`, :func:`pmcore.exposures` or, on the hot path,
    :meth:`Book.revalue` with a price vector aligned to :attr:`instrument_ids`.

    Attributes
    ----------
    base_currency : str
        Currency every amount is converted to.
    portfolio_ids : pyarrow.Array
        The ``n_portfolios`` portfolio ids, sorted; code ``p`` is ``portfolio_ids[p]``.
    instrument_ids : pyarrow.Array
        The ``n_instruments`` instrument ids in the instruments table's order.
    currencies : pyarrow.Array
        The ``n_currencies`` currency codes, base currency first.
    offsets : numpy.ndarray
        int64[n_portfolios + 1]: positions of portfolio ``p`` are rows
        ``offsets[p]:offsets[p + 1]`` of the position arrays.
    instrument, quantity, avg_price, source_row : numpy.ndarray
        Per position (grouped by portfolio): instrument code, signed quantity,
        average cost per unit, and row number in the positions frame given.
    instrument_currency, multiplier : numpy.ndarray
        Per instrument: currency code and contract multiplier.
    is_margin : numpy.ndarray
        bool[n_portfolios]: margin account (else cash account).
    cash_offsets, cash_currency, cash_amounts : numpy.ndarray
        Cash rows grouped by portfolio; ``cash_amounts`` is float64[n_cash, 2]
        (balance, locked) in the row's currency.
    instruments : pyarrow.Table
        The instruments table as given, for grouping columns.
    kind : str
        ``"arrow"``, ``"polars"`` or ``"pandas"``: the kind of frame results
        come back as (the kind of the positions frame).
    memo : dict
        Private: the alignment of the last prices frame's ids to the book and
        the group codes per grouping column, kept so that :func:`pmcore.value`,
        :func:`pmcore.exposures` and :func:`pmcore.positions` called on the
        same frames hash the ids once. Keys hold the Arrow id array itself
        (Arrow buffers are immutable), so a new frame never hits a stale entry.
    """

    base_currency: str
    portfolio_ids: pa.Array
    instrument_ids: pa.Array
    currencies: pa.Array
    offsets: np.ndarray
    instrument: np.ndarray
    quantity: np.ndarray
    avg_price: np.ndarray
    source_row: np.ndarray
    instrument_currency: np.ndarray
    multiplier: np.ndarray
    is_margin: np.ndarray
    cash_offsets: np.ndarray
    cash_currency: np.ndarray
    cash_amounts: np.ndarray
    instruments: pa.Table
    held: np.ndarray
    needed_currency: np.ndarray
    kind: str
    #: id alignments already computed for this book (see :func:`pmcore.market.align_prices`)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_frames(
        cls,
        positions: Any,
        instruments: Any,
        /,
        *,
        cash: Any = None,
        accounts: Any = None,
        base_currency: str = schema.DEFAULT_BASE_CURRENCY,
    ) -> Book:
        """Prepare a book from positions and instruments (and cash and account types).

        Parameters
        ----------
        positions : pyarrow.Table, polars.DataFrame or pandas.DataFrame
            Columns ``portfolio_id``, ``instrument_id``, ``quantity`` (signed)
            and ``avg_price`` (cost per unit in the instrument's currency).
            A (portfolio_id, instrument_id) pair appears at most once.
        instruments : frame
            Columns ``instrument_id``, ``currency``, optional ``multiplier``
            (default 1) and any grouping columns (sector, country, ...).
        cash : frame or None, keyword-only
            Columns ``portfolio_id``, ``currency``, ``amount`` (negative is
            margin debt) and optional ``locked`` (funds held, >= 0).
        accounts : frame, mapping or None, keyword-only
            Columns ``portfolio_id``, ``account_type`` (``"cash"`` or
            ``"margin"``), or a mapping ``{portfolio_id: account_type}``.
            Portfolios not listed are cash accounts.
        base_currency : str, keyword-only
            Currency of every result (default ``"USD"``; any code, e.g. ``"USDT"``).

        Returns
        -------
        Book

        Raises
        ------
        ValidationError
            Missing columns, wrong types, NaN/inf, negative average prices,
            instruments not in ``instruments``, duplicate keys, unknown account
            types; the message names the argument, column, row and value.

        Examples
        --------
        >>> import pyarrow as pa
        >>> import pmcore as pm
        >>> positions = pa.table({"portfolio_id": ["A", "A", "B"],
        ...                       "instrument_id": ["AAPL", "SAP", "AAPL"],
        ...                       "quantity": [10.0, 5.0, -2.0],
        ...                       "avg_price": [150.0, 120.0, 180.0]})
        >>> instruments = pa.table({"instrument_id": ["AAPL", "SAP"],
        ...                         "currency": ["USD", "EUR"]})
        >>> book = pm.Book.from_frames(positions, instruments)
        >>> book
        Book(2 portfolios, 3 positions, 2 instruments, currencies ['USD', 'EUR'], base USD)
        """
        if not isinstance(base_currency, str) or not base_currency:
            raise ValidationError(
                "must be a currency code", argument="base_currency", value=base_currency,
                expected="a non-empty string such as 'USD'",
            )
        kind = frame_kind(positions)
        pos = to_arrow(positions, "positions")
        require_columns(pos, "positions", schema.POSITIONS)
        inst = to_arrow(instruments, "instruments")
        require_columns(inst, "instruments", schema.INSTRUMENTS)

        inst_ids = id_column(inst, "instruments", "instrument_id")
        _check_unique(inst_ids, "instruments", "instrument_id")
        inst_cur = id_column(inst, "instruments", "currency")
        multiplier = float_column(inst, "instruments", "multiplier", default=1.0, positive=True)

        quantity = float_column(pos, "positions", "quantity")
        avg_price = float_column(pos, "positions", "avg_price", nonnegative=True)
        pos_pid = id_column(pos, "positions", "portfolio_id", keep_dictionary=True)
        pos_iid = id_column(pos, "positions", "instrument_id", keep_dictionary=True)
        parallel = _parallel(len(quantity))
        # the two hash passes over the position ids overlap on two cores
        (pcode, pdict), (icode, _) = _split(parallel, [(encode, (pos_pid,)), (encode, (pos_iid, inst_ids))])
        if len(icode) and icode.min() < 0:
            row = int(np.flatnonzero(icode < 0)[0])
            raise ValidationError(
                "names an instrument that is not in 'instruments'", argument="positions",
                column="instrument_id", row=row, value=pos_iid[row].as_py(),
                expected="an instrument_id listed in instruments",
            )

        cash_t = _optional_table(cash, "cash")
        if cash_t is not None:
            require_columns(cash_t, "cash", schema.CASH)
        acc_t = _optional_table(accounts, "accounts", schema.ACCOUNTS)
        if acc_t is not None:
            require_columns(acc_t, "accounts", schema.ACCOUNTS)

        # portfolio universe: ids from positions, cash and accounts, sorted
        cash_pid = id_column(cash_t, "cash", "portfolio_id") if cash_t is not None else None
        acc_pid = id_column(acc_t, "accounts", "portfolio_id") if acc_t is not None else None
        parts = [pdict] + [pc.unique(a) for a in (cash_pid, acc_pid) if a is not None]
        family = {pa.types.is_integer(a.type) for a in parts if len(a)}
        if len(family) > 1:
            arg = "cash" if cash_pid is not None and len(cash_pid) else "accounts"
            raise ValidationError(
                "has a different id type than positions.portfolio_id (integer vs string)",
                argument=arg, column="portfolio_id",
            )
        id_type = pa.int64() if family == {True} else pa.string()
        universe = pc.unique(pa.concat_arrays([a.cast(id_type) for a in parts]))
        universe = universe.take(pc.sort_indices(universe))
        remap, _ = encode(pdict, universe)
        n_p = len(universe)
        offsets, order, instrument, quantity, avg_price, held, dup = _layout(
            parallel, pcode, remap, n_p, icode, len(inst_ids), quantity, avg_price
        )
        if dup >= 0:
            raise ValidationError(
                "repeats a (portfolio_id, instrument_id) pair", argument="positions",
                column="instrument_id", row=int(dup),
                value=(pos_pid[int(dup)].as_py(), pos_iid[int(dup)].as_py()),
                expected="one row per portfolio and instrument",
                hint="aggregate the rows first",
            )

        # currencies: base first, then the others sorted
        cur_parts = [pa.array([base_currency], pa.string()), inst_cur.cast(pa.string())]
        if cash_t is not None:
            cash_cur = id_column(cash_t, "cash", "currency").cast(pa.string())
            cur_parts.append(cash_cur)
        others = pc.unique(pa.concat_arrays(cur_parts[1:]))
        others = others.filter(pc.not_equal(others, base_currency))
        others = others.take(pc.sort_indices(others))
        currencies = pa.concat_arrays([cur_parts[0], others])
        inst_ccode, _ = encode(inst_cur.cast(pa.string()), currencies)

        needed = np.zeros(len(currencies), bool)
        needed[inst_ccode[held]] = True

        # cash rows grouped by portfolio
        if cash_t is not None:
            amount = float_column(cash_t, "cash", "amount")
            locked = float_column(cash_t, "cash", "locked", default=0.0, nonnegative=True)
            c_pcode, _ = encode(cash_pid, universe)
            c_ccode, _ = encode(cash_cur, currencies)
            c_off, c_order, c_dup = group_rows(c_pcode, n_p, c_ccode, len(currencies))
            if c_dup >= 0:
                raise ValidationError(
                    "repeats a (portfolio_id, currency) pair", argument="cash",
                    column="currency", row=int(c_dup),
                    value=(cash_pid[int(c_dup)].as_py(), cash_cur[int(c_dup)].as_py()),
                    expected="one row per portfolio and currency",
                )
            cash_currency = c_ccode[c_order]
            cash_amounts = np.column_stack([amount[c_order], locked[c_order]])
            needed[c_ccode] = True
        else:
            c_off = np.zeros(n_p + 1, np.int64)
            cash_currency = np.zeros(0, np.int32)
            cash_amounts = np.zeros((0, 2))

        is_margin = np.zeros(n_p, bool)
        if acc_t is not None:
            _check_unique(acc_pid, "accounts", "portfolio_id")
            types = id_column(acc_t, "accounts", "account_type")
            tcode, _ = encode(types, pa.array(schema.ACCOUNT_TYPES))
            if len(tcode) and tcode.min() < 0:
                row = int(np.flatnonzero(tcode < 0)[0])
                raise ValidationError(
                    "has an unknown account type", argument="accounts", column="account_type",
                    row=row, value=types[row].as_py(), expected="'cash' or 'margin'",
                )
            a_pcode, _ = encode(acc_pid, universe)
            is_margin[a_pcode] = tcode == 1

        book = cls(
            base_currency=base_currency,
            portfolio_ids=universe,
            instrument_ids=inst_ids,
            currencies=currencies,
            offsets=offsets,
            instrument=instrument,
            quantity=quantity,
            avg_price=avg_price,
            source_row=order,
            instrument_currency=inst_ccode,
            multiplier=multiplier,
            is_margin=is_margin,
            cash_offsets=c_off,
            cash_currency=cash_currency,
            cash_amounts=cash_amounts,
            instruments=inst,
            held=held,
            needed_currency=needed,
            kind=kind if kind != "other" else "arrow",
        )
        _readonly(
            book.offsets, book.instrument, book.quantity, book.avg_price, book.source_row,
            book.instrument_currency, book.multiplier, book.is_margin, book.cash_offsets,
            book.cash_currency, book.cash_amounts, book.held, book.needed_currency,
        )
        return book

    @property
    def n_portfolios(self) -> int:
        """Number of portfolios."""
        return len(self.portfolio_ids)

    @property
    def n_positions(self) -> int:
        """Number of positions (rows of the positions frame)."""
        return len(self.quantity)

    @property
    def n_instruments(self) -> int:
        """Number of instruments (rows of the instruments frame)."""
        return len(self.instrument_ids)

    def __repr__(self) -> str:
        return (
            f"Book({self.n_portfolios} portfolios, {self.n_positions} positions, "
            f"{self.n_instruments} instruments, currencies {self.currencies.to_pylist()}, "
            f"base {self.base_currency})"
        )

    def revalue(self, prices: Any, fx: Any = None, /):
        """Value every portfolio; the hot path for ticking prices.

        Parameters
        ----------
        prices : numpy.ndarray or frame
            float64[n_instruments] aligned to :attr:`instrument_ids` (no id is
            looked up; instruments that no position holds may be NaN), or a
            prices frame as for :func:`pmcore.value`.
        fx : numpy.ndarray, frame, mapping or None
            float64[n_currencies] aligned to :attr:`currencies` (rate to base
            currency), or an fx frame / mapping; None when every currency is the
            base currency.

        Returns
        -------
        pmcore.Valuation
            Per-portfolio arrays; ``.to_arrow()``/``.to_polars()``/``.to_pandas()``.

        Examples
        --------
        >>> import numpy as np
        >>> import pyarrow as pa
        >>> import pmcore as pm
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"],
        ...               "quantity": [10.0], "avg_price": [9.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}),
        ...     cash=pa.table({"portfolio_id": ["A"], "currency": ["USD"], "amount": [100.0]}))
        >>> v = book.revalue(np.array([10.0]))
        >>> float(v.equity[0]), float(v.unrealized_pnl[0])
        (200.0, 10.0)
        """
        from .valuation import revalue  # valuation builds on Book: import at call time

        return revalue(self, prices, fx)
