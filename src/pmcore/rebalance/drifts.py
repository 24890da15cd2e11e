"""Drift of many accounts from their target weights, in one kernel pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationError
from ..frames import encode, float_column, frame_kind, from_arrow, id_column, require_columns, to_arrow
from ..kernels.book import group_rows
from ..kernels.rebalance import (
    ARGMAX,
    AT_MAX,
    MAX_ABS,
    TOTAL_ABS,
    drift_accounts,
    drift_tracking_error,
    holdings_drift,
    holdings_outputs,
)

__all__ = ["Drift", "drift"]

_TARGET_SUM_TOL = 1e-6


@dataclass(frozen=True, repr=False, eq=False)
class Drift:
    """Current vs target weights of many accounts.

    Attributes
    ----------
    by : str
        The key column (``"instrument_id"`` or a grouping column).
    portfolio_ids, keys : pyarrow.Array
        Account ids (sorted) and key ids; code ``i`` is ``keys[i]``.
    offsets : numpy.ndarray
        int64[n_accounts + 1]: rows of account ``p`` are ``offsets[p]:offsets[p + 1]``.
    code, current_weight, target_weight, drift : numpy.ndarray
        Per row: key code, current and target weight, ``current - target``
        (``relative_drift``: ``drift / target``). From positions and prices
        the per-row weights and drift are computed on first access (the
        per-account figures are computed in the same pass as the merge).
    max_drift, total_drift, tracking_error : numpy.ndarray
        Per account: ``max |drift|``, ``sum |drift|`` and the ex-ante tracking
        error of the drift (NaN without a covariance).
    max_row : numpy.ndarray
        int64[n_accounts]: row of the largest ``|drift|`` (-1 if none).
    drift_at_max : numpy.ndarray
        float64[n_accounts]: the (signed) drift of that row (NaN if none).
    kind : str
        Kind of frame that conversions without an argument return.
    quantity, price, account : numpy.ndarray or None
        From positions and prices only: quantity per row (the cash row holds
        the cash amount), price per key (1 for cash), and per account value,
        cash, gross exposure and instrument target sum (float64[n_accounts, 4];
        ``value``, ``cash``).
    cash_code : int
        Key code of the cash row (-1 without positions and prices).
    """

    by: str
    portfolio_ids: pa.Array
    keys: pa.Array
    offsets: np.ndarray
    code: np.ndarray
    weight_rows: np.ndarray | None
    target_weight: np.ndarray
    drift_rows: np.ndarray | None
    max_drift: np.ndarray
    total_drift: np.ndarray
    tracking_error: np.ndarray
    max_row: np.ndarray
    drift_at_max: np.ndarray
    kind: str
    quantity: np.ndarray | None = None
    price: np.ndarray | None = None
    account: np.ndarray | None = None
    cash_code: int = -1

    @property
    def current_weight(self) -> np.ndarray:
        """float64[n_rows]: current weight (from positions: ``quantity * price * (1 / value)``)."""
        if self.weight_rows is not None:
            return self.weight_rows
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(self.value > 0, 1.0 / self.value, np.nan)
        return self.quantity * self.price[self.code] * inv[self.row_account()]

    @property
    def drift(self) -> np.ndarray:
        """float64[n_rows]: ``current_weight - target_weight`` (from positions: computed once, on demand)."""
        if self.drift_rows is None:
            object.__setattr__(self, "drift_rows", self.current_weight - self.target_weight)
        return self.drift_rows

    def drift_at(self, rows: np.ndarray, accounts: np.ndarray | None = None) -> np.ndarray:
        """float64[len(rows)]: the drift of some rows (of ``accounts``, if known) only, not of the others."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.drift_rows is not None:
            return self.drift_rows[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(self.value > 0, 1.0 / self.value, np.nan)
        acct = np.searchsorted(self.offsets, rows, side="right") - 1 if accounts is None else accounts
        return self.quantity[rows] * self.price[self.code[rows]] * inv[acct] - self.target_weight[rows]

    @property
    def relative_drift(self) -> np.ndarray:
        """float64[n_rows]: ``drift / target`` (0 when both are 0, +-inf when only the target is)."""
        d, t = self.drift, self.target_weight
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = d / t
        rel[d == 0] = 0.0
        return rel

    @property
    def value(self) -> np.ndarray | None:
        """float64[n_accounts]: value with cash (positions and prices only)."""
        return None if self.account is None else self.account[:, 0]

    @property
    def cash(self) -> np.ndarray | None:
        """float64[n_accounts]: cash (positions and prices only)."""
        return None if self.account is None else self.account[:, 1]

    @property
    def n_accounts(self) -> int:
        """Number of accounts."""
        return len(self.portfolio_ids)

    def row_account(self) -> np.ndarray:
        """int64[n_rows]: account code of each row."""
        return np.repeat(np.arange(self.n_accounts), np.diff(self.offsets))

    def _tables(self, level: str) -> pa.Table:
        if level == "asset":
            return pa.table({
                "portfolio_id": self.portfolio_ids.take(pa.array(self.row_account())),
                self.by: self.keys.take(pa.array(self.code)),
                **({"quantity": self.quantity} if self.quantity is not None else {}),
            "current_weight": self.current_weight,
                "target_weight": self.target_weight,
                "drift": self.drift,
                "relative_drift": self.relative_drift,
            })
        if level == "account":
            has = self.max_row >= 0
            idx = pa.array(np.where(has, self.code[np.maximum(self.max_row, 0)] if len(self.code) else 0, 0),
                           mask=~has)
            return pa.table({
                "portfolio_id": self.portfolio_ids,
                "max_drift": self.max_drift,
                f"max_drift_{self.by}": self.keys.take(idx) if len(self.keys) else pa.nulls(len(has), pa.string()),
                "total_drift": self.total_drift,
                "tracking_error": self.tracking_error,
            })
        raise ValidationError("is not a level", argument="level", value=level,
                              expected="'asset' or 'account'")

    def to_arrow(self, level: str = "asset") -> pa.Table:
        """One row per account and key (``level="asset"``) or per account (``"account"``)."""
        return self._tables(level)

    def to_polars(self, level: str = "asset"):
        """As :meth:`to_arrow`, as a polars DataFrame."""
        return from_arrow(self._tables(level), "polars")

    def to_pandas(self, level: str = "asset"):
        """As :meth:`to_arrow`, as a pandas DataFrame."""
        return from_arrow(self._tables(level), "pandas")

    def to_frame(self, level: str = "asset"):
        """As :meth:`to_arrow`, in the kind of frame the weights came in."""
        return from_arrow(self._tables(level), self.kind)

    def __repr__(self) -> str:
        worst = float(self.max_drift.max()) if self.n_accounts else float("nan")
        return (f"Drift({self.n_accounts} accounts, {len(self.code)} rows by {self.by}, "
                f"largest |drift| {worst:.4f})")


def row_label(table: pa.Table, row: int, by: str = "instrument_id") -> str:
    """``"account 'A', instrument_id 'SPY'"`` for row ``row`` of a frame (the parts it has)."""
    parts = []
    for col, name in (("portfolio_id", "account"), (by, by)):
        if col in table.column_names:
            parts.append(f"{name} {table.column(col)[row].as_py()!r}")
    return ", ".join(parts) or f"row {row}"


def _same_kind(id_type: pa.DataType, value: Any) -> bool:
    if pa.types.is_integer(id_type):
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    return isinstance(value, str)


def _prices(prices: Any, keys: pa.Array, w_code0: np.ndarray, w_dcode: np.ndarray, w_t: pa.Table,
            t_code: np.ndarray, t_t: pa.Table, cash_code: int) -> np.ndarray:
    """float64[n_keys]: price of every key (1 for cash); an instrument held or targeted needs one."""
    p_t = to_arrow(prices, "prices")
    require_columns(p_t, "prices", ["instrument_id", "price"])
    px = float_column(p_t, "prices", "price")
    pid = id_column(p_t, "prices", "instrument_id")
    bad = px <= 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError(f"holds a price <= 0 for instrument {pid[row].as_py()!r}", argument="prices",
                              column="price", row=row, value=float(px[row]), expected="a price > 0")
    code, _ = encode(pid, keys)
    out = np.full(len(keys), np.nan)
    out[code[code >= 0]] = px[code >= 0]
    out[cash_code] = 1.0
    for codes, table, arg in ((w_code0, w_t, "positions"), (t_code, t_t, "targets")):
        if arg == "positions":
            if not np.isnan(out[w_dcode[w_dcode >= 0]]).any():
                continue  # every id the rows may use has a price: no pass over the rows
            codes = w_dcode[codes]
        missing = np.isnan(out[codes]) if len(codes) else np.zeros(0, bool)
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise ValidationError(f"has no price for {row_label(table, row)}", argument="prices",
                                  column="price", expected=f"a price for every instrument in {arg}")
    return out


def sorted_codes(values: pa.Array, universe: pa.Array) -> np.ndarray:
    """int32 codes of ``values`` in the sorted ``universe`` (-1: absent); integer ids by binary search."""
    if pa.types.is_integer(values.type) and pa.types.is_integer(universe.type) and len(universe):
        u = universe.to_numpy(zero_copy_only=False)
        v = values.to_numpy(zero_copy_only=False)
        idx = np.minimum(np.searchsorted(u, v), len(u) - 1)
        return np.where(u[idx] == v, idx, -1).astype(np.int32)
    return encode(values.cast(universe.type) if len(values) else values, universe)[0]


def _within(values: np.ndarray, sorted_ids: np.ndarray) -> bool:
    """Whether every value is one of ``sorted_ids`` (sorted, distinct)."""
    if np.array_equal(values, sorted_ids):
        return True
    idx = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    return bool((sorted_ids[idx] == values).all())


def account_layout(pid: pa.Array, extra: list) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Sorted account ids (of ``pid`` and the ``extra`` id arrays), CSR offsets and row order of ``pid``.

    Rows already grouped by account (each id in one run, the usual layout)
    are laid out from the runs, without hashing a row; the order is empty
    when the runs are also sorted (rows in place).
    """
    n = len(pid)
    parts = [a for a in extra if a is not None and len(a)]
    if n:
        if pa.types.is_integer(pid.type):
            v = pid.to_numpy(zero_copy_only=False)
            change = np.flatnonzero(v[1:] != v[:-1]) + 1
        else:
            change = np.flatnonzero(np.asarray(pc.not_equal(pid.slice(1), pid.slice(0, n - 1)))) + 1
        starts = np.concatenate([[0], change]).astype(np.int64)
        if pa.types.is_integer(pid.type):
            run_v = v[starts]
            if (run_v[1:] > run_v[:-1]).all() and all(
                    pa.types.is_integer(a.type) and _within(a.to_numpy(zero_copy_only=False), run_v) for a in parts):
                # grouped and sorted, and every other id is a row's: the runs are the accounts
                return pa.array(run_v, pid.type), np.append(starts, n), np.zeros(0, np.int64)
        run_ids = pid.take(pa.array(starts))
        grouped = len(pc.unique(run_ids)) == len(run_ids)
        parts.insert(0, run_ids if grouped else pid)
    id_type = parts[0].type if parts else pa.string()
    if parts:
        universe = pc.unique(pa.chunked_array([a.cast(id_type) for a in parts], type=id_type))
        universe = universe.take(pc.sort_indices(universe))
    else:
        universe = pa.array([], id_type)
    n_p = len(universe)
    if not n:
        return universe, np.zeros(n_p + 1, np.int64), np.zeros(0, np.int64)
    if grouped:
        run_code = sorted_codes(run_ids, universe).astype(np.int64)
        lengths = np.diff(np.append(starts, n))
        counts = np.zeros(n_p, np.int64)
        counts[run_code] = lengths
        offsets = np.zeros(n_p + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        if len(run_code) < 2 or (np.diff(run_code) > 0).all():
            return universe, offsets, np.zeros(0, np.int64)
        # grouped, not sorted: the runs in account order
        perm = np.argsort(run_code)
        first = np.repeat(starts[perm] - offsets[run_code[perm]], lengths[perm])
        return universe, offsets, first + np.arange(n, dtype=np.int64)
    pcode = sorted_codes(pid.cast(id_type), universe)
    offsets, order, _ = group_rows(pcode.astype(np.int32), n_p, np.zeros(n, np.int32), 1)
    return universe, offsets, order


def _keys(w_t, w_arg, w_iid, t_t, t_key, by, instruments, cash_id):
    """Codes of the current rows, the keys (instruments, or groups; cash key last if new) and the key of each code.

    The key of row ``r`` is ``dcode[code[r]]``: with a dictionary column the
    codes are its indices, and no per-row array is built here.
    """
    inst_t = to_arrow(instruments, "instruments") if instruments is not None else None
    if isinstance(w_iid, pa.DictionaryArray):  # no pass over the rows' strings at all
        w_code0 = w_iid.indices.to_numpy(zero_copy_only=False)
        w_dict = w_iid.dictionary
    else:
        w_code0, w_dict = encode(w_iid)  # one hash pass over the rows

    def unknown(codes, what):
        bad = np.flatnonzero(codes[w_code0] < 0)  # a dictionary may list ids no row uses
        if not len(bad):
            return
        row = int(bad[0])
        raise ValidationError(f"names an instrument that is not in 'instruments' ({row_label(w_t, row)})",
                              argument=w_arg, column="instrument_id", row=row, value=w_iid[row].as_py(),
                              expected=what)

    if by != "instrument_id":
        if inst_t is None:
            raise ValidationError(f"is needed to group by {by!r}", argument="instruments",
                                  expected=f"a frame with columns 'instrument_id' and {by!r}")
        require_columns(inst_t, "instruments", ["instrument_id", by])
        i_ids = id_column(inst_t, "instruments", "instrument_id")
        gcode, keys = encode(id_column(inst_t, "instruments", by).cast(pa.string()))
        icode, _ = encode(w_dict, i_ids)
        if len(w_code0) and (icode < 0).any():
            unknown(icode, "an instrument_id listed in instruments")
        dcode = np.where(icode >= 0, gcode[np.maximum(icode, 0)] if len(gcode) else 0, -1).astype(np.int32)
        return w_code0, keys, dcode
    id_type = w_dict.type
    for arr, arg in ((t_key, "targets"),) + (((inst_t.column("instrument_id"), "instruments"),)
                                              if inst_t is not None else ()):
        if len(arr) and len(w_dict) and pa.types.is_integer(arr.type) != pa.types.is_integer(id_type):
            raise ValidationError(f"has a different id type than {w_arg}.instrument_id", argument=arg,
                                  column="instrument_id")
    if inst_t is not None:
        keys = id_column(inst_t, "instruments", "instrument_id")
    else:
        parts = [a for a in (w_dict, t_key) if len(a)]
        keys = (pc.unique(pa.chunked_array([a.cast(parts[0].type) for a in parts])) if parts
                else pa.array([], pa.string()))
    if cash_id is not None:
        if not _same_kind(keys.type if len(keys) else id_type, cash_id):
            raise ValidationError("has a different type than the instrument ids", argument="cash_id",
                                  value=cash_id, expected="a string for string ids, an integer for integer ids")
        cash_arr = pa.array([cash_id]).cast(keys.type if len(keys) else id_type)
        if not pc.is_in(cash_arr, value_set=keys)[0].as_py():
            keys = pa.concat_arrays([keys.cast(cash_arr.type), cash_arr]) if len(keys) else cash_arr
    dcode, _ = encode(w_dict, keys)
    if len(w_code0) and (dcode < 0).any():
        unknown(dcode, "an instrument_id listed in instruments")
    return w_code0, keys, dcode


def _cash(cash: Any, w_pid: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Distinct account ids of ``cash`` and their summed amounts."""
    if cash is None:
        return pa.array([], w_pid.type), np.zeros(0)
    c_t = to_arrow(cash, "cash")
    require_columns(c_t, "cash", ["portfolio_id", "amount"])
    c_amt = float_column(c_t, "cash", "amount")
    c_pid = id_column(c_t, "cash", "portfolio_id")
    if len(c_pid) and len(w_pid) and pa.types.is_integer(c_pid.type) != pa.types.is_integer(w_pid.type):
        raise ValidationError("has a different id type than positions.portfolio_id", argument="cash",
                              column="portfolio_id")
    if pa.types.is_integer(c_pid.type) and len(c_pid) > 1:
        v = c_pid.to_numpy(zero_copy_only=False)
        if (v[1:] > v[:-1]).all():  # one row per account already
            return c_pid, c_amt
    c_code, c_ids = encode(c_pid)
    return c_ids, np.bincount(c_code, weights=c_amt, minlength=len(c_ids)) if len(c_code) else np.zeros(0)


def _as_table(obj: Any, arg: str) -> pa.Table:
    if isinstance(obj, Drift):
        raise ValidationError("is a Drift result; pass the weights frame", argument=arg)
    return to_arrow(obj, arg)


def _covariance(covariance: Any, keys: pa.Array, by: str, skip: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Row of each key in the covariance (-1 for key ``skip``, the cash row) and the matrix."""
    cov_t = to_arrow(covariance, "covariance")
    names = cov_t.column_names
    if cov_t.num_rows != len(names):
        raise ValidationError("is not square", argument="covariance",
                              value=(cov_t.num_rows, len(names)),
                              expected="one row per column, in the order of the columns")
    cov = np.column_stack([float_column(cov_t, "covariance", n) for n in names]) if names else np.zeros((0, 0))
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-14):
        raise ValidationError("is not symmetric", argument="covariance")
    labels = pa.array(names, pa.string())
    idx, _ = encode(keys.cast(pa.string()), labels)
    missing = idx < 0
    if 0 <= skip < len(idx):
        missing[skip] = False
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValidationError("has no column for an asset", argument="covariance",
                              value=keys[row].as_py(), expected=f"a column per {by} in the weights and targets")
    return idx.astype(np.int64), np.ascontiguousarray(cov)


def drift(
    weights: Any,
    targets: Any,
    /,
    *,
    by: str = "instrument_id",
    instruments: Any = None,
    covariance: Any = None,
    target_tolerance: float = _TARGET_SUM_TOL,
    prices: Any = None,
    cash: Any = None,
    cash_id: Any = "CASH",
) -> Drift:
    """Drift of every account's current weights from its target weights.

    Parameters
    ----------
    weights : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        Columns ``portfolio_id``, ``instrument_id`` and ``weight`` (fraction
        of the account's value; cash may be a row of its own). One row per
        account and instrument.
    targets : frame
        Columns ``by`` and ``target_weight``, and ``portfolio_id`` for per-account
        targets; without ``portfolio_id`` one model serves every account.
        Each account's targets sum to 1.
    by : str, keyword-only
        Key of the comparison: ``"instrument_id"`` (default) or a grouping
        column of ``instruments`` (``"asset_class"``, ``"strategy"``, ...);
        the weights are summed per group.
    instruments : frame or None, keyword-only
        Columns ``instrument_id`` and ``by``; required when ``by`` is a group.
        With ``by="instrument_id"`` it lists the known instruments: targets
        naming any other raise.
    covariance : frame or None, keyword-only
        Square covariance of the keys' returns (one column per key id, rows
        in column order, per period); gives the tracking error.
    target_tolerance : float, keyword-only
        Allowed ``|sum(targets) - 1|`` per account (default 1e-6).

    Returns
    -------
    Drift
        Per row and per account; ``.to_frame("asset")`` / ``.to_frame("account")``.

    Raises
    ------
    ValidationError
        Missing columns, NaN/inf weights, duplicate keys, targets that do not
        sum to 1 or are negative, accounts without targets, unknown assets;
        the message names the account and asset.

    Notes
    -----
    For account :math:`p` and key :math:`i` with current weight :math:`w_i`
    and target :math:`t_i` (0 when absent on either side):

    .. math::

        d_i = w_i - t_i, \\qquad r_i = d_i / t_i, \\qquad
        \\text{max drift} = \\max_i |d_i|, \\qquad
        \\text{total drift} = \\sum_i |d_i|, \\qquad
        \\text{TE} = \\sqrt{d^\\top \\Sigma d}.

    :math:`r_i` is 0 when :math:`d_i = 0` and :math:`\\pm\\infty` when only
    :math:`t_i = 0`. Half the total drift is the one-way turnover of a full
    rebalance. The tracking error has the period of the covariance (multiply
    a daily one by :math:`\\sqrt{252}` to annualize).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.rebalance import drift
    >>> w = pa.table({"portfolio_id": ["A", "A", "B", "B"],
    ...               "instrument_id": ["SPY", "AGG", "SPY", "AGG"],
    ...               "weight": [0.66, 0.34, 0.58, 0.42]})
    >>> t = pa.table({"instrument_id": ["SPY", "AGG"], "target_weight": [0.6, 0.4]})
    >>> d = drift(w, t)
    >>> d.max_drift.round(4).tolist()
    [0.06, 0.02]
    >>> d.to_arrow("account").column("max_drift_instrument_id").to_pylist()
    ['SPY', 'SPY']
    """
    if not isinstance(by, str) or not by:
        raise ValidationError("must be a column name", argument="by", value=by)
    if not (isinstance(target_tolerance, (int, float)) and 0 <= target_tolerance < 1):
        raise ValidationError("is out of range", argument="target_tolerance", value=target_tolerance,
                              expected="a number in [0, 1)")
    kind = frame_kind(weights)
    holdings = prices is not None
    w_arg = "positions" if holdings else "weights"
    w_t = _as_table(weights, w_arg)
    if holdings and by != "instrument_id":
        raise ValidationError("must be 'instrument_id' with positions and prices", argument="by", value=by,
                              hint="compute weights first, e.g. with pmcore.positions, to drift by a group")
    require_columns(w_t, w_arg, ["portfolio_id", "instrument_id", "quantity" if holdings else "weight"])
    t_t = _as_table(targets, "targets")
    require_columns(t_t, "targets", [by, "target_weight"])
    w_val = float_column(w_t, w_arg, "quantity" if holdings else "weight")
    t_val = float_column(t_t, "targets", "target_weight")
    w_iid = id_column(w_t, w_arg, "instrument_id", keep_dictionary=True)
    w_id_type = w_iid.type.value_type if isinstance(w_iid, pa.DictionaryArray) else w_iid.type
    t_key = id_column(t_t, "targets", by)
    if holdings and pa.types.is_integer(w_id_type) and cash_id == "CASH":
        cash_id = -1
    neg = t_val < 0
    if holdings and neg.any() and _same_kind(t_key.type, cash_id):  # a levered target borrows cash
        neg &= ~np.asarray(pc.equal(t_key, pa.scalar(cash_id).cast(t_key.type)).fill_null(False))
    if neg.any():
        row = int(np.flatnonzero(neg)[0])
        raise ValidationError(f"holds a negative target for {row_label(t_t, row, by)}", argument="targets",
                              column="target_weight", row=row, value=float(t_val[row]),
                              expected="a weight >= 0 (long-only targets" +
                              ("; only the cash row may be negative)" if holdings else ")"))
    # key code of every row, and of every distinct id the rows may use (for checks without a pass)
    w_code0, keys, w_dcode = _keys(w_t, w_arg, w_iid, t_t, t_key, by, instruments, cash_id if holdings else None)
    t_code, _ = encode(t_key.cast(keys.type) if by != "instrument_id" else t_key, keys)
    if len(t_code) and t_code.min() < 0:
        row = int(np.flatnonzero(t_code < 0)[0])
        raise ValidationError(f"names an unknown {by} ({row_label(t_t, row, by)})", argument="targets",
                              column=by, row=row, value=t_key[row].as_py(), expected=f"a {by} of 'instruments'")
    n_keys = len(keys)

    w_pid = id_column(w_t, w_arg, "portfolio_id")
    extra = []
    cash_code = -1
    if holdings:
        cash_code = int(encode(pa.array([cash_id]).cast(keys.type), keys)[0][0])
        if (w_dcode == cash_code).any() and (w_dcode[w_code0] == cash_code).any():
            row = int(np.flatnonzero(w_dcode[w_code0] == cash_code)[0])
            raise ValidationError(f"holds the cash id {cash_id!r} as an instrument", argument="positions",
                                  column="instrument_id", row=row, expected="cash in 'cash'",
                                  hint="pass cash balances as cash=, or choose another cash_id")
        price_key = _prices(prices, keys, w_code0, w_dcode, w_t, t_code, t_t, cash_code)
        c_pid, c_amt = _cash(cash, w_pid)
        extra.append(c_pid)
    per_account = "portfolio_id" in t_t.column_names
    t_pid = id_column(t_t, "targets", "portfolio_id") if per_account else None
    if t_pid is not None:
        if len(t_pid) and len(w_pid) and pa.types.is_integer(w_pid.type) != pa.types.is_integer(t_pid.type):
            raise ValidationError("has a different id type than weights.portfolio_id", argument="targets",
                                  column="portfolio_id")
        extra.append(t_pid)
    universe, offsets, order = account_layout(w_pid, extra)
    n_p = len(universe)

    if per_account:
        t_pcode = sorted_codes(t_pid.cast(universe.type), universe)
        t_off, t_order, t_dup = group_rows(t_pcode.astype(np.int32), n_p, t_code.astype(np.int32), max(n_keys, 1))
        t_start, t_end = t_off[:-1].copy(), t_off[1:].copy()
        tc, tv = t_code[t_order].astype(np.int32), t_val[t_order]
    else:
        t_off, t_order, t_dup = group_rows(np.zeros(len(t_code), np.int32), 1, t_code.astype(np.int32), max(n_keys, 1))
        t_start, t_end = np.zeros(n_p, np.int64), np.full(n_p, len(t_code), np.int64)
        tc, tv = t_code.astype(np.int32), t_val
    if t_dup >= 0:
        raise ValidationError(f"repeats a {by} ({row_label(t_t, int(t_dup), by)})",
                              argument="targets", column=by, row=int(t_dup), value=t_key[int(t_dup)].as_py(),
                              expected="one target per account and key")
    csum = np.concatenate([[0.0], np.cumsum(tv)])
    sums = csum[t_end] - csum[t_start]
    bad = np.abs(sums - 1.0) > target_tolerance
    if bad.any():
        p = int(np.flatnonzero(bad)[0])
        if t_end[p] == t_start[p]:
            raise ValidationError("has no targets for an account", argument="targets",
                                  value=universe[p].as_py(), expected="target weights for every account")
        raise ValidationError(f"do not sum to 1 for account {universe[p].as_py()!r}", argument="targets",
                              column="target_weight", value=float(sums[p]),
                              expected=f"a sum of 1 within {target_tolerance:g}",
                              hint="add a cash row to absorb the remainder")

    if holdings:
        cash_p = np.zeros(n_p)
        if len(c_pid):
            if len(c_pid) == n_p and c_pid.type == universe.type and c_pid.equals(universe):
                cash_p[:] = c_amt  # one cash row per account, in account order
            else:
                cash_p[sorted_codes(c_pid.cast(universe.type), universe)] = c_amt
        cur = None  # weights on demand: Drift.current_weight
        out = holdings_outputs(offsets, t_start, t_end, store_drift=covariance is not None)
        n_out, dup = holdings_drift(offsets, order, w_code0.astype(np.int32, copy=False),
                                    w_dcode.astype(np.int32, copy=False), w_val, cash_p, cash_code, price_key,
                                    t_start, t_end, tc, tv, max(n_keys, 1), *out)
        out_off, acct, summary = out[0], out[5], out[6]
        out_code, qty, tgt = (a[:n_out] for a in out[1:4])
        dft = out[4][:n_out] if covariance is not None else None  # on demand: Drift.drift
    else:
        w_code = (w_dcode[w_code0] if len(w_code0) else np.zeros(0, np.int32)).astype(np.int32, copy=False)
        out_off, out_code, cur, tgt, dup, dft, summary = drift_accounts(
            offsets, order, w_code, w_val, t_start, t_end, tc, tv, max(n_keys, 1))
        qty = acct = price_key = None
    if dup >= 0 and by == "instrument_id":
        raise ValidationError("repeats a (portfolio_id, instrument_id) pair", argument=w_arg,
                              column="instrument_id", row=int(dup),
                              value=(w_pid[int(dup)].as_py(), w_iid[int(dup)].as_py()),
                              expected="one row per account and instrument", hint="aggregate the rows first")
    if covariance is not None:
        cov_index, cov = _covariance(covariance, keys, by, skip=cash_code)
        te = drift_tracking_error(out_off, out_code, dft, cov_index, cov)
    else:
        te = np.full(n_p, np.nan)
    return Drift(
        by=by, portfolio_ids=universe, keys=keys, offsets=out_off, code=out_code,
        weight_rows=cur, target_weight=tgt, drift_rows=dft,
        max_drift=summary[:, MAX_ABS].copy(), total_drift=summary[:, TOTAL_ABS].copy(),
        tracking_error=te, max_row=summary[:, ARGMAX].astype(np.int64), drift_at_max=summary[:, AT_MAX].copy(),
        kind=kind if kind != "other" else "arrow",
        quantity=qty, price=price_key, account=acct, cash_code=cash_code,
    )
