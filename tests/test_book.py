"""Book preparation: encoding, layout, immutability and bad input."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import pmcore as pm
from pmcore.frames import from_arrow

from .helpers import random_book

POS = pa.table({
    "portfolio_id": ["B", "A", "A", "C"],
    "instrument_id": ["X", "Y", "X", "Z"],
    "quantity": [1.0, -2.0, 3.0, 0.0],
    "avg_price": [10.0, 20.0, 30.0, 5.0],
})
INST = pa.table({"instrument_id": ["X", "Y", "Z"], "currency": ["USD", "EUR", "USD"],
                 "sector": ["s1", "s2", None]})


def test_layout_groups_positions_by_sorted_portfolio():
    book = pm.Book.from_frames(POS, INST)
    assert book.portfolio_ids.to_pylist() == ["A", "B", "C"]
    assert book.offsets.tolist() == [0, 2, 3, 4]
    assert book.source_row.tolist() == [1, 2, 0, 3]
    assert book.instrument.tolist() == [1, 0, 0, 2]
    assert book.quantity.tolist() == [-2.0, 3.0, 1.0, 0.0]
    assert book.currencies.to_pylist() == ["USD", "EUR"]
    assert book.held.tolist() == [True, True, True]
    assert (book.n_portfolios, book.n_positions, book.n_instruments) == (3, 4, 3)


def test_book_is_immutable_and_inputs_untouched(backend):
    pos = from_arrow(POS, backend)
    before = POS.to_pylist()
    book = pm.Book.from_frames(pos, from_arrow(INST, backend))
    with pytest.raises(ValueError):
        book.quantity[0] = 5.0
    with pytest.raises(AttributeError):
        book.base_currency = "EUR"
    assert book.kind == backend
    assert POS.to_pylist() == before


def test_portfolios_from_cash_and_accounts_join_the_book():
    cash = pa.table({"portfolio_id": ["D"], "currency": ["CHF"], "amount": [5.0]})
    book = pm.Book.from_frames(POS, INST, cash=cash, accounts={"E": "margin"})
    assert book.portfolio_ids.to_pylist() == ["A", "B", "C", "D", "E"]
    assert book.is_margin.tolist() == [False, False, False, False, True]
    assert book.currencies.to_pylist() == ["USD", "CHF", "EUR"]


def test_empty_book():
    pos = pa.table({"portfolio_id": pa.array([], pa.string()), "instrument_id": pa.array([], pa.string()),
                    "quantity": pa.array([], pa.float64()), "avg_price": pa.array([], pa.float64())})
    book = pm.Book.from_frames(pos, INST)
    assert book.n_portfolios == 0
    assert pm.value(book, pa.table({"instrument_id": ["X"], "price": [1.0]})).num_rows == 0


def test_empty_pandas_frames_are_an_empty_book():
    pd = pytest.importorskip("pandas")
    pos = pd.DataFrame({"portfolio_id": [], "instrument_id": [], "quantity": [], "avg_price": []})
    assert pm.Book.from_frames(pos, INST).n_positions == 0


def _err(exc_info):
    return exc_info.value


@pytest.mark.parametrize(
    "change, argument, column, row, text",
    [
        (lambda p: p.rename_columns(["portfolio_id", "instrument", "quantity", "avg_price"]),
         "positions", None, None, "rename 'instrument' to 'instrument_id'"),
        (lambda p: p.set_column(2, "quantity", pa.array(["1", "2", "3", "4"])),
         "positions", "quantity", None, "numeric column"),
        (lambda p: p.set_column(2, "quantity", pa.array([1.0, np.nan, 1.0, 1.0])),
         "positions", "quantity", 1, "finite number"),
        (lambda p: p.set_column(2, "quantity", pa.array([1.0, 1.0, None, 1.0])),
         "positions", "quantity", 2, "is null"),
        (lambda p: p.set_column(3, "avg_price", pa.array([1.0, 1.0, 1.0, -1.0])),
         "positions", "avg_price", 3, ">= 0"),
        (lambda p: p.set_column(1, "instrument_id", pa.array(["X", "Y", "X", "Q"])),
         "positions", "instrument_id", 3, "'Q'"),
        (lambda p: p.set_column(1, "instrument_id", pa.array(["X", "Y", "Y", "Z"])),
         "positions", "instrument_id", 2, "repeats"),
        (lambda p: p.set_column(0, "portfolio_id", pa.array(["B", None, "A", "C"])),
         "positions", "portfolio_id", 1, "missing id"),
    ],
)
def test_bad_positions_name_argument_column_and_row(change, argument, column, row, text):
    bad = change(POS)
    with pytest.raises(pm.ValidationError) as info:
        pm.Book.from_frames(bad, INST)
    err = _err(info)
    assert (err.argument, err.column, err.row) == (argument, column, row)
    assert text in str(err)
    assert isinstance(err, ValueError)


def test_bad_instruments_cash_and_accounts():
    with pytest.raises(pm.ValidationError, match="duplicate id") as info:
        pm.Book.from_frames(POS, pa.concat_tables([INST, INST.slice(0, 1)]))
    assert info.value.row == 3
    bad_mult = INST.append_column("multiplier", pa.array([1.0, 0.0, 1.0]))
    with pytest.raises(pm.ValidationError, match="> 0") as info:
        pm.Book.from_frames(POS, bad_mult)
    assert (info.value.column, info.value.row) == ("multiplier", 1)
    cash = pa.table({"portfolio_id": ["A", "A"], "currency": ["USD", "USD"], "amount": [1.0, 2.0]})
    with pytest.raises(pm.ValidationError, match="repeats a \\(portfolio_id, currency\\)") as info:
        pm.Book.from_frames(POS, INST, cash=cash)
    assert info.value.row == 1
    with pytest.raises(pm.ValidationError, match="unknown account type") as info:
        pm.Book.from_frames(POS, INST, accounts={"A": "spot"})
    assert info.value.value == "spot"
    with pytest.raises(pm.ValidationError, match="different id type"):
        pm.Book.from_frames(POS, INST, accounts={1: "cash"})
    with pytest.raises(pm.ValidationError, match="base_currency"):
        pm.Book.from_frames(POS, INST, base_currency="")
    with pytest.raises(pm.ValidationError, match="expected a pyarrow Table"):
        pm.Book.from_frames([1, 2], INST)


def test_integer_ids_are_accepted():
    pos = pa.table({"portfolio_id": [7, 3], "instrument_id": [11, 12],
                    "quantity": [1, 2], "avg_price": [1, 1]})
    inst = pa.table({"instrument_id": [12, 11], "currency": ["USD", "USD"]})
    book = pm.Book.from_frames(pos, inst)
    assert book.portfolio_ids.to_pylist() == [3, 7]
    assert book.instrument.tolist() == [0, 1]


def test_polars_categorical_and_string_view_ids():
    pl = pytest.importorskip("polars")
    pos, inst, prices, fx, cash, accounts = random_book(3)
    ppos = pl.from_arrow(pos).with_columns(pl.col("instrument_id").cast(pl.Categorical),
                                           pl.col("portfolio_id").cast(pl.Categorical))
    a = pm.value(pm.Book.from_frames(ppos, pl.from_arrow(inst), cash=cash), prices, fx)
    b = pm.value(pm.Book.from_frames(pos, inst, cash=cash), prices, fx)
    np.testing.assert_array_equal(a["equity"].to_numpy(), b.column("equity").to_numpy())


def test_categorical_ids_hash_only_their_dictionary():
    pd = pytest.importorskip("pandas")
    pos, inst, prices, fx, cash, _ = random_book(4)
    df = pos.to_pandas()
    df["portfolio_id"] = pd.Categorical(df.portfolio_id, categories=sorted(set(df.portfolio_id)) + ["UNUSED"])
    df["instrument_id"] = df.instrument_id.astype("category")
    a = pm.Book.from_frames(df, inst)
    b = pm.Book.from_frames(pos, inst)
    assert a.portfolio_ids.to_pylist() == b.portfolio_ids.to_pylist()  # unused category dropped
    np.testing.assert_array_equal(a.instrument, b.instrument)
    np.testing.assert_array_equal(a.quantity, b.quantity)
    df.loc[3, "instrument_id"] = None
    with pytest.raises(pm.ValidationError, match="missing id") as info:
        pm.Book.from_frames(df, inst)
    assert info.value.row == 3


def test_two_thread_path_gives_the_one_thread_result(monkeypatch):
    """Large books split encoding, layout and the kernels over two threads; same numbers."""
    import pmcore.book as book_module

    pos, inst, prices, fx, cash, accounts = random_book(7, n_portfolios=40, n_instruments=30, n_positions=600)
    one = pm.Book.from_frames(pos, inst, cash=cash, accounts=accounts)
    v1 = pm.value(one, prices, fx)
    e1 = pm.exposures(one, prices, fx, by="sector")
    e1_inst = pm.exposures(one, prices, fx, by="instrument_id")  # every half fills its room exactly
    # one instrument in a sector of its own: portfolios without it leave unused room
    lopsided = inst.set_column(inst.schema.get_field_index("sector"), "sector",
                               pa.array(["Rare"] + ["Common"] * (inst.num_rows - 1)))
    e1_gaps = pm.exposures(pos, prices, fx, instruments=lopsided, cash=cash, by="sector")
    monkeypatch.setattr(book_module, "_PARALLEL_ROWS", 10)
    monkeypatch.setattr(book_module._threads, "thread_budget", lambda: 2)
    assert book_module._parallel(pos.num_rows)
    two = pm.Book.from_frames(pos, inst, cash=cash, accounts=accounts)
    for name in ("offsets", "instrument", "quantity", "avg_price", "source_row", "held"):
        np.testing.assert_array_equal(getattr(two, name), getattr(one, name))
    assert pm.value(two, prices, fx).equals(v1)
    assert pm.exposures(two, prices, fx, by="sector").equals(e1)  # halves with unused room
    assert pm.exposures(two, prices, fx, by="instrument_id").equals(e1_inst)
    assert pm.exposures(pos, prices, fx, instruments=lopsided, cash=cash, by="sector").equals(e1_gaps)
    # the duplicate found on two threads is still the first repeated input row
    dup = pa.concat_tables([pos, pos.slice(450, 1), pos.slice(20, 1)])
    with pytest.raises(pm.ValidationError, match="row 600"):
        pm.Book.from_frames(dup, inst)


def test_thread_cap_from_the_environment(monkeypatch):
    """PMCORE_NUM_THREADS caps the split; a value that is not a count is named."""
    import pmcore.book as book_module

    monkeypatch.setattr(book_module._threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setenv("PMCORE_NUM_THREADS", "1")
    assert book_module._threads.thread_budget() == 1
    assert not book_module._parallel(10 * book_module._PARALLEL_ROWS)
    monkeypatch.setenv("PMCORE_NUM_THREADS", "3")
    assert book_module._threads.thread_budget() == 3
    assert book_module._parallel(book_module._PARALLEL_ROWS)
    monkeypatch.delenv("PMCORE_NUM_THREADS")
    assert book_module._threads.thread_budget() == 4
    monkeypatch.setenv("PMCORE_NUM_THREADS", "two")
    with pytest.raises(pm.ValidationError, match="PMCORE_NUM_THREADS") as info:
        book_module._threads.thread_budget()
    assert info.value.value == "two"
