"""The arrays of a portfolio state and the kernel calls that change them (no validation here)."""

from __future__ import annotations

import numpy as np
from ..book import Book
from ..kernels import state as ks

__all__ = ["Core"]


DENSE_MAX = 1 << 22  # portfolios x instruments up to this use a dense slot index (8 bytes each)


def _pow2(n: int) -> int:
    return 1 << max(4, int(n - 1).bit_length())


class Core:
    """Slot arrays, position hash, fill-id set, cash, prices and fx of one state.

    ``Core`` trusts its input: the public layer (:class:`PortfolioState`) has
    validated codes and values before any call here.
    """

    def __init__(self, n_portfolios: int, n_instruments: int, n_currencies: int, inst_ccy: np.ndarray,
                 multiplier: np.ndarray, is_margin: np.ndarray, *, capacity: int = 16,
                 dense: bool | None = None) -> None:
        self.n_p, self.n_i, self.n_c = n_portfolios, n_instruments, n_currencies
        self.inst_ccy = np.ascontiguousarray(inst_ccy, np.int32)
        self.multiplier = np.ascontiguousarray(multiplier, np.float64)
        self.is_margin = np.ascontiguousarray(is_margin, np.bool_)
        self.cash = np.zeros((n_portfolios, n_currencies, 2))
        self.flows = np.zeros(n_portfolios)  # cumulative deposits - withdrawals, base currency at the flow's fx
        self.prices = np.full(n_instruments, np.nan)
        self.fx = np.full(n_currencies, np.nan)
        self.fx[0] = 1.0
        self.head = np.full(n_portfolios, -1, np.int32)
        self.meta = np.zeros(4, np.int64)
        self.str_ids: set[str] = set()
        self.dense = n_portfolios * n_instruments <= DENSE_MAX if dense is None else dense
        self._alloc_slots(capacity)
        self._alloc_hash(2 * capacity)
        self._alloc_ids(16)
        self.version = 0

    # ------------------------------------------------------------------ storage
    def _alloc_slots(self, cap: int) -> None:
        n = int(self.meta[ks.M_SLOTS])
        old = getattr(self, "s_int", None)
        s_int = np.empty((3, cap), np.int32)
        s_num = np.empty((cap, 3))
        s_status = np.empty(cap, np.int8)
        s_opened = np.empty(cap, np.int64)
        if old is not None:
            s_int[:, :n] = self.s_int[:, :n]
            s_num[:n] = self.s_num[:n]
            s_status[:n] = self.s_status[:n]
            s_opened[:n] = self.s_opened[:n]
        self.s_int, self.s_num, self.s_status, self.s_opened = s_int, s_num, s_status, s_opened

    def _alloc_hash(self, cap: int) -> None:
        if self.dense:  # a slot index per (portfolio, instrument): no probing, a portfolio's row together
            self.keys = np.empty(0, np.int64)
            self.vals = np.full(self.n_p * self.n_i, -1, np.int64)
            self.meta[ks.M_SHIFT] = 0
        else:
            cap = _pow2(cap)
            self.keys = np.full(cap, ks.EMPTY_KEY, np.int64)
            self.vals = np.zeros(cap, np.int64)
            self.meta[ks.M_SHIFT] = 64 - (cap.bit_length() - 1)
        ks.rebuild_positions(self.keys, self.vals, self.s_int, int(self.meta[ks.M_SLOTS]), self.n_i,
                             int(self.meta[ks.M_SHIFT]))

    def _alloc_ids(self, cap: int) -> None:
        cap = _pow2(cap)
        new = np.full(cap, ks.EMPTY_ID, np.int64)
        shift = 64 - (cap.bit_length() - 1)
        old = getattr(self, "ids", None)
        if old is not None:
            ks.rebuild_ids(new, old, shift)
        self.ids = new
        self.meta[ks.M_IDSHIFT] = shift

    def reserve(self, n_rows: int, n_ids: int = 0) -> None:
        """Make room for ``n_rows`` new positions and ``n_ids`` new fill ids."""
        n = int(self.meta[ks.M_SLOTS])
        need = n + min(n_rows, self.n_p * self.n_i - n)
        if need > self.s_int.shape[1]:
            self._alloc_slots(max(need, 2 * self.s_int.shape[1]))
        if not self.dense and 2 * need > self.keys.shape[0]:
            self._alloc_hash(max(2 * need, 2 * self.keys.shape[0]))
        need_ids = int(self.meta[ks.M_IDS]) + n_ids
        if 2 * need_ids > self.ids.shape[0]:
            self._alloc_ids(max(2 * need_ids, 2 * self.ids.shape[0]))

    @property
    def n_slots(self) -> int:
        return int(self.meta[ks.M_SLOTS])

    @property
    def n_ids(self) -> int:
        return int(self.meta[ks.M_IDS]) + len(self.str_ids)

    def state_tuples(self):
        return ((self.keys, self.vals, self.head, self.meta, self.inst_ccy, self.is_margin),
                (self.cash, self.prices, self.multiplier))

    def scale(self) -> np.ndarray:
        """float64[n_instruments]: multiplier * fx (base currency per unit of price)."""
        return self.multiplier * self.fx[self.inst_ccy]

    def nbytes(self) -> int:
        """Bytes held by the arrays (capacity included)."""
        arrays = (self.s_int, self.s_num, self.s_status, self.s_opened, self.keys, self.vals, self.ids,
                  self.head, self.cash, self.flows, self.prices, self.fx, self.inst_ccy, self.multiplier, self.is_margin)
        return int(sum(a.nbytes for a in arrays))

    # ------------------------------------------------------------------ updates
    def apply_fills(self, f: dict, status: np.ndarray, *, atomic: bool, check: bool = True,
                    ignore_dup: bool = False, want_touched: bool = False):
        """Apply encoded fills ``f``; returns ``(bad, touched)``.

        ``bad`` is the first rejected row of an atomic batch (then rolled
        back) or -1; ``touched`` is ``(slots, before)`` with ``want_touched``, else None.
        """
        n = len(status)
        use_ids = f["fid"] is not None
        fid = f["fid"] if use_ids else np.zeros(n, np.int64)
        self.reserve(n, n if use_ids else 0)
        undo_i, undo_f = self._undo(n)
        id_ins = np.zeros(n, np.bool_)
        si, sf = self.state_tuples()
        log, bad = ks.apply_fills(
            f["port"], f["inst"], f["qty"], f["price"], f["fee"], f["fee_ccy"], f["ttype"], fid, use_ids,
            ignore_dup, f["ts"], status, atomic, check, si, sf, self.s_int, self.s_num, self.s_status,
            self.s_opened, self.ids, undo_i, undo_f, id_ins,
        )
        if bad >= 0 and atomic:
            ks.undo_fills(log, fid, use_ids, id_ins, si, sf, self.s_int, self.s_num, self.s_status, self.s_opened,
                          self.ids, undo_i, undo_f)
            return int(bad), None
        self.version += 1
        if want_touched:
            return -1, ks.touched(log, undo_i, undo_f, self.n_slots)
        return -1, None

    def add_ids(self, fid: np.ndarray) -> None:
        """Insert int64 ids (known absent)."""
        self.reserve(0, len(fid))
        ks.ids_add(self.ids, fid, np.ones(len(fid), bool), self.meta)

    def seen(self, fid: np.ndarray) -> np.ndarray:
        return ks.ids_seen(self.ids, fid, int(self.meta[ks.M_IDSHIFT]))

    def _undo(self, n: int):
        """Undo-log buffers for ``n`` rows, kept between batches (no page faults on the hot path)."""
        buf = getattr(self, "_undo_buf", None)
        if buf is None or buf[0].shape[0] < n:
            buf = (np.empty((max(n, 1024), 5), np.int64), np.empty((max(n, 1024), 8)))
            self._undo_buf = buf
        return buf

    def apply_cash(self, port, ccy, amount, check_cash, status, ftype, *, atomic: bool) -> int:
        """Apply signed cash amounts; deposits and withdrawals (``ftype`` 0, 1) also count as external flows."""
        undo = np.empty(len(port))
        bad = ks.apply_cash(port, ccy, amount, check_cash, status, atomic, self.cash, undo)
        if bad >= 0 and atomic:
            ks.undo_cash(bad, port, ccy, status, self.cash, undo)
            return int(bad)
        external = (status == ks.OK) & (ftype <= 1) & (ftype >= 0)
        if external.any():
            np.add.at(self.flows, port[external], amount[external] * self.fx[ccy[external]])
        self.version += 1
        return -1

    def slot_of(self, p: int, i: int) -> int:
        return int(ks.slot_find(self.keys, self.vals, np.int64(p) * self.n_i + i, int(self.meta[ks.M_SHIFT])))

    def set_status(self, p: int, i: int, code: int) -> None:
        s = self.slot_of(p, i)
        if s < 0:
            self.reserve(1)
            self.add_slot(p, i, 0.0, 0.0, 0.0, ks.CLOSED, 0)
            s = self.n_slots - 1
        if code == ks.ACTIVE:  # resume: active if held, else closed
            code = ks.ACTIVE if self.s_num[s, 0] != 0.0 else ks.CLOSED
        self.s_status[s] = code
        self.version += 1

    def add_slot(self, p, i, qty, avg, real, status, opened) -> None:
        s = self.n_slots
        self.s_int[0, s], self.s_int[1, s], self.s_int[2, s] = p, i, self.head[p]
        self.head[p] = s
        self.s_num[s] = (qty, avg, real)
        self.s_status[s] = status
        self.s_opened[s] = opened
        ks.slot_insert(self.keys, self.vals, np.int64(p) * self.n_i + i, int(self.meta[ks.M_SHIFT]), s)
        self.meta[ks.M_SLOTS] = s + 1

    def load_slots(self, port, inst, qty, avg, real, status, opened) -> None:
        """Replace every position by the given slot arrays (slot order kept)."""
        n = len(port)
        self.meta[ks.M_SLOTS] = 0
        self.head[:] = -1
        self._alloc_slots(max(16, n))
        self._alloc_hash(max(32, 2 * n))
        port = np.asarray(port, np.int32)
        self.s_int[0, :n], self.s_int[1, :n] = port, inst
        self.s_num[:n, 0], self.s_num[:n, 1], self.s_num[:n, 2] = qty, avg, real
        self.s_status[:n], self.s_opened[:n] = status, opened
        nxt = np.full(n, -1, np.int32)
        last = np.full(self.n_p, -1, np.int32)
        for s in range(n):  # push in slot order, as live inserts do
            nxt[s] = last[port[s]]
            last[port[s]] = s
        self.s_int[2, :n] = nxt
        self.head[:] = last
        self.meta[ks.M_SLOTS] = n
        self._alloc_hash(max(32, 2 * n))

    def load_ids(self, int_ids: np.ndarray, str_ids) -> None:
        self.meta[ks.M_IDS] = 0
        self.ids = None
        self._alloc_ids(max(16, 2 * len(int_ids)))
        for v in np.asarray(int_ids, np.int64):
            ks.hash_insert(self.ids, v, int(self.meta[ks.M_IDSHIFT]), ks.EMPTY_ID)
        self.meta[ks.M_IDS] = len(int_ids)
        self.str_ids = set(str_ids)

    def int_ids(self) -> np.ndarray:
        return self.ids[self.ids != ks.EMPTY_ID]

    def copy(self) -> Core:
        new = Core.__new__(Core)
        new.__dict__.update(self.__dict__)
        for name in ("inst_ccy", "multiplier", "is_margin", "cash", "flows", "prices", "fx", "head", "meta",
                     "s_int", "s_num", "s_status", "s_opened", "keys", "vals", "ids"):
            setattr(new, name, getattr(self, name).copy())
        new.str_ids = set(self.str_ids)
        new._undo_buf = None
        return new

    # ------------------------------------------------------------------ views
    def slot_table(self) -> dict[str, np.ndarray]:
        """Copies of the used slot arrays, in slot order."""
        n = self.n_slots
        return {
            "portfolio": self.s_int[0, :n].copy(), "instrument": self.s_int[1, :n].copy(),
            "quantity": self.s_num[:n, 0].copy(), "avg_price": self.s_num[:n, 1].copy(),
            "realized_pnl": self.s_num[:n, 2].copy(), "status": self.s_status[:n].copy(),
            "opened_at": self.s_opened[:n].copy(),
        }

    def gather(self, portfolios: np.ndarray | None = None, *, skip_closed: bool = True):
        """``(portfolios, offsets, slot)``: positions grouped by portfolio, instruments ascending."""
        if portfolios is None:
            portfolios = np.arange(self.n_p, dtype=np.int64)
        portfolios = np.asarray(portfolios, np.int64)
        offsets, slot = ks.gather(portfolios, self.head, self.s_int, self.s_num, self.s_status, skip_closed)
        return portfolios, offsets, slot

    def book(self, universe, portfolios: np.ndarray | None = None, *, skip_closed: bool = True,
             kind: str = "arrow") -> tuple[Book, np.ndarray]:
        """A foundation :class:`~pmcore.Book` of the current positions and cash, and its slots.

        ``universe`` carries the id dictionaries (``portfolio_ids``, ``instrument_ids``,
        ``currencies``, ``instruments``, ``base_currency``).
        """
        ports, offsets, slot = self.gather(portfolios, skip_closed=skip_closed)
        n_p, n_c = len(ports), self.n_c
        inst = self.s_int[1, slot].astype(np.int32)
        qty = self.s_num[slot, 0]
        held = np.zeros(self.n_i, bool)
        held[inst[qty != 0.0]] = True
        cash = self.cash[ports].reshape(n_p * n_c, 2)
        needed = np.zeros(n_c, bool)
        needed[self.inst_ccy[held]] = True
        needed[np.flatnonzero((self.cash[ports, :, 0] != 0).any(axis=0))] = True
        book = Book(
            base_currency=universe.base_currency,
            portfolio_ids=universe.portfolio_ids if portfolios is None else universe.portfolio_ids.take(ports),
            instrument_ids=universe.instrument_ids,
            currencies=universe.currencies,
            offsets=offsets,
            instrument=inst,
            quantity=qty,
            avg_price=self.s_num[slot, 1],
            source_row=slot,
            instrument_currency=self.inst_ccy,
            multiplier=self.multiplier,
            is_margin=self.is_margin[ports],
            cash_offsets=np.arange(0, n_p * n_c + 1, n_c, dtype=np.int64),
            cash_currency=np.tile(np.arange(n_c, dtype=np.int32), n_p),
            cash_amounts=cash,
            instruments=universe.instruments,
            held=held,
            needed_currency=needed,
            kind=kind,
        )
        return book, slot

    def arrays_equal(self, other: Core) -> bool:
        """Same positions (by key), cash, prices, fx and fill ids (slot order aside)."""
        a, b = self.slot_table(), other.slot_table()
        ka = a["portfolio"].astype(np.int64) * self.n_i + a["instrument"]
        kb = b["portfolio"].astype(np.int64) * self.n_i + b["instrument"]
        oa, ob = np.argsort(ka), np.argsort(kb)
        if not np.array_equal(ka[oa], kb[ob]):
            return False
        for name in a:
            if not np.array_equal(a[name][oa], b[name][ob], equal_nan=a[name].dtype.kind == "f"):
                return False
        return (np.array_equal(self.cash, other.cash) and np.array_equal(self.flows, other.flows)
                and np.array_equal(self.prices, other.prices, equal_nan=True)
                and np.array_equal(self.fx, other.fx, equal_nan=True)
                and np.array_equal(np.sort(self.int_ids()), np.sort(other.int_ids()))
                and self.str_ids == other.str_ids)
