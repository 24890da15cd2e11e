"""Cost model: the square-root law worked by hand, per-instrument overrides, kernel vs formula, bad input."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow, to_arrow
from pmcore.kernels import rebalance_trades as kr
from pmcore.rebalance import CostModel, estimate_costs

TRADES = pa.table({"portfolio_id": ["A", "A", "B"], "instrument_id": ["XYZ", "ABC", "XYZ"],
                   "quantity": [40_000.0, -500.0, 0.0]})
PRICES = pa.table({"instrument_id": ["XYZ", "ABC"], "price": [25.0, 80.0]})


def test_square_root_law_by_hand():
    # 40,000 shares of a $25 stock (N = $1,000,000), ADV 1,000,000 shares, sigma 2 % a day, c = 0.8:
    # impact = 0.8 * 0.02 * sqrt(0.04) * 1,000,000 = 3,200; spread 3 bp = 300; commission 0.5 bp = 50
    m = CostModel(commission_bps=0.5, half_spread_bps=3.0, daily_volatility=0.02, adv=1_000_000,
                  impact_coefficient=0.8)
    commission, spread, impact = m.cost(40_000, 25.0)
    assert (commission, spread) == (pytest.approx(50.0), pytest.approx(300.0))
    assert impact == pytest.approx(3200.0)
    # quadrupling the size doubles the impact per dollar (the square root)
    assert m.cost(160_000, 25.0)[2] / 4 == pytest.approx(2 * impact)


def test_commission_per_share_and_minimum():
    m = CostModel(commission_per_share=0.005, min_commission=1.0)
    assert m.cost(100, 50.0)[0] == 1.0  # 0.50 -> minimum
    assert m.cost(-1000, 50.0)[0] == pytest.approx(5.0)
    assert m.cost(0, 50.0) == (0.0, 0.0, 0.0)  # no trade, no minimum


def test_estimate_costs_with_per_instrument_overrides(backend):
    inst = pa.table({"instrument_id": ["XYZ", "ABC"], "adv": [1_000_000.0, None],
                     "daily_volatility": [0.02, 0.015], "half_spread_bps": [3.0, 10.0]})
    m = CostModel(commission_bps=0.5, impact_coefficient=0.8)
    out = estimate_costs(from_arrow(TRADES, backend), prices=from_arrow(PRICES, backend),
                         instruments=from_arrow(inst, backend), model=m)
    assert frame_kind(out) == backend
    t = to_arrow(out, "out")
    assert t.column("portfolio_id").to_pylist() == ["A", "A", "B"]  # columns kept
    np.testing.assert_allclose(t.column("impact").to_numpy(), [3200.0, 0.0, 0.0])  # ABC: ADV unknown
    np.testing.assert_allclose(t.column("spread").to_numpy(), [300.0, 40.0, 0.0])
    np.testing.assert_allclose(t.column("cost").to_numpy(), [3550.0, 42.0, 0.0])


def test_price_column_instead_of_prices():
    trades = pa.table({"instrument_id": ["XYZ"], "quantity": [-10.0], "price": [25.0]})
    out = estimate_costs(trades, model=CostModel(half_spread_bps=100.0))
    assert out.column("cost").to_pylist() == [pytest.approx(2.5)]


def cost_formula(q, price, per_share, bps, minimum, half_spread_bps, sigma, adv, c):
    """The documented formula, written out again."""
    if q == 0:
        return 0.0
    n = abs(q) * price
    impact = c * sigma * math.sqrt(abs(q) / adv) * n if not (math.isnan(sigma) or math.isnan(adv)) else 0.0
    return max(minimum, per_share * abs(q) + bps * 1e-4 * n) + half_spread_bps * 1e-4 * n + impact


@given(q=st.floats(-1e6, 1e6), price=st.floats(0.01, 1e4), per_share=st.floats(0, 0.05),
       bps=st.floats(0, 50), minimum=st.floats(0, 20), hs=st.floats(0, 100),
       sigma=st.one_of(st.just(math.nan), st.floats(0, 0.1)), adv=st.one_of(st.just(math.nan), st.floats(1, 1e8)),
       c=st.floats(0, 2))
def test_kernel_matches_formula(q, price, per_share, bps, minimum, hs, sigma, adv, c):
    m = CostModel(commission_per_share=per_share, commission_bps=bps, min_commission=minimum,
                  half_spread_bps=hs, daily_volatility=sigma, adv=adv, impact_coefficient=c)
    params = m.params(pa.array(["x"]))
    for fn in (kr.trade_cost, kr.trade_cost.py_func):
        assert sum(fn(q, price, params[0])) == pytest.approx(
            cost_formula(q, price, per_share, bps, minimum, hs, sigma, adv, c), rel=1e-12, abs=1e-12)
    batch = kr.trade_costs(np.array([q]), np.array([price]), np.zeros(1, np.int64), params)
    assert batch.sum() == pytest.approx(cost_formula(q, price, per_share, bps, minimum, hs, sigma, adv, c),
                                        rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("kw, message", [
    ({"commission_bps": -1.0}, "commission_bps"),
    ({"min_commission": math.nan}, "min_commission"),
    ({"adv": 0.0}, "adv"),
    ({"daily_volatility": -0.1}, "daily_volatility"),
    ({"impact_coefficient": math.inf}, "impact_coefficient"),
])
def test_bad_model(kw, message):
    with pytest.raises(pm.ValidationError, match=message):
        CostModel(**kw)


def test_bad_input():
    with pytest.raises(pm.ValidationError, match="no price for instrument 'ABC'"):
        estimate_costs(TRADES, prices=PRICES.slice(0, 1))
    with pytest.raises(pm.ValidationError, match="price"):
        estimate_costs(TRADES, prices=PRICES.set_column(1, "price", pa.array([25.0, -1.0])))
    with pytest.raises(pm.ValidationError, match="instrument 'ABC'"):
        estimate_costs(TRADES, prices=PRICES, model=CostModel(),
                       instruments=pa.table({"instrument_id": ["XYZ", "ABC"], "adv": [1e6, -5.0]}))
    with pytest.raises(pm.ValidationError, match="CostModel"):
        estimate_costs(TRADES, prices=PRICES, model={"commission_bps": 1.0})
