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
from .batches import BatchMixin
from .core import Core
from .events import PortfolioStateUpdated, Subscribers, Subscription
from .flows import FlowsMixin
from .history import HistoryMixin
from .impact import ExposureChange, FillImpact, PositionChange, fast
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


class PortfolioState(BatchMixin, FlowsMixin, QueryMixin, HistoryMixin, BatchReportMixin):
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
        group commit: one sync covers whatever all threads wrote since the
        last one (writes that arrive during a sync share the next one); it is
        run by the first waiting writer when no sync is running, else by a
        background flusher, and each update returns once the sync that
        covers it is done.
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
            if fid == vi.INT64_MIN or fid > vi.INT64_MAX:
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
