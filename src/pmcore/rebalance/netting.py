"""Multi-strategy netting: the trades of several sleeves of one account, netted before they go out.

Each (account, instrument) sends one order, the net of its sleeves' trades;
sleeves on opposite sides cross internally, and the market fill is allocated
back so that every sleeve ends where its own trade would have taken it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationError
from ..frames import encode, first_duplicate, float_column, frame_kind, id_column, require_columns
from ._tables import TablesMixin, as_kind, pair_codes, pair_name, read

__all__ = ["Netting", "net_sleeves"]


@dataclass(frozen=True, repr=False)
class Netting(TablesMixin):
    """Result of :func:`net_sleeves`.

    Attributes
    ----------
    orders : frame
        One row per (account, instrument): ``net_quantity`` (the order that
        goes out; ``side`` is ``"none"`` when the sleeves cancel),
        ``gross_quantity`` (sum of the sleeves' absolute trades),
        ``quantity_avoided`` (gross - net), ``n_sleeves``,
        ``filled_quantity``; with prices also ``price``, ``gross_notional``,
        ``net_notional``, ``notional_avoided``.
    allocations : frame
        One row per input trade: ``quantity`` (requested),
        ``crossed_quantity`` (matched against other sleeves),
        ``market_quantity`` (its share of the market fill),
        ``filled_quantity`` = crossed + market, ``unfilled_quantity``.
    positions : frame or None
        With ``positions`` given: per (account, sleeve, instrument)
        ``position_before``, ``requested``, ``filled``, ``position_after``
        and ``target`` (before + requested; equal to after when fully filled).
    gross_quantity, net_quantity : float
        Units over every order.
    gross_notional, net_notional, notional_avoided : float
        Notional traded without and with netting, and the difference (NaN
        without prices).
    savings_ratio : float
        ``notional_avoided / gross_notional`` (units when no prices; NaN when
        nothing trades).
    """

    orders: Any
    allocations: Any
    positions: Any
    gross_quantity: float
    net_quantity: float
    gross_notional: float
    net_notional: float
    notional_avoided: float
    savings_ratio: float
    _parts = ("orders", "allocations", "positions")


def net_sleeves(trades: Any, /, *, prices: Any = None, positions: Any = None, fills: Any = None,
                sleeve_column: str = "sleeve") -> Netting:
    """Net the trades of an account's sleeves per instrument and allocate the fill back.

    Parameters
    ----------
    trades : frame, n_trades rows
        ``portfolio_id``, the sleeve column (``sleeve``), ``instrument_id``,
        ``quantity`` (signed units: buy > 0, sell < 0).
    prices : frame, optional, keyword-only
        ``instrument_id``, ``price`` (> 0): notional savings.
    positions : frame, optional, keyword-only
        Sleeve positions before the trades: ``portfolio_id``, the sleeve
        column, ``instrument_id``, ``quantity``.
    fills : frame, optional, keyword-only
        Partial fills of the net orders: ``portfolio_id``, ``instrument_id``,
        ``filled_quantity`` (same sign as the net order, at most its size).
        Default: every order fully filled.
    sleeve_column : str, keyword-only
        Name of the sleeve column (e.g. ``"strategy"``).

    Returns
    -------
    Netting
        Frames in the kind of ``trades``.

    Raises
    ------
    ValidationError
        Missing columns, NaN quantities, a fill larger than or opposite to its
        order or for an order that does not exist, a repeated position, a
        traded instrument without a price (naming account and instrument).

    Notes
    -----
    For one account and instrument with sleeve trades :math:`q_s`, net
    :math:`N = \\sum_s q_s`, same-side total :math:`S = \\sum_{s: q_s N > 0} q_s`,
    opposite total :math:`O = N - S` and market fill :math:`F` (:math:`F = N` when fully filled):

    .. math::

        m_s = F\\,\\frac{q_s}{S},\\quad c_s = -O\\,\\frac{q_s}{S}
        \\quad (q_s N > 0); \\qquad m_s = 0,\\quad c_s = q_s \\quad \\text{otherwise}

    so :math:`\\sum_s c_s = 0` (the crosses match), :math:`\\sum_s m_s = F`,
    and when :math:`F = N` every sleeve fills :math:`c_s + m_s = q_s`: each
    sleeve's resulting position is exactly its own target. Traded quantity
    falls from :math:`\\sum_s |q_s|` to :math:`|N|`. A partial fill is shared
    pro rata among the sleeves on the side of the order; the crosses, which
    need no market, complete.

    Examples
    --------
    >>> trades = {"portfolio_id": ["A", "A", "A"], "sleeve": ["growth", "value", "income"],
    ...           "instrument_id": ["X", "X", "X"], "quantity": [300.0, -200.0, 100.0]}
    >>> n = net_sleeves(trades, prices={"instrument_id": ["X"], "price": [50.0]})
    >>> n.orders.column("net_quantity").to_pylist(), n.notional_avoided
    ([200.0], 20000.0)
    >>> [(r["sleeve"], r["crossed_quantity"], r["market_quantity"]) for r in n.allocations.to_pylist()]
    [('growth', 150.0, 150.0), ('value', -200.0, 0.0), ('income', 50.0, 50.0)]
    """
    if not isinstance(sleeve_column, str):
        raise ValidationError("is not a column name", argument="sleeve_column", value=sleeve_column)
    T = read(trades, "trades")
    kind = frame_kind(trades)
    require_columns(T, "trades", ("portfolio_id", sleeve_column, "instrument_id", "quantity"))
    q = float_column(T, "trades", "quantity")
    id_column(T, "trades", sleeve_column)  # a missing sleeve id is an error
    tables = [(T, "trades")]
    P = F = None
    if positions is not None:
        P = read(positions, "positions")
        require_columns(P, "positions", ("portfolio_id", sleeve_column, "instrument_id", "quantity"))
        tables.append((P, "positions"))
    if fills is not None:
        F = read(fills, "fills")
        require_columns(F, "fills", ("portfolio_id", "instrument_id", "filled_quantity"))
        tables.append((F, "fills"))
    codes, p_dict, i_dict, p_of, i_of = pair_codes(tables)
    g = codes[0]
    n_pairs = int(g.max()) + 1 if len(g) else 0
    net = np.bincount(g, weights=q, minlength=n_pairs)
    gross = np.bincount(g, weights=np.abs(q), minlength=n_pairs)
    same = q * net[g] > 0
    S = np.bincount(g, weights=np.where(same, q, 0.0), minlength=n_pairs)
    O = np.bincount(g, weights=np.where(same, 0.0, q), minlength=n_pairs)  # the other side, crossed
    filled = net.copy()
    if F is not None:
        filled = _fills(F, codes[-1], n_pairs, net, p_dict, i_dict, p_of, i_of)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(same, q / S[g], 0.0)
    crossed = np.where(same, -O[g] * share, q)
    market = filled[g] * share
    done = np.where(same & (filled[g] == net[g]), q, crossed + market)  # exact when fully filled
    alloc = pa.table({"trade": np.arange(len(q), dtype=np.int64), "portfolio_id": T.column("portfolio_id"),
                      sleeve_column: T.column(sleeve_column), "instrument_id": T.column("instrument_id"),
                      "quantity": q, "crossed_quantity": crossed, "market_quantity": market,
                      "filled_quantity": done, "unfilled_quantity": q - done})
    n_sleeves = np.bincount(g, weights=(q != 0).astype(float), minlength=n_pairs).astype(np.int64)
    pairs = np.arange(n_pairs)
    side = np.where(net > 0, "buy", np.where(net < 0, "sell", "none"))
    order_cols: dict[str, Any] = {
        "portfolio_id": p_dict.take(pa.array(p_of[pairs])), "instrument_id": i_dict.take(pa.array(i_of[pairs])),
        "side": pa.array(side.tolist(), pa.string()), "net_quantity": net, "gross_quantity": gross,
        "quantity_avoided": gross - np.abs(net), "n_sleeves": n_sleeves, "filled_quantity": filled}
    gross_n = net_n = avoided = float("nan")
    if prices is not None:
        px = _prices(prices, i_dict, i_of[pairs], gross, p_dict, p_of[pairs])
        order_cols.update({"price": px, "gross_notional": gross * px, "net_notional": np.abs(net) * px,
                           "notional_avoided": (gross - np.abs(net)) * px})
        gross_n = float((gross * px).sum())
        net_n = float((np.abs(net) * px).sum())
        avoided = gross_n - net_n
        base = gross_n
    else:
        base = float(gross.sum())
        avoided_units = base - float(np.abs(net).sum())
    ratio = (avoided if prices is not None else avoided_units) / base if base > 0 else float("nan")
    pos_table = None
    if P is not None:
        pos_table = _positions(T, P, sleeve_column, g, codes[1], q, done, p_dict, i_dict, p_of, i_of)
    return Netting(orders=as_kind(pa.table(order_cols), kind), allocations=as_kind(alloc, kind),
                   positions=None if pos_table is None else as_kind(pos_table, kind),
                   gross_quantity=float(gross.sum()), net_quantity=float(np.abs(net).sum()),
                   gross_notional=gross_n, net_notional=net_n, notional_avoided=avoided, savings_ratio=ratio)


def _fills(F, codes, n_pairs, net, p_dict, i_dict, p_of, i_of) -> np.ndarray:
    fq = float_column(F, "fills", "filled_quantity")
    dup = first_duplicate(codes)
    if dup is not None:
        c = codes[dup[1]]
        raise ValidationError(f"repeats {pair_name(p_dict, i_dict, p_of[c], i_of[c])}", argument="fills",
                              row=dup[1], expected="one fill per net order")
    out = net.copy()
    for r, c in enumerate(codes):
        n = net[c] if c < n_pairs else 0.0
        if fq[r] * n < 0 or abs(fq[r]) > abs(n) * (1 + 1e-12) or (n == 0 and fq[r] != 0):
            raise ValidationError(f"does not fit the net order of {pair_name(p_dict, i_dict, p_of[c], i_of[c])}",
                                  argument="fills", column="filled_quantity", row=r, value=float(fq[r]),
                                  expected=f"a quantity between 0 and {float(n)!r}")
        out[c] = fq[r]
    return out


def _prices(prices, i_dict, inst, gross, p_dict, acct) -> np.ndarray:
    X = read(prices, "prices")
    require_columns(X, "prices", ("instrument_id", "price"))
    ids = id_column(X, "prices", "instrument_id")
    px = float_column(X, "prices", "price", positive=True)
    code, _ = encode(i_dict, ids)
    at = code[inst]
    missing = np.flatnonzero((at < 0) & (gross > 0))
    if len(missing):
        k = int(missing[0])
        raise ValidationError(f"has no price for {pair_name(p_dict, i_dict, acct[k], inst[k])}",
                              argument="prices", column="instrument_id", expected="a price per traded instrument")
    return np.where(at >= 0, px[np.maximum(at, 0)], 0.0)


def _positions(T, P, sleeve_column, g_t, g_p, q, done, p_dict, i_dict, p_of, i_of) -> pa.Table:
    """Sleeve positions before and after: the exposure each sleeve ends with."""
    s_t = id_column(T, "trades", sleeve_column)
    s_p = id_column(P, "positions", sleeve_column)
    s_dict = pa.chunked_array([s_t, s_p.cast(s_t.type)] if len(s_t) else [s_p]).unique()
    st_code, _ = encode(s_t, s_dict)
    sp_code, _ = encode(s_p.cast(s_dict.type), s_dict)
    ns = max(len(s_dict), 1)
    key_t = g_t.astype(np.int64) * ns + st_code
    key_p = g_p.astype(np.int64) * ns + sp_code
    dup = first_duplicate(key_p)
    if dup is not None:
        c = g_p[dup[1]]
        raise ValidationError(f"repeats a sleeve of {pair_name(p_dict, i_dict, p_of[c], i_of[c])}",
                              argument="positions", row=dup[1], expected="one row per account, sleeve and instrument")
    keys, inv = np.unique(np.concatenate([key_p, key_t]), return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    k = len(keys)
    before = np.bincount(inv[:len(key_p)], weights=float_column(P, "positions", "quantity"), minlength=k)
    req = np.bincount(inv[len(key_p):], weights=q, minlength=k)
    fil = np.bincount(inv[len(key_p):], weights=done, minlength=k)
    pair = keys // ns
    return pa.table({"portfolio_id": p_dict.take(pa.array(p_of[pair])),
                     sleeve_column: s_dict.take(pa.array(keys % ns)),
                     "instrument_id": i_dict.take(pa.array(i_of[pair])),
                     "position_before": before, "requested": req, "filled": fil,
                     "position_after": before + fil, "target": before + req})
