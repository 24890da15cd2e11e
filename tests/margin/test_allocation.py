"""Allocation limits, correlated groups and the allocation report."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow
from pmcore.margin import AllocationLimits, allocation_report, check_allocation, correlated_groups

POS = pa.table({"portfolio_id": ["S1", "S1", "S2"], "instrument_id": ["BTC", "GLD", "BTC"],
                "quantity": [1.0, 100.0, 0.5], "avg_price": [60000.0, 200.0, 60000.0]})
INST = pa.table({"instrument_id": ["BTC", "ETH", "GLD"], "currency": ["USD"] * 3,
                 "asset_class": ["crypto", "crypto", "commodity"]})
PRICES = pa.table({"instrument_id": ["BTC", "ETH", "GLD"], "price": [60000.0, 3000.0, 200.0]})
CASH = pa.table({"portfolio_id": ["S1", "S2"], "currency": ["USD", "USD"], "amount": [520000.0, 570000.0]})
# equity S1 = 520,000 + 60,000 + 20,000 = 600,000; S2 = 600,000


def check(*trade, **kw):
    return check_allocation(POS, PRICES, None, *trade, instruments=INST, cash=CASH, **kw)


def test_within_limits_and_concentration():
    out = check("S1", "ETH", 10.0)
    assert out.allowed and out.breaches == () and out.concentration == pytest.approx(0.1)


def test_position_limits():
    big = check("S1", "ETH", 21.0)  # 63,000 = 10.5 %
    assert [b.limit for b in big.breaches] == ["max_position"]
    assert big.breaches[0].value == pytest.approx(0.105) and "ETH" in big.breaches[0].detail
    small = check("S1", "ETH", 0.1)  # 300 = 0.05 %
    assert [b.limit for b in small.breaches] == ["min_position"]
    assert check("S1", "GLD", -100.0).allowed  # closing is fine


def test_asset_class_group_and_strategy_rules():
    out = check("S1", "ETH", 30.0, limits=AllocationLimits(max_position=0.5, max_asset_class={"crypto": 0.2}))
    assert [b.limit for b in out.breaches] == ["max_asset_class"]
    assert out.breaches[0].value == pytest.approx(150000 / 600000)
    groups = pa.table({"instrument_id": ["BTC", "ETH"], "group": [0, 0]})
    out = check("S1", "ETH", 35.0, limits=AllocationLimits(max_position=0.5), groups=groups)
    assert [b.limit for b in out.breaches] == ["max_correlated_group"]
    loose = {"S1": AllocationLimits(max_position=0.5, max_correlated_group=0.5)}
    assert check("S1", "ETH", 35.0, groups=groups, strategy_limits=loose).allowed


def test_total_risk_and_positions_per_symbol():
    stops = pa.table({"portfolio_id": ["S1"], "instrument_id": ["BTC"], "stop": [30000.0]})
    # open risk 30,000 (5 %); the trade risks 20 x 3,000 x ... to a stop at 0.1 %: small
    assert check("S1", "ETH", 20.0, stop=2990.0, stops=stops).allowed
    out = check("S1", "ETH", 20.0, stop=1.0, stops=stops, limits=AllocationLimits(max_total_risk=0.1))
    assert [b.limit for b in out.breaches] == ["max_total_risk"]
    assert out.breaches[0].value == pytest.approx((30000 + 20 * 2999) / 600000)
    out = check("S1", "BTC", 0.1, limits=AllocationLimits(max_position=0.5, max_positions_per_symbol=1))
    assert [b.limit for b in out.breaches] == ["max_positions_per_symbol"]


@pytest.mark.parametrize("kw, message", [
    ({"limits": None, "trade": ("S9", "ETH", 1.0)}, "not in the book"),
    ({"limits": None, "trade": ("S1", "DOGE", 1.0)}, "not in the book"),
    ({"limits": None, "trade": ("S1", "ETH", float("nan"))}, "finite"),
])
def test_check_bad_input(kw, message):
    with pytest.raises(pm.ValidationError, match=message):
        check(*kw["trade"])


def test_limits_validated():
    with pytest.raises(pm.ValidationError, match="max_position"):
        AllocationLimits(min_position=0.2, max_position=0.1)
    with pytest.raises(pm.ValidationError, match="fraction"):
        AllocationLimits(max_total_risk=-1)
    with pytest.raises(pm.ValidationError, match="count"):
        AllocationLimits(max_positions_per_symbol=0)


def test_correlated_groups_by_hand(backend):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=300), rng.normal(size=300)
    table = pa.table({"date": np.arange(300), "A": x, "B": x + 0.2 * rng.normal(size=300),
                      "C": y, "D": -x, "E": y + 0.3 * rng.normal(size=300)})
    table = table.set_column(0, "date", pa.array([str(d) for d in range(300)]))
    out = correlated_groups(from_arrow(table, backend))
    assert frame_kind(out) == backend
    rows = pm.frames.to_arrow(out, "out").to_pylist()
    groups = {r["instrument_id"]: r["group"] for r in rows}
    assert groups["A"] == groups["B"] != groups["C"] == groups["E"]
    assert groups["D"] not in (groups["A"], groups["C"])  # negative correlation: no link
    # numpy oracle: corrcoef on the full sample
    corr = np.corrcoef(np.column_stack([table.column(c).to_numpy() for c in "ABCDE"]), rowvar=False)
    assert (corr[0, 1] > 0.7) and (corr[2, 4] > 0.7) and (corr[0, 2] < 0.7)


def test_correlated_groups_bad_input():
    with pytest.raises(pm.ValidationError, match="name every column"):
        correlated_groups(np.zeros((5, 2)))
    with pytest.raises(pm.ValidationError, match="correlation"):
        correlated_groups(np.zeros((5, 2)), names=["a", "b"], threshold=2)


def test_allocation_report_current_vs_target(backend):
    rep = allocation_report(from_arrow(POS, backend), PRICES, instruments=INST, cash=CASH,
                            targets={"crypto": 0.05, "commodity": 0.05}, limit=0.08)
    rows = rep.groups.to_pylist()
    s1 = {r["asset_class"]: r for r in rows if r["portfolio_id"] == "S1"}
    assert s1["crypto"]["allocation"] == pytest.approx(0.1) and s1["crypto"]["drift"] == pytest.approx(0.05)
    assert s1["crypto"]["breach"] and not s1["commodity"]["breach"]
    s2 = {r["asset_class"]: r for r in rows if r["portfolio_id"] == "S2"}
    assert s2["commodity"]["allocation"] == 0.0 and s2["commodity"]["drift"] == pytest.approx(-0.05)
    conc = rep.portfolios.to_pylist()
    assert conc[0]["concentration"] == pytest.approx(0.1) and conc[0]["largest"] == "BTC"
    assert conc[1]["concentration"] == pytest.approx(0.05)
    assert frame_kind(rep.to_pandas()) == "pandas" and "concentration" in repr(rep)
