"""Contribution analysis and Karnosky-Singer currency attribution."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.attribution import brinson, contribution, currency_attribution
from pmcore.errors import ValidationError
from pmcore.frames import from_arrow, to_arrow

UK, JP, US = "UK equities", "Japanese equities", "US equities"
LINKS = ["carino", "menchero", "grap", "frongello"]


def bacon_8_1():
    """Bacon (2008), Practical Portfolio Performance Measurement and Attribution, Exhibit 8.1."""
    wp = [[0.4, 0.3, 0.3], [0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.3, 0.5, 0.2]]
    rp = [[0.2, -0.05, 0.06], [-0.05, 0.03, -0.05], [-0.2, 0.08, -0.15], [0.1, -0.07, 0.25]]
    return pa.table({
        "portfolio_id": ["A"] * 12, "period": [t for t in range(1, 5) for _ in range(3)],
        "market": [UK, JP, US] * 4,
        "portfolio_weight": np.ravel(wp), "portfolio_return": np.ravel(rp),
    })


# ------------------------------------------------------------- contribution


def test_contribution_bacon_portfolio_returns():
    # Bacon (2008) Exhibit 8.1: quarterly portfolio returns 8.3 %, -3.4 %, -5.0 %, 4.5 %
    # (contributions w x r summed), 3.86 % over the year.
    res = contribution(bacon_8_1(), by="market", linking="grap")
    np.testing.assert_allclose(to_arrow(res.totals, "x").column("portfolio_return").to_numpy(),
                               [0.083, -0.034, -0.05, 0.045], atol=1e-15)
    lt = to_arrow(res.linked_totals, "x").to_pylist()[0]
    assert lt["portfolio_return"] == pytest.approx(0.0386, abs=5e-5)
    assert lt["contribution"] == pytest.approx(lt["portfolio_return"], abs=1e-15)
    hold = to_arrow(res.holdings, "x")
    np.testing.assert_allclose(hold.column("contribution").to_numpy()[:3], [0.08, -0.015, 0.018], atol=1e-15)
    assert res.reconciles


@st.composite
def holdings(draw):
    n_t = draw(st.integers(1, 6))
    n_s = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.uniform(0, 1, (n_t, n_s))
    w[rng.random(w.shape) < 0.3] = 0.0
    w[:, 0] += 0.05
    w /= w.sum(axis=1, keepdims=True)
    r = rng.uniform(-0.2, 0.2, (n_t, n_s))
    return pa.table({
        "portfolio_id": np.full(n_t * n_s, 7), "period": np.repeat(np.arange(n_t), n_s),
        "sector": np.tile([f"S{i % 3}" for i in range(n_s)], n_t),
        "portfolio_weight": w.ravel(), "portfolio_return": r.ravel(),
    })


@settings(max_examples=25, deadline=None)
@given(holdings(), st.sampled_from(LINKS))
def test_linked_contributions_add_up_to_compounded_return(table, linking):
    res = contribution(table, by="sector", linking=linking)
    df = table.to_pandas()
    df["c"] = df.portfolio_weight * df.portfolio_return
    per_period = df.groupby("period").c.sum()
    compounded = np.prod(1 + per_period.to_numpy()) - 1
    lk = to_arrow(res.linked, "x").column("contribution").to_numpy()
    assert lk.sum() == pytest.approx(compounded, abs=1e-12)
    groups = to_arrow(res.groups, "x").to_pandas()
    ref = df.groupby(["period", "sector"]).c.sum()
    np.testing.assert_allclose(groups.set_index(["period", "sector"]).contribution.loc[ref.index], ref, atol=1e-15)
    assert res.reconciles


def test_contribution_errors_and_kinds(backend):
    data = bacon_8_1()
    bad = data.set_column(4, "portfolio_return", pa.array([0.2, None] + [0.1] * 10))
    with pytest.raises(ValidationError, match=r"portfolio 'A', period 1.*non-zero weight"):
        contribution(bad)
    with pytest.raises(ValidationError, match="needs a grouping column"):
        contribution(data, linking="carino")
    res = contribution(from_arrow(data, backend), by="market")
    assert type(res.groups).__module__.split(".")[0] == {"arrow": "pyarrow", "polars": "polars",
                                                         "pandas": "pandas"}[backend]
    assert res.to_arrow().num_rows == 12


# ------------------------------------------------------------- currency


def currency_reference(wp, rp, wb, rb, e, f, cwp, cwb):
    """Karnosky & Singer (1994) formulas for one period, one row per currency, in plain numpy."""
    xp, xb, y = rp - f, rb - f, e + f
    big_xb = wb @ xb
    big_yb = cwb @ y
    alloc = (wp - wb) * (xb - big_xb)
    sel = wb * (xp - xb)
    inter = (wp - wb) * (xp - xb)
    cur = (cwp - cwb) * (y - big_yb)
    active = (wp @ xp + cwp @ y) - (wb @ xb + cwb @ y)
    return alloc, sel, inter, cur, active


def test_karnosky_singer_hand_example_with_hedges():
    # Bacon's three markets (Exhibit 5.1) in local currency, base GBP; currency
    # returns 0, 10 %, 20 %; interest differentials 0, -1 %, 2 %; the portfolio
    # hedges half its yen back to sterling, the benchmark is unhedged.
    wp = np.array([0.4, 0.3, 0.3])
    wb = np.array([0.4, 0.2, 0.4])
    rp = np.array([0.20, -0.05, 0.06])
    rb = np.array([0.10, -0.04, 0.08])
    e = np.array([0.0, 0.10, 0.20])
    f = np.array([0.0, -0.01, 0.02])
    cwp = np.array([0.55, 0.15, 0.30])
    data = pa.table({
        "portfolio_id": ["P"] * 3, "period": [1] * 3, "currency": ["GBP", "JPY", "USD"],
        "portfolio_weight": wp, "benchmark_weight": wb, "portfolio_return": rp, "benchmark_return": rb,
        "currency_return": e, "forward_premium": f,
        "portfolio_currency_weight": cwp, "benchmark_currency_weight": wb,
    })
    res = currency_attribution(data)
    alloc, sel, inter, cur, active = currency_reference(wp, rp, wb, rb, e, f, cwp, wb)
    eff = to_arrow(res.effects, "x").to_pandas()
    np.testing.assert_allclose(eff.allocation, alloc, atol=1e-15)
    np.testing.assert_allclose(eff.selection, sel, atol=1e-15)
    np.testing.assert_allclose(eff.interaction, inter, atol=1e-15)
    np.testing.assert_allclose(eff.currency, cur, atol=1e-15)
    # hand check of the currency effect: y = e + f = 0, 9 %, 22 %; Y_b = 0.2*0.09 + 0.4*0.22 = 0.106
    np.testing.assert_allclose(cur, [0.15 * -0.106, -0.05 * (0.09 - 0.106), -0.10 * (0.22 - 0.106)], atol=1e-15)
    assert to_arrow(res.totals, "x").column("active_return")[0].as_py() == pytest.approx(active, abs=1e-15)
    assert res.reconciles


def test_unhedged_without_rates_market_effects_are_brinson_fachler_on_local_returns():
    data = pa.table({
        "portfolio_id": ["P"] * 3, "period": [1] * 3, "group": [UK, JP, US],
        "portfolio_weight": [0.4, 0.3, 0.3], "benchmark_weight": [0.4, 0.2, 0.4],
        "portfolio_return": [0.20, -0.05, 0.06], "benchmark_return": [0.10, -0.04, 0.08],
        "currency_return": [0.0, 0.1, 0.2],
    })
    ks = to_arrow(currency_attribution(data, by="group").effects, "x")
    bf = to_arrow(brinson(data).effects, "x")
    for name in ("allocation", "selection", "interaction"):
        np.testing.assert_allclose(ks.column(name).to_numpy(), bf.column(name).to_numpy(), atol=1e-15)


@st.composite
def currency_panels(draw):
    n_t = draw(st.integers(1, 4))
    n_c = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def weights():
        w = rng.uniform(0.05, 1, (n_t, n_c))
        return w / w.sum(axis=1, keepdims=True)

    cols = {
        "portfolio_id": np.zeros(n_t * n_c, np.int64), "period": np.repeat(np.arange(n_t), n_c),
        "currency": np.tile([f"C{i}" for i in range(n_c)], n_t),
        "portfolio_weight": weights().ravel(), "benchmark_weight": weights().ravel(),
        "portfolio_currency_weight": weights().ravel(), "benchmark_currency_weight": weights().ravel(),
        "portfolio_return": rng.uniform(-0.2, 0.2, n_t * n_c),
        "benchmark_return": rng.uniform(-0.2, 0.2, n_t * n_c),
        "currency_return": np.tile(np.r_[0.0, rng.uniform(-0.1, 0.1, n_c - 1)], n_t),
        "forward_premium": np.tile(np.r_[0.0, rng.uniform(-0.01, 0.01, n_c - 1)], n_t),
    }
    return pa.table(cols)


@settings(max_examples=25, deadline=None)
@given(currency_panels(), st.sampled_from(LINKS))
def test_currency_effects_reconcile_and_match_reference(table, linking):
    res = currency_attribution(table, linking=linking)
    assert res.reconciles
    eff = to_arrow(res.effects, "x").to_pandas()
    df = table.to_pandas()
    for t, cell in df.groupby("period"):
        a, s, i, c, active = currency_reference(*(cell[k].to_numpy() for k in (
            "portfolio_weight", "portfolio_return", "benchmark_weight", "benchmark_return",
            "currency_return", "forward_premium", "portfolio_currency_weight", "benchmark_currency_weight")))
        got = eff[eff.period == t]
        np.testing.assert_allclose(got.currency, c, atol=1e-14)
        np.testing.assert_allclose(got.allocation + got.selection + got.interaction, a + s + i, atol=1e-14)


def test_currency_bad_input_names_group():
    data = pa.table({
        "portfolio_id": ["P"] * 2, "period": [1] * 2, "currency": ["GBP", "USD"],
        "portfolio_weight": [0.5, 0.5], "benchmark_weight": [0.5, 0.5],
        "portfolio_return": [0.01, 0.02], "benchmark_return": [0.01, 0.02],
        "currency_return": [0.0, float("nan")],
    })
    with pytest.raises(ValidationError, match=r"period 1, currency 'USD'") as err:
        currency_attribution(data)
    assert err.value.column == "currency_return"
    hedged = data.set_column(data.schema.get_field_index("currency_return"), "currency_return",
                             pa.array([0.0, 0.01])).append_column("portfolio_currency_weight",
                                                                   pa.array([0.7, 0.2]))
    with pytest.raises(ValidationError, match="portfolio_currency_weight.*does not sum to 1"):
        currency_attribution(hedged)
