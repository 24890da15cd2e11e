"""pm.exposures: pandas group-by oracle, limits, breaches, grouping columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import from_arrow, frame_kind, to_arrow

from .helpers import random_book
from .test_valuation import ACCOUNTS, CASH, FX, INST, POS, PRICES


def test_worked_example_by_sector():
    out = pm.exposures(POS, PRICES, FX, instruments=INST, cash=CASH, accounts=ACCOUNTS,
                       by="sector", limits={"Tech": 0.5, "Index": 10.0})
    rows = {(r["portfolio_id"], r["sector"]): r for r in out.to_pylist()}
    tech = rows[("A", "Tech")]  # 1,600 + 715 of equity 3,535
    assert tech["long_exposure"] == pytest.approx(2315.0, abs=1e-9)
    assert tech["gross_pct"] == pytest.approx(100 * 2315.0 / 3535.0, rel=1e-14)
    assert tech["limit_pct"] == 50.0 and tech["breach"] is True
    assert tech["utilization"] == pytest.approx(2315.0 / 3535.0 / 0.5, rel=1e-14)
    crypto = rows[("B", "Crypto")]  # -28,971 of equity 30,979, no limit given
    assert crypto["short_exposure"] == pytest.approx(-28971.0, abs=1e-9)
    assert crypto["net_pct"] == pytest.approx(-100 * 28971.0 / 30979.0, rel=1e-14)
    assert crypto["limit_pct"] is None and crypto["breach"] is False
    index = rows[("B", "Index")]
    assert index["utilization"] == pytest.approx(500000.0 / 30979.0 / 10.0, rel=1e-14)
    assert list(rows) == [("A", "Tech"), ("B", "Crypto"), ("B", "Index")]


def test_limit_on_and_per_portfolio_limits():
    limits = pa.table({"portfolio_id": ["B"], "sector": ["Crypto"], "limit": [0.5]})
    out = pm.exposures(POS, PRICES, FX, instruments=INST, cash=CASH, accounts=ACCOUNTS,
                       by="sector", limits=limits, limit_on="short").to_pylist()
    crypto = next(r for r in out if r["sector"] == "Crypto")
    assert crypto["utilization"] == pytest.approx(28971.0 / 30979.0 / 0.5, rel=1e-14)
    assert crypto["breach"] is True
    assert all(r["limit_pct"] is None for r in out if r["sector"] != "Crypto")
    scalar = pm.exposures(POS, PRICES, FX, instruments=INST, by="currency", limits=0.1)
    assert scalar.column("limit_pct").to_pylist() == [10.0] * scalar.num_rows


@pytest.mark.parametrize("by", ["sector", "currency", "instrument_id"])
def test_against_pandas_groupby_oracle(by, backend):
    pd = pytest.importorskip("pandas")
    pos, inst, prices, fx, cash, accounts = random_book(21, n_portfolios=6, n_positions=50)
    out = pm.exposures(from_arrow(pos, backend), prices, fx, instruments=inst, cash=cash,
                       accounts=accounts, by=by)
    assert frame_kind(out) == backend
    out = to_arrow(out, "out").to_pandas()
    equity = pm.value(pos, prices, fx, instruments=inst, cash=cash, accounts=accounts).to_pandas()
    df = (pos.to_pandas().merge(inst.to_pandas(), on="instrument_id")
          .merge(prices.to_pandas(), on="instrument_id").merge(fx.to_pandas(), on="currency"))
    df["mv"] = df.quantity * df.price * df.multiplier * df.rate
    df["long"] = df.mv.where(df.quantity > 0, 0.0)
    df["short"] = df.mv.where(df.quantity < 0, 0.0)
    ref = df.groupby(["portfolio_id", by]).agg(long=("long", "sum"), short=("short", "sum")).reset_index()
    ref = ref.merge(equity[["portfolio_id", "equity"]], on="portfolio_id")
    ref = ref.sort_values(["portfolio_id", by]).reset_index(drop=True)
    assert out.portfolio_id.tolist() == ref.portfolio_id.tolist()
    assert out[by].tolist() == ref[by].tolist()
    np.testing.assert_allclose(out.long_exposure, ref.long, rtol=1e-12, atol=1e-7)
    np.testing.assert_allclose(out.short_exposure, ref.short, rtol=1e-12, atol=1e-7)
    np.testing.assert_allclose(out.gross_pct, 100 * (ref.long - ref.short) / ref.equity, rtol=1e-11)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1))
def test_group_exposures_add_up_to_portfolio_exposures(seed):
    pos, inst, prices, fx, cash, accounts = random_book(seed)
    book = pm.Book.from_frames(pos, inst, cash=cash, accounts=accounts)
    v = book.revalue(prices, fx)
    for by in ("sector", "currency", "instrument_id"):
        e = pm.exposures(book, prices, fx, by=by)
        pids = book.portfolio_ids.to_numpy(zero_copy_only=False)
        code = np.searchsorted(pids, e.column("portfolio_id").to_numpy(zero_copy_only=False))
        for col, total in (("long_exposure", v.long_value), ("short_exposure", v.short_value),
                           ("gross_exposure", v.gross_exposure), ("net_exposure", v.net_exposure)):
            s = np.bincount(code, e.column(col).to_numpy(), book.n_portfolios)
            np.testing.assert_allclose(s, total, rtol=1e-12, atol=1e-6)


def test_null_group_labels_form_their_own_group():
    inst = INST.set_column(3, "sector", pa.array(["Tech", None, "Crypto", "Index"]))
    out = pm.exposures(POS, PRICES, FX, instruments=inst, by="sector")
    assert out.column("sector").to_pylist() == ["Tech", None, "Crypto", "Index"]


def test_bad_arguments():
    with pytest.raises(pm.ValidationError, match="rename 'sector' to 'sectors'|missing column 'sectr'"):
        pm.exposures(POS, PRICES, FX, instruments=INST, by="sectr")
    with pytest.raises(pm.ValidationError, match="limit_on"):
        pm.exposures(POS, PRICES, FX, instruments=INST, limit_on="gross_pct")
    with pytest.raises(pm.ValidationError, match="fraction > 0"):
        pm.exposures(POS, PRICES, FX, instruments=INST, limits=-0.1)
    with pytest.raises(pm.ValidationError) as info:
        pm.exposures(POS, PRICES, FX, instruments=INST, limits={"Tech": float("nan")})
    assert (info.value.argument, info.value.column) == ("limits", "limit")
    with pytest.raises(pm.ValidationError, match="column name"):
        pm.exposures(POS, PRICES, FX, instruments=INST, by=["sector"])
