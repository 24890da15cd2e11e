"""Geometric Brinson-Fachler: Bacon's fund by hand, a pandas reference, compounding properties, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings

from pmcore.attribution import GeometricResult, geometric_brinson
from pmcore.errors import ValidationError
from pmcore.frames import from_arrow, to_arrow

from .test_brinson import JP, UK, US, _bacon_single, _by_group, bacon_8_1, panels


def test_bacon_single_period_by_hand():
    # Bacon (2008), Practical Portfolio Performance Measurement and Attribution, ch. 5,
    # geometric excess return attribution of the Exhibit 5.1 fund. Inputs: portfolio
    # 40/30/30 % at 20/-5/6 %, benchmark 40/20/40 % at 10/-4/8 %. By hand from the
    # geometric formulas (also those of Eagle's "Geometric Attribution Method" docs):
    # semi-notional b_S = 0.4 x 10 % + 0.3 x -4 % + 0.3 x 8 % = 5.2 %;
    # allocation (w - W)((1 + b_i)/(1 + b) - 1): 0, 0.1 x (0.96/1.064 - 1), -0.1 x (1.08/1.064 - 1)
    #   = 0, -0.977 %, -0.150 %, total 1.052/1.064 - 1 = -1.128 %;
    # selection w (r_i - b_i)/(1 + b_S): 0.04/1.052, -0.003/1.052, -0.006/1.052
    #   = 3.802 %, -0.285 %, -0.570 %, total 1.083/1.052 - 1 = 2.947 %;
    # geometric excess 1.083/1.064 - 1 = 1.786 % = (1 - 1.128 %)(1 + 2.947 %) - 1.
    res = geometric_brinson(pa.table(_bacon_single()))
    np.testing.assert_allclose(_by_group(res.effects, "allocation"),
                               [0.0, 0.1 * (0.96 / 1.064 - 1), -0.1 * (1.08 / 1.064 - 1)], atol=1e-15)
    np.testing.assert_allclose(_by_group(res.effects, "selection"),
                               [0.04 / 1.052, -0.003 / 1.052, -0.006 / 1.052], atol=1e-15)
    t = to_arrow(res.totals, "x").to_pylist()[0]
    assert t["semi_notional_return"] == pytest.approx(0.052, abs=1e-15)
    assert t["allocation"] == pytest.approx(1.052 / 1.064 - 1, abs=1e-15)
    assert t["selection"] == pytest.approx(1.083 / 1.052 - 1, abs=1e-15)
    assert t["excess_return"] == pytest.approx(1.083 / 1.064 - 1, abs=1e-15)
    assert round(t["allocation"], 4) == -0.0113 and round(t["selection"], 4) == 0.0295
    assert res.reconciles and res.residual <= 1e-15


def reference(table: pa.Table):
    """Plain pandas: group sums, the geometric formulas per cell, compounding per portfolio."""
    df = table.to_pandas()
    df["cp"] = df.portfolio_weight * df.portfolio_return
    df["cb"] = df.benchmark_weight * df.benchmark_return
    g = df.groupby(["portfolio_id", "period", "group"])[["portfolio_weight", "cp", "benchmark_weight",
                                                         "cb"]].sum()
    cell = g.groupby(level=[0, 1])[["cp", "cb"]].transform("sum")
    big_r, big_b = cell["cp"], cell["cb"]
    s = (g.cb / g.benchmark_weight).where(g.benchmark_weight != 0, big_b)
    r = (g.cp / g.portfolio_weight).where(g.portfolio_weight != 0, s)
    semi = (g.portfolio_weight * s).groupby(level=[0, 1]).transform("sum")
    eff = pd.DataFrame({"allocation": (g.portfolio_weight - g.benchmark_weight) * ((1 + s) / (1 + big_b) - 1),
                        "selection": g.portfolio_weight * (r - s) / (1 + semi)})
    tot = eff.groupby(level=[0, 1]).sum()
    growth = np.log1p(tot).groupby(level=0).sum()
    return eff, tot, np.expm1(growth)


@settings(max_examples=25, deadline=None)
@given(panels())
def test_matches_pandas_reference_and_compounds(table):
    res = geometric_brinson(table)
    eff, tot, compounded = reference(table)
    ours = to_arrow(res.effects, "x").to_pandas().set_index(["portfolio_id", "period", "group"])
    joined = eff.join(ours[["allocation", "selection"]].add_suffix("_pm"), how="left").fillna(0.0)
    np.testing.assert_allclose(joined.allocation_pm, joined.allocation, atol=1e-13)
    np.testing.assert_allclose(joined.selection_pm, joined.selection, atol=1e-13)
    lt = to_arrow(res.linked_totals, "x").to_pandas().set_index("portfolio_id").loc[compounded.index]
    np.testing.assert_allclose(lt.allocation, compounded.allocation, atol=1e-12)
    np.testing.assert_allclose(lt.selection, compounded.selection, atol=1e-12)
    # the category totals compound to the geometric excess return over the whole range
    np.testing.assert_allclose((1 + lt.allocation) * (1 + lt.selection),
                               (1 + lt.portfolio_return) / (1 + lt.benchmark_return), rtol=0, atol=1e-12)
    # the groups' linked effects add up to the compounded totals
    linked = to_arrow(res.linked, "x").to_pandas().groupby("portfolio_id")[["allocation", "selection"]].sum()
    np.testing.assert_allclose(linked.loc[lt.index].to_numpy(), lt[["allocation", "selection"]].to_numpy(),
                               atol=1e-12)
    assert res.reconciles


@settings(max_examples=15, deadline=None)
@given(panels(max_periods=1))
def test_one_period_linked_equals_single_period(table):
    res = geometric_brinson(table)
    eff = to_arrow(res.effects, "x").to_pandas().set_index(["portfolio_id", "group"])
    linked = to_arrow(res.linked, "x").to_pandas().set_index(["portfolio_id", "group"]).loc[eff.index]
    np.testing.assert_allclose(linked[["allocation", "selection"]].to_numpy(),
                               eff[["allocation", "selection"]].to_numpy(), rtol=1e-14, atol=1e-16)


def test_identical_portfolio_and_benchmark_give_zero_effects():
    data = bacon_8_1()
    data["portfolio_weight"], data["portfolio_return"] = data["benchmark_weight"], data["benchmark_return"]
    res = geometric_brinson(pa.table(data))
    for part in ("effects", "linked"):
        t = to_arrow(getattr(res, part), "x")
        assert np.abs(t.column("allocation").to_numpy()).max() < 1e-16
        assert np.abs(t.column("selection").to_numpy()).max() < 1e-16


def test_four_quarters_compound(backend):
    # Bacon (2008) Exhibit 8.1 data (four quarters, three markets): portfolio 3.86 %,
    # benchmark -9.41 % over the year; geometric excess 1.0386 / 0.9059 - 1.
    frame = from_arrow(pa.table(bacon_8_1()), backend)
    res = geometric_brinson(frame)
    assert isinstance(res, GeometricResult) and "reconciles=True" in repr(res)
    for part in ("effects", "totals", "linked", "linked_totals"):
        assert type(getattr(res, part)).__module__.split(".")[0] == {
            "arrow": "pyarrow", "polars": "polars", "pandas": "pandas"}[backend]
    lt = res.to_arrow("linked_totals").to_pylist()[0]
    assert lt["n_periods"] == 4
    assert lt["portfolio_return"] == pytest.approx(0.0386, abs=5e-5)
    assert lt["benchmark_return"] == pytest.approx(-0.0941, abs=5e-5)
    assert lt["excess_return"] == pytest.approx((1 + lt["portfolio_return"]) / (1 + lt["benchmark_return"]) - 1,
                                                abs=1e-15)
    assert set(res.to_pandas("linked")["group"]) == {UK, JP, US}


def test_empty_input_gives_empty_result():
    res = geometric_brinson(pa.table(bacon_8_1()).slice(0, 0))
    assert to_arrow(res.effects, "x").num_rows == 0 and to_arrow(res.linked_totals, "x").num_rows == 0
    assert res.reconciles


def test_bad_input_names_portfolio_period_and_group():
    data = _bacon_single(period=7, portfolio="Growth")
    data["benchmark_weight"] = [0.4, 0.2, 0.3]
    with pytest.raises(ValidationError, match=r"portfolio 'Growth', period 7") as err:
        geometric_brinson(pa.table(data))
    assert err.value.column == "benchmark_weight"
    data = _bacon_single()
    data["portfolio_return"] = [0.2, float("nan"), 0.06]
    with pytest.raises(ValidationError, match=r"group 'Japanese equities'"):
        geometric_brinson(pa.table(data))
    with pytest.raises(ValidationError, match="one column name"):
        geometric_brinson(pa.table(_bacon_single()), by=["group"])
    with pytest.raises(ValidationError, match="missing column"):
        geometric_brinson(pa.table(_bacon_single()), by="sector")
