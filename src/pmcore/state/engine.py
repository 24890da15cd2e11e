"""``PortfolioState``: the one mutable object of pmcore.

It holds many portfolios (positions, multi-currency cash, account type) with
the latest prices and fx, applies fills, cash flows and market updates one at
a time or in batches, reports their impact, notifies subscribers, and, when
given a directory, writes every update to an append-only journal before
acknowledging it (see :mod:`pmcore.state.journal`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..book import Book
from ..errors import PmcoreError, ValidationError
from ..exposure import _group_codes
from ..kernels import state as ks
from ..market import align_fx, align_prices
from ..valuation import _book
from . import inputs as vi
from . import replay as rp
from . import snapshots as sn
from .batch_report import BatchReportMixin
from .core import Core
from .events import PortfolioStateUpdated, Subscribers, Subscription
from .history import HistoryMixin
from .impact import BatchImpact, ExposureChange, FillImpact, PositionChange, fast
from .journal import DURABILITY, Journal, read_frames, repair_tail
from .queries import QueryMixin

__all__ = ["PortfolioState", "RecoveryInfo"]

_DEFAULT_GROUPS = ("asset_class", "sector", "country")
_DUPLICATES = ("reject", "ignore")


class RecoveryInfo:
    """What :meth:`PortfolioState.open` did: checkpoint used, records replayed, torn bytes dropped."""

    def __init__(self, checkpoint: int, replayed: int, torn_bytes: int) -> None:
        self.checkpoint = checkpoint
        self.replayed = replayed
        self.torn_bytes = torn_bytes

    def __repr__(self) -> str:
        return (f"RecoveryInfo(checkpoint {self.checkpoint}, {self.replayed} records replayed, "
                f"{self.torn_bytes} torn bytes dropped)")


def _universe_of(book: Book) -> sn.Universe:
    return sn.Universe(book.base_currency, book.portfolio_ids, book.instrument_ids, book.currencies,
                       book.instruments, np.asarray(book.is_margin, bool), book.kind)


def _core_from_book(u: sn.Universe, book: Book, price_vec: np.ndarray, fx_vec: np.ndarray) -> Core:
    core = Core(len(u.portfolio_ids), len(u.instrument_ids), len(u.currencies), book.instrument_currency,
                book.multiplier, u.is_margin, capacity=max(16, book.n_positions))
    pcode = np.repeat(np.arange(book.n_portfolios), np.diff(book.offsets)).astype(np.int32)
    qty = np.asarray(book.quantity, np.float64)
    avg = np.where(qty != 0, book.avg_price, 0.0)
    status = np.where(qty != 0, ks.ACTIVE, ks.CLOSED).astype(np.int8)
    core.load_slots(pcode, book.instrument, qty, avg, np.zeros(len(qty)), status, np.zeros(len(qty), np.int64))
    for p in range(book.n_portfolios):
        for r in range(book.cash_offsets[p], book.cash_offsets[p + 1]):
            core.cash[p, book.cash_currency[r]] = book.cash_amounts[r]
    core.prices[:] = price_vec
    core.fx[:] = fx_vec
    return core


class PortfolioState(QueryMixin, HistoryMixin, BatchReportMixin):
    """Portfolios, positions, cash, prices and fx that change with every fill, thread-safe and durable.

    Build it from a prepared :class:`~pmcore.Book` (or positions and
    instruments frames), the latest prices and fx; with ``path`` every update
    is journaled there before it is acknowledged, and
    :meth:`PortfolioState.open` recovers it after a restart or crash.

    Parameters
    ----------
    book : Book or frame
        The portfolios at the start: a :class:`~pmcore.Book`, or a positions
        frame with ``instruments`` (and ``cash``, ``accounts``) as keywords.
        Its portfolios, instruments and currencies are the universe of the state.
    prices : frame, numpy.ndarray or None
        Latest prices (as for :func:`pmcore.value`); every held instrument needs
        one. An instrument without a price is marked at its first fill price.
    fx : frame, mapping, numpy.ndarray or None
        A rate to the base currency for every currency of the book.
    path : str or Path, optional, keyword-only
        Directory of the durable state (created; must not hold a state yet,
        use :meth:`open` for that). None keeps the state in memory only.
    durability : {"fsync", "group"}, keyword-only
        ``"fsync"``: each update is synced before it returns. ``"group"``:
        group commit, a background flusher syncs whatever all threads wrote
        since its last sync (writes that arrive during a sync share the next
        one) and each update returns once the sync that covers it is done.
        Either way nothing acknowledged is lost.
    commit_window : float, keyword-only
        Seconds the group-commit flusher waits before each sync to gather more
        writes (default 0: sync at once; a window trades latency for fewer syncs).
    group_by : sequence of str, optional, keyword-only
        Instrument columns reported in exposure changes (default: those of
        asset_class, sector, country present).
    limits : mapping, optional, keyword-only
        Exposure limits per grouping column as fractions of equity (0.25 is
        25 %): ``{"sector": {"Technology": 0.4}, "country": 0.5}``.
    duplicates : {"reject", "ignore"}, keyword-only
        A fill id (or cash flow id) seen before, also before a restart, is an
        error (``"reject"``, the default; with ``atomic=False`` a per-row
        rejection) or skipped (``"ignore"``). It is never applied twice.
    retention_days : int, keyword-only
        Daily snapshots older than this many days are deleted (default 365);
        the journal is kept, so every past state stays replayable.

    Examples
    --------
    >>> import pyarrow as pa
    >>> import pmcore as pm
    >>> from pmcore.state import PortfolioState
    >>> book = pm.Book.from_frames(
    ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [10.0],
    ...               "avg_price": [100.0]}),
    ...     pa.table({"instrument_id": ["X", "Y"], "currency": ["USD", "USD"],
    ...               "sector": ["Tech", "Energy"]}),
    ...     cash=pa.table({"portfolio_id": ["A"], "currency": ["USD"], "amount": [1000.0]}))
    >>> state = PortfolioState(book, {"instrument_id": ["X", "Y"], "price": [110.0, 50.0]})
    >>> impact = state.apply_fill(1, "A", "Y", 4.0, 50.0, fee=1.0, timestamp=0)
    >>> impact.position.quantity, impact.cash_impact, impact.value_change
    (4.0, -201.0, -1.0)
    >>> state.value().select(["portfolio_id", "cash", "equity"]).to_pylist()
    [{'portfolio_id': 'A', 'cash': 799.0, 'equity': 2099.0}]
    """

    def __init__(self, book: Any, prices: Any = None, fx: Any = None, /, *, path: Any = None,
                 durability: str = "fsync", commit_window: float = 0.0, group_by: Iterable[str] | None = None,
                 limits: Mapping | None = None, duplicates: str = "reject", retention_days: int = 365,
                 instruments: Any = None, cash: Any = None, accounts: Any = None,
                 base_currency: str | None = None) -> None:
        bk = _book(book, instruments, cash, accounts, base_currency)
        if len(bk.portfolio_ids) == 0:
            raise ValidationError("holds no portfolio", argument="book", expected="at least one portfolio",
                                  hint="list the portfolios in accounts or cash")
        price_vec = np.full(bk.n_instruments, np.nan) if prices is None and not bk.held.any() else \
            align_prices(bk, prices)[0]
        fx_vec = align_fx(bk, fx)
        if not np.all(np.isfinite(fx_vec) & (fx_vec > 0)):
            c = int(np.flatnonzero(~(np.isfinite(fx_vec) & (fx_vec > 0)))[0])
            raise ValidationError(
                f"has no rate for currency {bk.currencies[c].as_py()!r}", argument="fx",
                expected=f"a rate to {bk.base_currency} for every currency of the book",
            )
        u = _universe_of(bk)
        core = _core_from_book(u, bk, np.where(np.isfinite(price_vec) & (price_vec > 0), price_vec, np.nan), fx_vec)
        root = None
        if path is not None:
            root = Path(path)
            if (root / "meta.json").exists():
                raise PmcoreError(f"{root} already holds a portfolio state; use PortfolioState.open({str(root)!r})")
            root.mkdir(parents=True, exist_ok=True)
            (root / "journal").mkdir(exist_ok=True)
            sn.write_universe(root, u)
            sn.write_checkpoint(root, core, sequence=0, position=(1, 0), clock_ns=0)
        self._setup(u, core, root, durability=durability, commit_window=commit_window, group_by=group_by,
                    limits=limits, duplicates=duplicates, retention_days=retention_days, sequence=0, clock=0)
        self.recovery = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def open(cls, path: Any, book: Any = None, prices: Any = None, fx: Any = None, /, **options) -> PortfolioState:
        """Open the durable state in ``path``: recover it, or create it from ``book`` if the directory holds none.

        Recovery loads the newest checkpoint, drops a torn tail of the journal
        (a record cut short by a crash) and replays the journal after the
        checkpoint; ``state.recovery`` tells what was done. ``book``,
        ``prices`` and ``fx`` are only used to create a new state.

        Parameters
        ----------
        path : str or Path
        book, prices, fx
            As for :class:`PortfolioState` (needed only when creating).
        **options
            The keyword options of :class:`PortfolioState` (``durability``,
            ``commit_window``, ``group_by``, ``limits``, ``duplicates``,
            ``retention_days``).

        Returns
        -------
        PortfolioState

        Examples
        --------
        >>> import tempfile, pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [1.0], "avg_price": [9.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with PortfolioState.open(d, book, {"instrument_id": ["X"], "price": [10.0]}) as s:
        ...         _ = s.apply_fill("f1", "A", "X", 2.0, 11.0, timestamp=0)
        ...     with PortfolioState.open(d) as s:
        ...         print(s.positions().column("quantity").to_pylist(), s.recovery.replayed)
        [3.0] 0
        """
        root = Path(path)
        if not (root / "meta.json").exists():
            if book is None:
                raise PmcoreError(f"{root} holds no portfolio state; pass a book to create one")
            return cls(book, prices, fx, path=root, **options)
        unknown = set(options) - {"durability", "commit_window", "group_by", "limits", "duplicates", "retention_days"}
        if unknown:
            raise TypeError(f"unexpected option {sorted(unknown)[0]!r}")
        u = sn.read_universe(root)
        cks = sn.list_checkpoints(root)
        if not cks:
            raise PmcoreError(f"{root} has no complete checkpoint; the state was never fully created")
        info = cks[-1]
        core = cls._empty_core(u)
        sn.read_checkpoint(info, core)
        torn = repair_tail(root / "journal")
        seq, clock, replayed = info["sequence"], info["clock_ns"], 0
        for kind, batch, _pos in read_frames(root / "journal", (info["segment"], info["offset"])):
            rp.apply_record(core, kind, batch)
            clock = max(clock, rp.record_max_ts(batch))
            seq += 1
            replayed += 1
        self = cls.__new__(cls)
        self._setup(u, core, root, sequence=seq, clock=clock, **options)
        self.recovery = RecoveryInfo(info["sequence"], replayed, torn)
        return self

    @staticmethod
    def _empty_core(u: sn.Universe) -> Core:
        inst = u.instruments
        ccy = inst.column("currency").combine_chunks().cast(pa.string())
        from ..frames import encode

        codes, _ = encode(ccy, u.currencies.cast(pa.string()))
        mult = inst.column("multiplier").to_numpy() if "multiplier" in inst.column_names else np.ones(inst.num_rows)
        return Core(len(u.portfolio_ids), len(u.instrument_ids), len(u.currencies), codes,
                    np.asarray(mult, np.float64), u.is_margin)

    def _setup(self, u: sn.Universe, core: Core, root: Path | None, *, sequence: int, clock: int,
               durability: str = "fsync", commit_window: float = 0.0, group_by: Iterable[str] | None = None,
               limits: Mapping | None = None, duplicates: str = "reject", retention_days: int = 365,
               readonly: bool = False) -> None:
        if durability not in DURABILITY:
            raise ValidationError("is not a durability policy", argument="durability", value=durability,
                                  expected=f"one of {list(DURABILITY)}")
        if duplicates not in _DUPLICATES:
            raise ValidationError("is not a duplicate policy", argument="duplicates", value=duplicates,
                                  expected="'reject' or 'ignore'")
        if not (isinstance(retention_days, int) and retention_days >= 1):
            raise ValidationError("must be a whole number of days >= 1", argument="retention_days",
                                  value=retention_days)
        self._u = u
        self._core = core
        self._root = root
        self._lock = threading.RLock()
        self._subs = Subscribers()
        self._duplicates = duplicates
        self._retention = retention_days
        self._clock = clock
        self._readonly = readonly
        self._options = {"durability": durability, "commit_window": commit_window, "group_by": group_by,
                         "limits": limits, "duplicates": duplicates, "retention_days": retention_days}
        self._pidx = {v: k for k, v in enumerate(u.portfolio_ids.to_pylist())}
        self._iidx = {v: k for k, v in enumerate(u.instrument_ids.to_pylist())}
        self._cidx = {v: k for k, v in enumerate(u.currencies.to_pylist())}
        self._pids = u.portfolio_ids.to_pylist()
        self._iids = u.instrument_ids.to_pylist()
        self._setup_groups(group_by, limits)
        self._scale = core.scale()
        self._out = np.empty(ks.I_GROUPS + 2 * len(self._group_names))
        self._journal = None
        self._sequence = sequence
        if root is not None and not readonly:
            self._journal = Journal(root / "journal", durability=durability, commit_window=commit_window,
                                    sequence=sequence)

    def _setup_groups(self, group_by, limits) -> None:
        cols = self._u.instruments.column_names
        if group_by is None:
            group_by = [c for c in _DEFAULT_GROUPS if c in cols]
        group_by = list(group_by)
        book, _ = self._core.book(self._u)
        codes, labels = [], []
        for name in group_by:
            c, lab = _group_codes(book, name)
            codes.append(c)
            labels.append(lab.to_pylist())
        n_i = self._core.n_i
        self._group_names = group_by
        self._group_codes = np.ascontiguousarray(np.array(codes, np.int32).reshape(len(group_by), n_i))
        self._group_labels = labels
        self._n_groups = np.array([len(lab) for lab in labels], np.int64)
        width = max([len(lab) for lab in labels] + [1])
        self._limits = np.full((len(group_by), width), np.nan)
        for name, spec in (limits or {}).items():
            if name not in group_by:
                raise ValidationError(f"names a column that is not in group_by {group_by}", argument="limits",
                                      value=name)
            g = group_by.index(name)
            if isinstance(spec, Mapping):
                for label, lim in spec.items():
                    if label not in labels[g]:
                        raise ValidationError(f"names an unknown {name} group", argument="limits", value=label,
                                              expected=f"one of {labels[g]}")
                    self._limits[g, labels[g].index(label)] = self._check_limit(lim)
            else:
                self._limits[g, :] = self._check_limit(spec)

    @staticmethod
    def _check_limit(x) -> float:
        if not (isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) and x > 0):
            raise ValidationError("must be positive", argument="limits", value=x,
                                  expected="a fraction > 0 (0.25 means 25 %)")
        return float(x)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Sync the journal, write a checkpoint (fast reopen) and release the files.

        Examples
        --------
        >>> import tempfile, pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [1.0], "avg_price": [9.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     s = PortfolioState.open(d, book, {"instrument_id": ["X"], "price": [10.0]})
        ...     s.close()
        ...     s.closed
        True
        """
        with self._lock:
            if self._journal is None:
                self._readonly = True
                return
            self._journal.sync()
            self._checkpoint_locked()
            self._journal.close()
            self._journal = None
            self._readonly = True

    @property
    def closed(self) -> bool:
        """True after :meth:`close` (and for the read-only states of :meth:`as_of`)."""
        return self._readonly

    def __enter__(self) -> PortfolioState:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"journal {self._root}" if self._root is not None else "in memory"
        return (f"PortfolioState({len(self._pids)} portfolios, {self.n_positions} open positions, "
                f"{len(self._iids)} instruments, base {self._u.base_currency}, {where}, sequence {self._sequence})")

    @property
    def n_positions(self) -> int:
        """Number of open (non-CLOSED) positions."""
        c = self._core
        return int(np.count_nonzero(c.s_status[:c.n_slots] != ks.CLOSED))

    @property
    def sequence(self) -> int:
        """Number of updates journaled (0 without a journal)."""
        return self._sequence

    @property
    def base_currency(self) -> str:
        """Currency of every reported amount."""
        return self._u.base_currency

    def memory_bytes(self) -> int:
        """Bytes held by the state's arrays (positions, hashes, fill ids, cash, prices).

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [1.0], "avg_price": [9.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]}).memory_bytes() > 0
        True
        """
        return self._core.nbytes()

    def _writable(self) -> None:
        if self._readonly:
            raise PmcoreError("this PortfolioState is closed, read-only (as_of) or stopped after a journal "
                              "failure; open it again to apply updates")

    # ------------------------------------------------------------------ single fill
    def apply_fill(self, fill_id: Any, portfolio_id: Any, instrument_id: Any, quantity: float, price: float, /, *,
                   fee: float = 0.0, fee_currency: str | None = None, timestamp: Any = None,
                   transaction_type: str = "trade") -> FillImpact | None:
        """Apply one fill and return its impact.

        Parameters
        ----------
        fill_id : int or str
            Unique id of the fill; a repeat (also across restarts) is rejected,
            or ignored with ``duplicates="ignore"`` (then None is returned).
        portfolio_id, instrument_id
            Ids of the book's universe.
        quantity : float
            Signed change: > 0 buys, < 0 sells; non-zero.
        price : float
            Fill price per unit, instrument currency, > 0.
        fee : float, keyword-only
            Fee >= 0 in ``fee_currency`` (default: the instrument's currency).
        timestamp : datetime, numpy.datetime64, int ns or None, keyword-only
            Time of the fill (default now, UTC).
        transaction_type : {"trade", "buy", "sell", "transfer"}, keyword-only
            ``buy`` and ``sell`` also check the sign of ``quantity``; a
            ``transfer`` moves the position at ``price`` as its cost without
            cash (the fee is still paid).

        Returns
        -------
        FillImpact or None

        Raises
        ------
        ValidationError
            Unknown portfolio, instrument or currency, non-finite or zero
            quantity, price <= 0, negative fee, duplicate fill id, a sell
            that would take a cash account short, a SUSPENDED position. The
            message names the fill; the state is unchanged.

        Notes
        -----
        A cash account may not sell short: a sell that would leave the
        position below zero is rejected (covering an existing short is allowed).
        Buying power is not checked here (the margin checks do that): cash may
        go below zero. Cash is kept in float64 per (portfolio, currency); the
        exact ledger is :mod:`pmcore.cash`.

        Average cost: an increase moves the cost to
        :math:`(q_0 \\bar p_0 + \\Delta q\\, p) / (q_0 + \\Delta q)`; a reduction
        books :math:`|\\Delta q| (p - \\bar p_0) m` (sign of the old side); a fill
        crossing zero closes the old side and opens the rest at ``p``; zero is
        CLOSED. Cash moves by :math:`-\\Delta q\\, p\\, m` in the instrument's
        currency on a cash account, by the realized PnL on a margin account,
        and by ``-fee`` in the fee currency.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [10.0], "avg_price": [100.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"], "sector": ["Tech"]}),
        ...     cash=pa.table({"portfolio_id": ["A"], "currency": ["USD"], "amount": [0.0]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [100.0]})
        >>> r = state.apply_fill("s1", "A", "X", -4.0, 120.0, timestamp=0)
        >>> r.position.realized_pnl, r.position.quantity, r.cash_impact
        (80.0, 6.0, 480.0)
        >>> state.apply_fill("s2", "A", "X", -7.0, 120.0)
        Traceback (most recent call last):
        ...
        pmcore.errors.ValidationError: fills: fill 's2' would take a no-short cash account below zero (portfolio 'A', instrument 'X'); got -7.0
        """
        t0 = time.perf_counter_ns()
        p = self._pidx.get(portfolio_id, -1)
        i = self._iidx.get(instrument_id, -1)
        if p < 0 or i < 0:
            bad = ("portfolio_id", portfolio_id, "portfolio") if p < 0 else ("instrument_id", instrument_id,
                                                                              "instrument")
            raise ValidationError(f"fill {fill_id!r}: unknown {bad[2]}", argument=bad[0], value=bad[1],
                                  expected=f"an {bad[0]} of the state's book")
        q = float(quantity)
        px = float(price)
        fe = float(fee)
        if not (q == q and q != 0.0 and abs(q) != np.inf):
            raise ValidationError(f"fill {fill_id!r}: quantity must be finite and non-zero", argument="quantity",
                                  value=quantity)
        if not (0.0 < px < np.inf):
            raise ValidationError(f"fill {fill_id!r}: price must be a finite number > 0", argument="price",
                                  value=price)
        if not (0.0 <= fe < np.inf):
            raise ValidationError(f"fill {fill_id!r}: fee must be a finite number >= 0", argument="fee", value=fee)
        core = self._core
        fc = core.inst_ccy[i] if fee_currency is None else self._cidx.get(fee_currency, -1)
        if fc < 0:
            raise ValidationError(f"fill {fill_id!r}: unknown fee currency", argument="fee_currency",
                                  value=fee_currency, expected=f"one of {list(self._cidx)}")
        try:
            tt = ks.TRANSACTION_TYPES.index(transaction_type)
        except ValueError:
            raise ValidationError(f"fill {fill_id!r}: unknown transaction type", argument="transaction_type",
                                  value=transaction_type, expected=f"one of {list(ks.TRANSACTION_TYPES)}") from None
        if (tt == ks.T_BUY and q < 0) or (tt == ks.T_SELL and q > 0):
            raise ValidationError(f"fill {fill_id!r}: {vi.FILL_REASONS[vi.R_SIDE]}", argument="quantity", value=q)
        use_id = isinstance(fill_id, (int, np.integer)) and not isinstance(fill_id, bool)
        if use_id:
            fid = int(fill_id)
            if fid == vi.INT64_MIN or fid > np.iinfo(np.int64).max:
                raise ValidationError(f"fill {fill_id!r}: id out of range", argument="fill_id", value=fill_id,
                                      expected="an int64 other than the minimum, or a string")
        elif isinstance(fill_id, str):
            fid = 0
        else:
            raise ValidationError("must be an int or a str", argument="fill_id", value=fill_id)
        ts = vi.to_ns(timestamp)
        out = self._out
        with self._lock:
            self._writable()
            if not use_id and fill_id in core.str_ids:
                return self._duplicate(fill_id)
            self._maybe_daily(ts)
            core.reserve(1, 1)
            si, sf = core.state_tuples()
            ks.apply_one(p, i, q, px, fe, fc, tt, fid, use_id, ts, True, self._group_codes, self._n_groups, core.fx,
                         self._scale, si, sf, core.s_int, core.s_num, core.s_status, core.s_opened, core.ids, out)
            code = int(out[ks.I_CODE])
            if code != ks.OK:
                if code == ks.REJ_DUPLICATE:
                    return self._duplicate(fill_id)
                raise ValidationError(f"fill {fill_id!r} {vi.FILL_REASONS[code]} (portfolio {portfolio_id!r}, "
                                      f"instrument {instrument_id!r})", argument="fills", value=quantity)
            if not use_id:
                core.str_ids.add(fill_id)
            core.version += 1
            if ts > self._clock:
                self._clock = ts
            seq = 0
            if self._journal is not None:
                f = {"ts": [ts], "port": np.array([p], np.int32), "inst": np.array([i], np.int32), "qty": [q],
                     "price": [px], "fee": [fe], "fee_ccy": np.array([fc], np.int32), "ttype": np.array([tt], np.int8)}
                seq = self._append("fills", rp.fills_batch(pa.array([fill_id]), f))
                self._sequence = seq
            vals = out.tolist()
        if seq:
            self._journal_wait(seq)
        impact = self._fill_impact(fill_id, seq, p, i, vals, t0)
        if self._subs:
            pid = self._pids[p]
            if self._subs.wants(pid):
                self._subs.deliver([PortfolioStateUpdated(
                    pid, seq, ts, "fills",
                    {"value_before": impact.value_before, "value_after": impact.value_after,
                     "value_change": impact.value_change, "cash_impact": impact.cash_impact},
                    (impact.position,), impact.exposure_changes)])
        return impact

    def _append(self, kind: str, batch: pa.RecordBatch) -> int:
        """Journal an applied update; a failed write stops the state (memory is ahead of the journal)."""
        try:
            return self._journal.append(kind, batch)
        except PmcoreError:
            self._readonly = True
            raise

    def _journal_wait(self, seq: int) -> None:
        journal = self._journal
        if journal is not None:
            try:
                journal.wait(seq)
            except PmcoreError:
                self._readonly = True  # not acknowledged; reopen to recover what is durable
                raise

    def _duplicate(self, fill_id):
        if self._duplicates == "ignore":
            return None
        raise ValidationError(f"fill {fill_id!r} is a duplicate fill id (seen before)", argument="fill_id",
                              value=fill_id, expected="a new fill id",
                              hint="pass duplicates='ignore' to skip repeats")

    def _fill_impact(self, fill_id, seq, p, i, v, t0) -> FillImpact:
        eq0, eq1 = v[ks.I_EQ0], v[ks.I_EQ1]
        mv0, mv1 = v[ks.I_MV0], v[ks.I_MV1]
        w0 = mv0 / eq0 if eq0 else float("nan")
        w1 = mv1 / eq1 if eq1 else float("nan")
        pid = self._pids[p]
        changes = []
        for g, name in enumerate(self._group_names):
            code = self._group_codes[g, i]
            g0, g1 = v[ks.I_GROUPS + 2 * g], v[ks.I_GROUPS + 2 * g + 1]
            old = 100.0 * g0 / eq0 if eq0 else float("nan")
            new = 100.0 * g1 / eq1 if eq1 else float("nan")
            lim = self._limits[g, code]
            if lim == lim:
                limit_pct, util = 100.0 * lim, (g1 / (eq1 * lim) if eq1 else float("inf"))
            else:
                limit_pct, util = None, None
            changes.append(fast(ExposureChange, pid, name, self._group_labels[g][code], old, new, new - old,
                                limit_pct, util))
        pos = fast(PositionChange, pid, self._iids[i], v[ks.I_Q0], v[ks.I_Q1], v[ks.I_A0], v[ks.I_A1],
                   v[ks.I_REAL], ks.STATUS_NAMES[int(v[ks.I_STATUS])])
        return fast(FillImpact, fill_id, seq, pos, eq0, eq1, eq1 - eq0, v[ks.I_CASH1] - v[ks.I_CASH0], w0, w1,
                    w1 - w0, tuple(changes), (time.perf_counter_ns() - t0) / 1000.0)

    # ------------------------------------------------------------------ batches
    def apply_fills(self, fills: Any, /, *, atomic: bool = True, report: bool = True) -> BatchImpact:
        """Apply a batch of fills in order and return the batch's impact.

        Parameters
        ----------
        fills : frame
            Columns ``fill_id`` (int or string), ``portfolio_id``,
            ``instrument_id``, ``quantity`` (signed), ``price``; optional
            ``fee`` (default 0), ``fee_currency`` (default the instrument's),
            ``timestamp`` (default now) and ``transaction_type`` (default
            ``"trade"``), with the rules of :meth:`apply_fill`.
        atomic : bool, keyword-only
            True (default): all or nothing; the first bad row raises and the
            state and journal are unchanged. False: bad rows are rejected
            (``rejections`` says which and why), the others applied in order.
        report : bool, keyword-only
            Compute the per-portfolio, per-position and exposure impact (the
            bulk path can skip it for speed; counts are always reported).

        Returns
        -------
        BatchImpact

        Notes
        -----
        The result is that of applying the rows one by one in input order
        (bit for bit). Inside, rows are applied grouped by portfolio, which
        keeps a portfolio's positions in cache; so when several rows of an
        atomic batch would fail, the error names the first one met in that
        order (the earliest of its portfolio). A fill id that repeats within a
        batch is a duplicate at its second occurrence, whatever became of the
        first.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A", "B"], "instrument_id": ["X", "X"], "quantity": [5.0, 1.0],
        ...               "avg_price": [10.0, 10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> fills = pa.table({"fill_id": [1, 2, 3], "portfolio_id": ["A", "B", "A"],
        ...                   "instrument_id": ["X", "X", "X"], "quantity": [-2.0, -3.0, 1.0],
        ...                   "price": [12.0, 12.0, 11.0], "timestamp": [0, 0, 0]})
        >>> r = state.apply_fills(fills, atomic=False)
        >>> r.n_applied, r.rejections.to_pylist()
        (2, [{'row': 1, 'id': '2', 'reason': 'would take a no-short cash account below zero'}])
        >>> r.positions.select(["portfolio_id", "quantity_before", "quantity", "realized_pnl"]).to_pylist()
        [{'portfolio_id': 'A', 'quantity_before': 5.0, 'quantity': 4.0, 'realized_pnl': 4.0}]
        """
        t0 = time.perf_counter_ns()
        table = vi.frame(fills, "fills", ("fill_id", "portfolio_id", "instrument_id", "quantity", "price"))
        n = table.num_rows
        core, u = self._core, self._u
        int_ids, str_ids, raw_ids = vi.fill_ids(table, "fills", "fill_id")
        port, _ = vi.codes(table, "fills", "portfolio_id", u.portfolio_ids)
        inst, _ = vi.codes(table, "fills", "instrument_id", u.instrument_ids)
        qty = vi._numbers(table, "quantity", None)
        price = vi._numbers(table, "price", None)
        fee = vi._numbers(table, "fee", 0.0)
        fee_ccy, _ = vi.codes(table, "fills", "fee_currency", u.currencies.cast(pa.string()),
                              default=core.inst_ccy[np.maximum(inst, 0)])
        ttype = vi.enum_codes(table, "fills", "transaction_type", ks.TRANSACTION_TYPES, ks.T_TRADE)
        ts = vi.timestamps(table, "fills")
        reason = self._fill_reasons(port, inst, qty, price, fee, fee_ccy, ttype, int_ids)
        f = {"port": port, "inst": inst, "qty": qty, "price": price, "fee": fee,
             "fee_ccy": fee_ccy.astype(np.int32, copy=False), "ttype": ttype, "ts": ts, "fid": int_ids}
        with self._lock:
            self._writable()
            if str_ids is not None:
                self._str_duplicates(str_ids, reason)
            status = reason
            if atomic:
                self._raise_first(status, raw_ids, "fills", port, inst)
            self._maybe_daily(int(ts.max()) if n else 0)
            want = report or bool(self._subs)
            before = self._snapshot_values(port[status == ks.OK]) if want else None
            bad, touched = core.apply_fills(f, status, atomic=atomic, ignore_dup=self._duplicates == "ignore",
                                            want_touched=want)
            if bad >= 0:
                self._raise_first(status, raw_ids, "fills", port, inst)
            ok = status == ks.OK
            all_ok = bool(ok.all())
            n_ok = n if all_ok else int(ok.sum())
            seq = 0
            if n_ok:
                if str_ids is not None:
                    core.str_ids.update(str_ids if all_ok else [x for x, k in zip(str_ids, ok) if k])
                ts_max = int(ts.max() if all_ok else ts[ok].max())
                self._clock = max(self._clock, ts_max)
                if self._journal is not None:
                    rec = f if all_ok else {k: v[ok] for k, v in f.items() if v is not None}
                    ids = raw_ids if all_ok else raw_ids.filter(pa.array(ok))
                    seq = self._append("fills", rp.fills_batch(ids, rec))
                    self._sequence = seq
            after = self._after(before, touched) if want else None
        return self._finish("fills", seq, n, status, raw_ids, after, t0, report)

    def _fill_reasons(self, port, inst, qty, price, fee, fee_ccy, ttype, int_ids) -> np.ndarray:
        reason = np.zeros(len(port), np.int8)
        with np.errstate(invalid="ignore"):
            checks = [
                (vi.R_PORTFOLIO, port < 0), (vi.R_INSTRUMENT, inst < 0),
                (vi.R_QTY, ~np.isfinite(qty) | (qty == 0)), (vi.R_PRICE, ~(np.isfinite(price) & (price > 0))),
                (vi.R_FEE, ~(np.isfinite(fee) & (fee >= 0))), (vi.R_FEE_CCY, fee_ccy < 0), (vi.R_TYPE, ttype < 0),
                (vi.R_SIDE, ((ttype == ks.T_BUY) & (qty < 0)) | ((ttype == ks.T_SELL) & (qty > 0))),
            ]
            if int_ids is not None:
                checks.append((vi.R_ID, int_ids == vi.INT64_MIN))
        any_bad = checks[0][1].copy()
        for _, m in checks[1:]:
            any_bad |= m
        if any_bad.any():
            for code, m in reversed(checks):
                reason[m] = code
        return reason

    def _str_duplicates(self, ids: list, status: np.ndarray) -> None:
        seen = self._core.str_ids
        batch: set = set()
        ignore = self._duplicates == "ignore"
        for r, x in enumerate(ids):
            if status[r] != ks.OK:
                continue
            if x in seen or x in batch:
                status[r] = ks.IGNORED if ignore else vi.R_DUP_STR
            else:
                batch.add(x)

    def _raise_first(self, status: np.ndarray, raw_ids, arg: str, port: np.ndarray, other: np.ndarray) -> None:
        """Raise for the first rejected row: its id, reason, portfolio and instrument (or currency)."""
        bad = np.flatnonzero((status != ks.OK) & (status != ks.IGNORED))
        if len(bad) == 0:
            return
        r = int(bad[0])
        code = int(status[r])
        what = "fill" if arg == "fills" else "cash flow"
        ident = raw_ids[r].as_py() if raw_ids is not None else None
        name = f"{what} {ident!r}" if ident is not None else what
        where = []
        if port[r] >= 0:
            where.append(f"portfolio {self._pids[int(port[r])]!r}")
        if other[r] >= 0:
            if arg == "fills":
                where.append(f"instrument {self._iids[int(other[r])]!r}")
            else:
                where.append(f"currency {self._u.currencies[int(other[r])].as_py()!r}")
        at = f" ({', '.join(where)})" if where else ""
        raise ValidationError(f"{name} {vi.FILL_REASONS[code]}{at}; the batch was not applied", argument=arg, row=r,
                              hint="pass atomic=False to apply the other rows and get per-row rejections")

    # ------------------------------------------------------------------ cash flows
    def apply_cash_flows(self, flows: Any, /, *, atomic: bool = True, report: bool = True) -> BatchImpact:
        """Apply deposits, withdrawals, fees, funding, dividends and interest.

        Parameters
        ----------
        flows : frame
            Columns ``portfolio_id``, ``amount``; optional ``currency``
            (default the base currency), ``flow_type`` (default
            ``"deposit"``), ``timestamp`` (default now) and ``flow_id`` (int or
            string, idempotent like a fill id). Deposit, withdrawal and fee
            amounts are > 0 (withdrawals and fees take cash out); funding,
            dividend and interest amounts are signed (> 0 received).
        atomic, report : bool, keyword-only
            As for :meth:`apply_fills`. A withdrawal larger than the available
            cash (balance - locked) of its currency is rejected.

        Returns
        -------
        BatchImpact

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [1.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> r = state.apply_cash_flows({"portfolio_id": ["A", "A"], "amount": [100.0, 30.0],
        ...                             "flow_type": ["deposit", "withdrawal"]})
        >>> r.portfolios.select(["portfolio_id", "cash_impact"]).to_pylist()
        [{'portfolio_id': 'A', 'cash_impact': 70.0}]
        >>> state.apply_cash_flows({"portfolio_id": ["A"], "amount": [500.0], "flow_type": ["withdrawal"]})
        Traceback (most recent call last):
        ...
        pmcore.errors.ValidationError: cash_flows: row 0: cash flow withdrawal larger than available cash (portfolio 'A', currency 'USD'); the batch was not applied. Hint: pass atomic=False to apply the other rows and get per-row rejections
        """
        t0 = time.perf_counter_ns()
        table = vi.frame(flows, "cash_flows", ("portfolio_id", "amount"))
        n = table.num_rows
        core, u = self._core, self._u
        int_ids, str_ids, raw_ids = vi.fill_ids(table, "cash_flows", "flow_id", required=False)
        port, _ = vi.codes(table, "cash_flows", "portfolio_id", u.portfolio_ids)
        ccy, _ = vi.codes(table, "cash_flows", "currency", u.currencies.cast(pa.string()),
                          default=np.zeros(n, np.int32))
        amount = vi._numbers(table, "amount", None, "cash_flows")
        ftype = vi.enum_codes(table, "cash_flows", "flow_type", ks.FLOW_TYPES, 0)
        ts = vi.timestamps(table, "cash_flows")
        positive = (ftype >= 0) & (ftype <= 2)
        with np.errstate(invalid="ignore"):
            checks = [(vi.R_PORTFOLIO, port < 0), (vi.R_CCY, ccy < 0), (vi.R_FLOW, ftype < 0),
                      (vi.R_AMOUNT, ~np.isfinite(amount) | (positive & ~(amount > 0)))]
        if int_ids is not None:
            checks.append((vi.R_ID, int_ids == vi.INT64_MIN))
        status = np.zeros(n, np.int8)
        for code, m in reversed(checks):
            status[m] = code
        signed = np.where((ftype == 1) | (ftype == 2), -amount, amount)
        with self._lock:
            self._writable()
            self._flow_duplicates(int_ids, str_ids, status)
            if atomic:
                self._raise_first(status, raw_ids, "cash_flows", port, ccy)
            self._maybe_daily(int(ts.max()) if n else 0)
            want = report or bool(self._subs)
            before = self._snapshot_values(port[status == ks.OK]) if want else None
            bad = core.apply_cash(port, ccy.astype(np.int32, copy=False), signed, ftype == 1, status, ftype,
                                  atomic=atomic)
            if bad >= 0:
                self._raise_first(status, raw_ids, "cash_flows", port, ccy)
            ok = status == ks.OK
            seq = 0
            if ok.any():
                if int_ids is not None:
                    core.add_ids(int_ids[ok])
                elif str_ids is not None:
                    core.str_ids.update(x for x, k in zip(str_ids, ok) if k)
                self._clock = max(self._clock, int(ts[ok].max()))
                if self._journal is not None:
                    ids = raw_ids.filter(pa.array(ok)) if raw_ids is not None else pa.nulls(int(ok.sum()), pa.int64())
                    seq = self._append("cash_flows", rp.cash_batch(
                        ids, ts[ok], port[ok], ccy[ok].astype(np.int32), signed[ok], ftype[ok]))
                    self._sequence = seq
            after = self._after(before, None) if want else None
        return self._finish("cash_flows", seq, n, status, raw_ids, after, t0, report)

    def _flow_duplicates(self, int_ids, str_ids, status) -> None:
        ignore = self._duplicates == "ignore"
        code = ks.IGNORED if ignore else ks.REJ_DUPLICATE
        if str_ids is not None:
            self._str_duplicates(str_ids, status)
        elif int_ids is not None:
            seen = self._core.seen(int_ids)
            batch: set = set()
            for r in range(len(int_ids)):
                if status[r] != ks.OK:
                    continue
                if seen[r] or int_ids[r] in batch:
                    status[r] = code
                else:
                    batch.add(int_ids[r])

    def apply_cash_flow(self, portfolio_id: Any, amount: float, /, *, currency: str | None = None,
                        flow_type: str = "deposit", timestamp: Any = None, flow_id: Any = None) -> BatchImpact:
        """Apply one cash flow (see :meth:`apply_cash_flows`).

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [1.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> state.apply_cash_flow("A", 250.0, flow_type="deposit").portfolios.column("value_after").to_pylist()
        [260.0]
        """
        cols = {"portfolio_id": [portfolio_id], "amount": [float(amount)],
                "currency": [currency or self._u.base_currency], "flow_type": [flow_type],
                "timestamp": pa.array([vi.to_ns(timestamp)], pa.int64())}
        if flow_id is not None:
            cols["flow_id"] = [flow_id]
        return self.apply_cash_flows(pa.table(cols))

    # ------------------------------------------------------------------ market data, status
    def update_prices(self, prices: Any = None, fx: Any = None, /, *, timestamp: Any = None,
                      report: bool = True) -> BatchImpact:
        """Set new prices and/or fx rates; positions are revalued, no fill is booked.

        Parameters
        ----------
        prices : frame, mapping or None
            Columns ``instrument_id``, ``price`` (> 0), or a mapping
            ``{instrument_id: price}``; only the instruments given change.
        fx : frame, mapping or None
            Columns ``currency``, ``rate`` (> 0) or a mapping; the base
            currency's rate stays 1.
        timestamp : keyword-only
            Time of the update (default now).

        Returns
        -------
        BatchImpact
            Value changes of every portfolio holding a repriced instrument
            (or any position or cash in a currency whose rate moved).

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> state.update_prices({"X": 12.5}).portfolios.column("value_change").to_pylist()
        [5.0]
        """
        t0 = time.perf_counter_ns()
        u, core = self._u, self._core
        ts = vi.to_ns(timestamp)
        p_idx, p_val = self._market_input(prices, "prices", "instrument_id", "price", u.instrument_ids)
        f_idx, f_val = self._market_input(fx, "fx", "currency", "rate", u.currencies.cast(pa.string()))
        if len(f_idx) and np.any((f_idx == 0) & (f_val != 1.0)):
            raise ValidationError(f"gives the base currency {u.base_currency!r} a rate other than 1", argument="fx",
                                  expected="1.0")
        with self._lock:
            self._writable()
            self._maybe_daily(ts)
            n = core.n_slots
            hit = np.isin(core.s_int[1, :n], p_idx) | np.isin(core.inst_ccy[core.s_int[1, :n]], f_idx)
            hit &= core.s_status[:n] != ks.CLOSED
            aff_ports = core.s_int[0, :n][hit]
            if len(f_idx):
                cash_hit = np.flatnonzero((core.cash[:, f_idx, 0] != 0).any(axis=1)).astype(np.int32)
                aff_ports = np.concatenate([aff_ports, cash_hit])
            want = report or bool(self._subs)
            before = self._snapshot_values(aff_ports) if want else None
            core.prices[p_idx] = p_val
            core.fx[f_idx] = f_val
            core.version += 1
            self._scale = core.scale()
            self._clock = max(self._clock, ts)
            seq = 0
            if self._journal is not None:
                if len(p_idx):
                    seq = self._append("prices", rp.market_batch(np.full(len(p_idx), ts), p_idx, p_val))
                if len(f_idx):
                    seq = self._append("fx", rp.market_batch(np.full(len(f_idx), ts), f_idx, f_val))
                self._sequence = seq or self._sequence
            after = self._after(before, None) if want else None
        status = np.zeros(len(p_idx) + len(f_idx), np.int8)
        return self._finish("prices", seq, len(status), status, None, after, t0, report)

    def _market_input(self, obj, arg, key, val, dictionary):
        if obj is None:
            return np.zeros(0, np.int32), np.zeros(0)
        if isinstance(obj, Mapping) and not any(isinstance(v, (list, tuple, np.ndarray, pa.Array)) for v in obj.values()):
            obj = {key: list(obj.keys()), val: [float(x) for x in obj.values()]}
        table = vi.frame(obj, arg, (key, val))
        codes, ids = vi.codes(table, arg, key, dictionary)
        if len(codes) and codes.min() < 0:
            r = int(np.flatnonzero(codes < 0)[0])
            raise ValidationError("names an id that is not in the state's book", argument=arg, column=key, row=r,
                                  value=ids[r].as_py())
        from ..frames import float_column

        values = float_column(table, arg, val, positive=True)
        from ..book import _check_unique

        _check_unique(ids, arg, key)
        return codes.astype(np.int32), values

    def set_status(self, portfolio_id: Any, instrument_id: Any, status: str, /, *, timestamp: Any = None) -> None:
        """Set a position's status: ``"SUSPENDED"`` (fills rejected), ``"ACTIVE"`` (resume), ``"PENDING"``.

        ``"PENDING"`` marks a position expected but not yet filled (quantity
        0); its first fill makes it ACTIVE. ``"ACTIVE"`` resumes a suspended
        position (CLOSED if flat). CLOSED is set by fills only.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A"], "instrument_id": ["X"], "quantity": [2.0], "avg_price": [10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> state.set_status("A", "X", "SUSPENDED")
        >>> state.positions().column("status").to_pylist()
        ['SUSPENDED']
        """
        p = self._pidx.get(portfolio_id, -1)
        i = self._iidx.get(instrument_id, -1)
        if p < 0 or i < 0:
            raise ValidationError("names an unknown portfolio or instrument", argument="set_status",
                                  value=(portfolio_id, instrument_id))
        if status not in ("ACTIVE", "PENDING", "SUSPENDED"):
            raise ValidationError("is not a status that can be set", argument="status", value=status,
                                  expected="'ACTIVE', 'PENDING' or 'SUSPENDED'")
        code = ks.STATUS_NAMES.index(status)
        ts = vi.to_ns(timestamp)
        with self._lock:
            self._writable()
            core = self._core
            s = core.slot_of(p, i)
            if status == "PENDING" and s >= 0 and core.s_num[s, 0] != 0.0:
                raise ValidationError("cannot be PENDING: the position is held", argument="status", value=status,
                                      expected="a flat position")
            core.set_status(p, i, code)
            self._clock = max(self._clock, ts)
            seq = 0
            if self._journal is not None:
                seq = self._append("status", rp.status_batch(ts, p, i, code))
                self._sequence = seq
        if seq:
            self._journal_wait(seq)

    # ------------------------------------------------------------------ subscribers
    def subscribe(self, callback: Callable[[PortfolioStateUpdated], Any], /, *,
                  portfolios: Iterable | None = None) -> Subscription:
        """Call ``callback(event)`` with a :class:`PortfolioStateUpdated` after every acknowledged update.

        Parameters
        ----------
        callback : callable
            Called on the updating thread, after the update is durable. An
            exception it raises is logged (logger ``pmcore.state``) and counted
            in :attr:`subscriber_errors`; it never undoes or breaks the update.
        portfolios : iterable of ids, optional, keyword-only
            Only events of these portfolios (default: all).

        Returns
        -------
        Subscription
            ``.unsubscribe()`` stops the deliveries.

        Examples
        --------
        >>> import pyarrow as pa, pmcore as pm
        >>> from pmcore.state import PortfolioState
        >>> book = pm.Book.from_frames(
        ...     pa.table({"portfolio_id": ["A", "B"], "instrument_id": ["X", "X"], "quantity": [2.0, 1.0],
        ...               "avg_price": [10.0, 10.0]}),
        ...     pa.table({"instrument_id": ["X"], "currency": ["USD"]}))
        >>> state = PortfolioState(book, {"instrument_id": ["X"], "price": [10.0]})
        >>> seen = []
        >>> sub = state.subscribe(seen.append, portfolios=["B"])
        >>> _ = state.apply_fill(1, "A", "X", 1.0, 10.0)
        >>> _ = state.apply_fill(2, "B", "X", 1.0, 10.0)
        >>> [(e.portfolio_id, e.position_changes[0].quantity) for e in seen]
        [('B', 2.0)]
        >>> sub.unsubscribe()
        """
        if not callable(callback):
            raise ValidationError("must be callable", argument="callback", value=callback)
        return self._subs.add(callback, portfolios)

    @property
    def subscriber_errors(self) -> int:
        """How many times a subscriber raised (the updates went through)."""
        return self._subs.errors

    # ------------------------------------------------------------------ snapshots, history, as-of
