"""Brinson attribution: BHB and Brinson-Fachler, multi-level, multi-period linking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .._threads import run_split, thread_budget
from ..errors import ValidationError
from ..frames import frame_kind, require_columns, to_arrow
from ..kernels.attribution import (
    N_FIELDS,
    brinson_cells,
    brinson_linked,
    check_cell_totals,
    first_invalid_row,
    link_cumulative,
    link_dense,
)
from ._layout import BLOCKS_PER_THREAD, Cells, dense_frame, group_codes, layout
from ._result import FramesMixin, as_kind, choose, float_values
from .linking import LINKING_METHODS

__all__ = ["brinson", "BrinsonResult"]

_METHODS = {
    "brinson_fachler": 1, "brinson-fachler": 1, "bf": 1,
    "brinson_hood_beebower": 0, "brinson-hood-beebower": 0, "bhb": 0,
}
WEIGHT_COLUMNS = ("portfolio_weight", "benchmark_weight")
RETURN_COLUMNS = ("portfolio_return", "benchmark_return")
#: rows from which the linked single-level path splits portfolios over threads
PARALLEL_ROWS = 2_000_000


def _thread_count(threads: int | None, n_rows: int, n_ports: int) -> int:
    if threads is None:
        if n_rows < PARALLEL_ROWS:
            return 1
        threads = thread_budget()
    return max(1, min(threads, n_ports))


def _portfolio_chunks(cells: Cells, k: int) -> list[tuple[int, int]]:
    """``k`` runs of whole portfolios with about the same number of rows each."""
    rows_before = cells.cell_start[cells.port_start]  # first row of each portfolio, and the end
    cuts = np.searchsorted(rows_before, np.linspace(0, rows_before[-1], k + 1)[1:-1])
    bounds = [0, *sorted(set(int(c) for c in cuts) - {0, cells.n_portfolios}), cells.n_portfolios]
    return list(zip(bounds[:-1], bounds[1:]))


_FIELDS = ("portfolio_weight", "benchmark_weight", "portfolio_return", "benchmark_return",
           "allocation", "selection", "interaction")


@dataclass(frozen=True, repr=False)
class BrinsonResult(FramesMixin):
    """Result of :func:`brinson`; frames are of the caller's kind.

    Attributes
    ----------
    effects : frame or None
        One row per portfolio x period x group (the finest level of ``by``):
        the key columns, ``portfolio_weight``, ``benchmark_weight``,
        ``portfolio_return``, ``benchmark_return`` (group returns),
        ``allocation``, ``selection``, ``interaction`` and ``total``.
    totals : frame or None
        One row per portfolio x period: ``portfolio_return``,
        ``benchmark_return``, ``active_return`` and the effects summed over
        groups (allocation summed over every level).
    linked : frame or None
        One row per portfolio x group: the effects linked over all periods
        (None without ``linking``).
    linked_totals : frame or None
        One row per portfolio: ``n_periods``, compounded ``portfolio_return``
        and ``benchmark_return``, ``active_return`` (their difference) and the
        linked effects summed over groups.
    cumulative : frame or None
        With ``linking`` and ``periods=True``: one row per portfolio x period
        x group (finest level), the effects linked from the portfolio's first
        period through that period (a running, look-ahead-free series whose
        last period equals ``linked``).
    levels : tuple of frames
        For multi-level ``by``: the per-period effects of each upper level,
        coarsest first (``effects`` is the finest level). Empty otherwise.
        ``effects``, ``totals`` and ``levels`` are None / empty when
        ``periods=False``.
    linked_levels : tuple of frames
        The linked effects of each upper level (empty without ``linking``).
    method : str
        ``"brinson_fachler"`` or ``"brinson_hood_beebower"``.
    linking : str or None
        The linking method.
    residual : float
        Largest absolute difference between summed effects and the active
        return, over every portfolio and period (and linked range).
    """

    effects: Any
    totals: Any
    linked: Any
    linked_totals: Any
    cumulative: Any
    levels: tuple
    linked_levels: tuple
    method: str
    linking: str | None
    residual: float

    _parts = ("effects", "totals", "linked", "linked_totals", "cumulative")


def _level_codes(table: pa.Table, arg: str, by: list[str]):
    """Group codes, parent map and label columns of each level of ``by``."""
    per_col = [group_codes(table, arg, name) for name in by]
    levels = []
    combined = None
    for depth, (codes, labels, is_dict) in enumerate(per_col):
        if depth == 0:
            level_codes = codes.astype(np.int32, copy=False)
            parent = np.zeros(len(labels), np.int64)
            cols = [(by[0], labels, np.arange(len(labels)), is_dict)]
        else:
            key = combined.astype(np.int64) * len(labels) + codes
            uniq, first, level_codes = np.unique(key, return_index=True, return_inverse=True)
            level_codes = level_codes.astype(np.int32)
            parent = uniq // len(labels)
            cols = [(name, lab, c[first], d) for name, (c, lab, d) in zip(by[: depth + 1], per_col)]
        levels.append((level_codes, parent.astype(np.int64), cols))
        combined = level_codes
    return levels


def _check_rows(cells: Cells, arg: str, wp, rp, wb, rb, group_name: str, codes, labels) -> None:
    row, code = first_invalid_row(wp, rp, wb, rb)
    if row < 0:
        return
    column = (WEIGHT_COLUMNS[0], WEIGHT_COLUMNS[1], RETURN_COLUMNS[0], RETURN_COLUMNS[1])[code - 1]
    value = (wp, wb, rp, rb)[code - 1][row]
    where = f"{cells.locate(row)}, {group_name} {labels[int(codes[row])].as_py()!r}"
    if code <= 2:
        msg = f"is missing or not finite for {where}"
        expected = "a finite weight (0 where the side holds nothing)"
        hint = "give 0 weight to groups that one side does not hold"
    else:
        msg = f"is missing or not finite for {where}, which has a non-zero weight"
        expected = "a finite return"
        hint = "a return may be missing only where its weight is 0"
    raise ValidationError(msg, argument=arg, column=column, row=cells.input_row(row),
                          value=None if np.isnan(value) else float(value), expected=expected, hint=hint)


def _running_any(present: np.ndarray, port_start: np.ndarray) -> np.ndarray:
    """Per portfolio, whether a group has appeared in any period so far."""
    seen = np.empty_like(present, dtype=bool)
    for a, z in zip(port_start[:-1], port_start[1:]):
        seen[a:z] = np.logical_or.accumulate(present[a:z], axis=0)
    return seen


def _check_totals(cells: Cells, arg: str, totals, tol, wp, rp, wb, rb, group_name, levels) -> float:
    """Validate after the kernel (a non-finite input shows up in the cell totals).

    Returns the largest per-cell reconciliation gap.
    """
    c, code, residual = check_cell_totals(totals, tol)
    if code == 1:
        codes, _, cols = levels[0]
        _check_rows(cells, arg, wp, rp, wb, rb, group_name, codes, cols[0][1])
        raise ValidationError(f"gives a non-finite return for {cells.locate(int(cells.cell_start[c]))}",
                              argument=arg, expected="weights and returns small enough not to overflow")
    if code:
        _check_weight_sums(cells, arg, totals, tol)
    return residual


def _check_weight_sums(cells: Cells, arg: str, totals: np.ndarray, tol: float) -> None:
    for side, col in ((2, WEIGHT_COLUMNS[0]), (3, WEIGHT_COLUMNS[1])):
        bad = np.flatnonzero(np.abs(totals[:, side] - 1.0) > tol)
        if len(bad):
            c = int(bad[0])
            row = int(cells.cell_start[c])
            raise ValidationError(
                f"does not sum to 1 for {cells.locate(row)}",
                argument=arg, column=col, value=float(totals[c, side]),
                expected=f"weights summing to 1 within {tol:g} in every portfolio and period",
                hint="add a cash group row (for example group 'Cash' with its weight and "
                     "return) so that each side sums to 1",
            )


def brinson(
    data: Any,
    /,
    *,
    by: str | Sequence[str] = "group",
    method: str = "brinson_fachler",
    linking: str | None = None,
    periods: bool | None = None,
    portfolio: str = "portfolio_id",
    period: str = "period",
    weight_tolerance: float = 1e-9,
    threads: int | None = None,
) -> BrinsonResult:
    r"""Brinson attribution of active return to allocation, selection and interaction.

    Parameters
    ----------
    data : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        Long frame, one row per portfolio x period x holding (a security, or
        directly a group), with columns ``portfolio`` (id), ``period`` (int,
        string, date or timestamp, in time order), the ``by`` column(s) and
        ``portfolio_weight``, ``portfolio_return``, ``benchmark_weight``,
        ``benchmark_return`` (fractions; a row held by one side only has 0
        weight on the other, and its return there may be null). Rows of a
        group are aggregated: group weight :math:`W = \sum w`, group return
        :math:`r = \sum w r / W`.
    by : str or sequence of str, keyword-only
        Grouping column. Groups come out in category order for dictionary
        (categorical) columns, sorted otherwise; portfolios in order of first
        appearance, periods ascending. A sequence (``["sector", "industry"]``) gives a
        top-down multi-level attribution, coarsest level first.
    method : {"brinson_fachler", "brinson_hood_beebower"}, keyword-only
        Also ``"bf"`` and ``"bhb"``.
    linking : {None, "carino", "menchero", "grap", "frongello"}, keyword-only
        Link the per-period effects of each portfolio over all its periods.
    periods : bool, keyword-only
        Keep the per-period ``effects`` and ``totals``. Default: True without
        ``linking``, False with it (the linked frames are then the result,
        computed in one pass without materialising one row per portfolio x
        period x group).
    portfolio, period : str, keyword-only
        Names of the portfolio id and period columns.
    weight_tolerance : float, keyword-only
        Each side's weights must sum to 1 within this in every portfolio and
        period (model cash as a group of its own).
    threads : int, keyword-only
        Threads for the scan of the rows into cells and for the linked
        single-level path (``linking`` without ``periods``), each taking
        whole portfolios. Default: the cores this process may run on
        (capped by the ``PMCORE_NUM_THREADS`` environment variable), from
        2,000,000 rows; 1 below that.

    Returns
    -------
    BrinsonResult
        ``effects`` (portfolio x period x group), ``totals`` (portfolio x
        period), and with ``linking`` also ``linked`` (portfolio x group) and
        ``linked_totals`` (portfolio), all of the caller's frame kind.

    Raises
    ------
    ValidationError
        Missing columns; a missing or non-finite weight; a missing or
        non-finite return where its weight is not 0; weights not summing to
        1; each naming the portfolio, period and group.

    Notes
    -----
    For a group :math:`i` with portfolio and benchmark weights
    :math:`w_i, b_i`, returns :math:`r_i, s_i`, benchmark total
    :math:`B = \sum_i b_i s_i` and portfolio total :math:`R = \sum_i w_i r_i`:

    .. math::

        A_i = (w_i - b_i)(s_i - B) \quad\text{(Brinson-Fachler)},\qquad
        A_i = (w_i - b_i)\, s_i \quad\text{(Brinson-Hood-Beebower)}

        S_i = b_i (r_i - s_i), \qquad I_i = (w_i - b_i)(r_i - s_i),

    and :math:`\sum_i (A_i + S_i + I_i) = R - B`. Where the portfolio holds
    nothing of a group its return is taken equal to the benchmark's (no
    selection); where the benchmark holds nothing of it, the benchmark
    group return is taken as :math:`B` (Brinson-Fachler) or 0 (BHB).

    Multi-level (top-down): at a lower level the allocation of child
    :math:`j` of parent :math:`g` is measured against the parent's
    benchmark return, :math:`A_j = (w_j - b_j)(s_j - s_g)`, so the children's
    effects sum to the parent's :math:`S_g + I_g`; the active return is the
    allocation summed over every level plus the finest level's selection
    and interaction.

    Linking: each effect of period :math:`t` is scaled by a coefficient
    :math:`k_t` so that linked effects sum to the arithmetic compounded
    active return :math:`\prod(1+R_t) - \prod(1+B_t)`; see
    :mod:`pmcore.attribution.linking` for the four methods. All are
    arithmetic; for the geometric variant (excess return
    :math:`(1+R)/(1+B) - 1`) see :func:`geometric_brinson`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from pmcore.attribution import brinson
    >>> data = pa.table({
    ...     "portfolio_id": ["P"] * 3, "period": [1, 1, 1],
    ...     "group": ["Equity", "Bonds", "Cash"],
    ...     "portfolio_weight": [0.6, 0.3, 0.1], "portfolio_return": [0.05, 0.02, 0.01],
    ...     "benchmark_weight": [0.5, 0.4, 0.1], "benchmark_return": [0.04, 0.025, 0.01],
    ... })
    >>> res = brinson(data)
    >>> eff = res.effects.to_pydict()
    >>> [(g, round(a, 6) + 0.0) for g, a in zip(eff["group"], eff["allocation"])]
    [('Bonds', 0.0006), ('Cash', 0.0), ('Equity', 0.0009)]
    >>> round(res.totals["active_return"][0].as_py(), 6), res.reconciles
    (0.006, True)
    """
    kind = frame_kind(data)
    arg = "data"
    table = to_arrow(data, arg)
    by_list = [by] if isinstance(by, str) else list(by)
    if not by_list:
        raise ValidationError("is empty", argument="by", expected="at least one grouping column")
    mode = choose(method, "method", _METHODS)
    link_code = choose(linking, "linking", LINKING_METHODS)
    if not (weight_tolerance >= 0):
        raise ValidationError("is out of range", argument="weight_tolerance", value=weight_tolerance,
                              expected="a number >= 0")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValidationError("must be a count >= 1", argument="threads", value=threads,
                              expected="None (all available cores for large inputs) or an integer >= 1")
    require_columns(table, arg, [portfolio, period, *by_list, *WEIGHT_COLUMNS, *RETURN_COLUMNS])
    # the scan for cells splits rows, not portfolios: capped by the row count only
    cells = layout(table, arg, portfolio, period, _thread_count(threads, table.num_rows, max(table.num_rows, 1)))
    t = cells.table
    wp = float_values(t, arg, WEIGHT_COLUMNS[0])
    wb = float_values(t, arg, WEIGHT_COLUMNS[1])
    rp = float_values(t, arg, RETURN_COLUMNS[0])
    rb = float_values(t, arg, RETURN_COLUMNS[1])
    levels = _level_codes(t, arg, by_list)

    n_cells = cells.n_cells
    n_ports = cells.n_portfolios
    if periods is None:
        periods = link_code is None
    totals = np.empty((n_cells, 7))
    fast = link_code is not None and not periods and len(levels) == 1
    outs = []
    if fast:
        codes, parent, cols = levels[0]
        n_groups = len(parent)
        linked = np.empty((n_ports, 3, n_groups))
        compounded = np.empty((n_ports, 2))
        ever = np.empty((n_ports, n_groups), np.uint8)
        n_threads = _thread_count(threads, t.num_rows, n_ports)
        chunks = _portfolio_chunks(cells, BLOCKS_PER_THREAD * n_threads) if n_threads > 1 else [(0, n_ports)]

        def run(chunk):  # the kernel releases the GIL; chunks write disjoint slices
            a, z = chunk
            brinson_linked(cells.cell_start, cells.port_start[a:z + 1], codes, wp, rp, wb, rb, mode, link_code,
                           totals, linked[a:z], compounded[a:z], ever[a:z])

        run_split(run, chunks, n_threads)  # each thread takes the next chunk when free
        residual = _check_totals(cells, arg, totals, weight_tolerance, wp, rp, wb, rb, by_list[0], levels)
        linked_parts = [(linked, ever)]
    else:
        for depth, (codes, parent, _cols) in enumerate(levels):
            n_groups = len(parent)
            out = np.empty((n_cells, N_FIELDS, n_groups))
            if depth == 0:
                brinson_cells(cells.cell_start, codes, wp, rp, wb, rb, mode, np.zeros((1, 1)), parent,
                              out, totals)
                residual = _check_totals(cells, arg, totals, weight_tolerance, wp, rp, wb, rb, by_list[0],
                                         levels)
            else:
                ref = np.ascontiguousarray(outs[-1][0][:, 3, :])
                brinson_cells(cells.cell_start, codes, wp, rp, wb, rb, 2, ref, parent, out,
                              np.empty((n_cells, 7)))
            present = (out[:, 0, :] != 0) | (out[:, 1, :] != 0) | (out[:, 4:, :] != 0).any(axis=1)
            outs.append((out, present))
        linked_parts = []
        if link_code is not None:
            for out, present in outs:
                linked = np.empty((n_ports, 3, out.shape[2]))
                compounded = np.empty((n_ports, 2))
                link_dense(cells.port_start, totals[:, 0].copy(), totals[:, 1].copy(), link_code, out,
                           linked, compounded)
                ever = (np.logical_or.reduceat(present.astype(bool), cells.port_start[:-1], axis=0) if n_cells
                        else np.zeros((0, out.shape[2]), bool))
                linked_parts.append((linked, ever))

    # per-period totals; with several levels, allocation adds up over levels
    totals_table = None
    level_tables: list[pa.Table] = []
    if periods:
        active = totals[:, 0] - totals[:, 1]
        if len(outs) > 1:
            alloc_total = sum(o[:, 4, :].sum(axis=1) for o, _ in outs)
            sel_total = outs[-1][0][:, 5, :].sum(axis=1)
            inter_total = outs[-1][0][:, 6, :].sum(axis=1)
        else:
            alloc_total, sel_total, inter_total = totals[:, 4], totals[:, 5], totals[:, 6]
        eff_total = alloc_total + sel_total + inter_total
        residual = float(np.max(np.abs(eff_total - active), initial=0.0))
        pkeys, tkeys = cells.cell_keys(np.arange(n_cells))
        totals_table = pa.table({
            portfolio: pkeys, period: tkeys,
            "portfolio_return": totals[:, 0], "benchmark_return": totals[:, 1],
            "active_return": active, "allocation": alloc_total, "selection": sel_total,
            "interaction": inter_total, "total": eff_total,
        })
        for (codes, parent, cols), (out, present) in zip(levels, outs):
            values = {name: out[:, f, :] for f, name in enumerate(_FIELDS)}
            values["total"] = out[:, 4, :] + out[:, 5, :] + out[:, 6, :]
            level_tables.append(dense_frame([(portfolio, pkeys), (period, tkeys)], cols, values, present))

    linked_tables: list[pa.Table] = []
    linked_totals = cumulative = None
    if link_code is not None and periods:
        out, present = outs[-1]
        cum = np.empty((n_cells, 3, out.shape[2]))
        link_cumulative(cells.port_start, totals[:, 0].copy(), totals[:, 1].copy(), link_code, out, 4, cum)
        seen = _running_any(present, cells.port_start)
        values = {"allocation": cum[:, 0, :], "selection": cum[:, 1, :], "interaction": cum[:, 2, :],
                  "total": cum[:, 0, :] + cum[:, 1, :] + cum[:, 2, :]}
        cumulative = dense_frame([(portfolio, pkeys), (period, tkeys)], levels[-1][2], values, seen)
    if link_code is not None:
        port_keys = cells.portfolio_keys()
        for (codes, parent, cols), (linked, ever) in zip(levels, linked_parts):
            values = {"allocation": linked[:, 0, :], "selection": linked[:, 1, :],
                      "interaction": linked[:, 2, :],
                      "total": linked[:, 0, :] + linked[:, 1, :] + linked[:, 2, :]}
            linked_tables.append(dense_frame([(portfolio, port_keys)], cols, values, ever))
        l_alloc = sum(lk[:, 0, :].sum(axis=1) for lk, _ in linked_parts)
        l_sel = linked_parts[-1][0][:, 1, :].sum(axis=1)
        l_inter = linked_parts[-1][0][:, 2, :].sum(axis=1)
        l_total = l_alloc + l_sel + l_inter
        l_active = compounded[:, 0] - compounded[:, 1]
        residual = max(residual, float(np.max(np.abs(l_total - l_active), initial=0.0)))
        linked_totals = pa.table({
            portfolio: port_keys, "n_periods": np.diff(cells.port_start),
            "portfolio_return": compounded[:, 0], "benchmark_return": compounded[:, 1],
            "active_return": l_active, "allocation": l_alloc, "selection": l_sel,
            "interaction": l_inter, "total": l_total,
        })

    def out_kind(tab):
        return as_kind(tab, kind)

    return BrinsonResult(
        effects=out_kind(level_tables[-1]) if level_tables else None,
        totals=out_kind(totals_table),
        linked=out_kind(linked_tables[-1]) if linked_tables else None,
        linked_totals=out_kind(linked_totals),
        cumulative=out_kind(cumulative),
        levels=tuple(out_kind(x) for x in level_tables[:-1]),
        linked_levels=tuple(out_kind(x) for x in linked_tables[:-1]),
        method="brinson_fachler" if mode == 1 else "brinson_hood_beebower",
        linking=None if link_code is None else linking.lower(),
        residual=residual,
    )
