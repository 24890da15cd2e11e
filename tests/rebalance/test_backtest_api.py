"""Backtest inputs: frame kinds (wide, long, matrix), flows, policies, progress bar, bad input."""

from __future__ import annotations

import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.errors import ValidationError
from pmcore.frames import from_arrow
from pmcore.rebalance import BacktestResult, PolicyContext, backtest, optimizer_policy

ASSETS = ["SPY", "AGG", "GLD"]
TARGET = {"SPY": 0.6, "AGG": 0.35, "GLD": 0.05}


def _wide(T=260, seed=3) -> pa.Table:
    rng = np.random.default_rng(seed)
    prices = 100 * np.cumprod(1 + rng.normal(0.0002, [0.012, 0.004, 0.009], (T, 3)), axis=0)
    dates = np.busday_offset("2021-01-04", np.arange(T), roll="forward")
    return pa.table({"date": dates, **{a: prices[:, j] for j, a in enumerate(ASSETS)}})


def _long(wide: pa.Table) -> pa.Table:
    n = wide.num_rows
    return pa.table({
        "date": np.tile(wide.column("date").to_numpy(), 3),
        "instrument_id": np.repeat(ASSETS, n),
        "price": np.concatenate([wide.column(a).to_numpy() for a in ASSETS]),
    })


def test_same_result_from_every_frame_kind(backend):
    wide = _wide()
    ref = backtest(wide.select(ASSETS).to_pandas().to_numpy(), [0.6, 0.35, 0.05],
                   dates=wide.column("date").to_numpy(), commission_bps=5)
    for frame in (from_arrow(wide, backend), from_arrow(_long(wide).sort_by("instrument_id"), backend)):
        res = backtest(frame, TARGET, commission_bps=5)
        np.testing.assert_allclose(res.equity, ref.equity, rtol=1e-14)
        order = [res.assets.index(a) for a in ASSETS]  # long form: assets in order of first appearance
        np.testing.assert_allclose(res.weights[:, order], ref.weights, rtol=1e-14)
        out = res.to_frame("weights")
        assert type(out).__module__.split(".")[0] == {"arrow": "pyarrow", "polars": "polars",
                                                      "pandas": "pandas"}[backend]
        assert res.to_arrow("weights").column_names == ["date", *res.assets]
    assert ref.to_frame().num_rows == wide.num_rows


def test_pandas_datetime_index_serves_as_dates():
    df = _wide().to_pandas().set_index("date")
    res = backtest(df, TARGET)
    months = np.unique(np.asarray(df.index, dtype="datetime64[M]"))
    assert res.n_rebalances == len(months) == 12  # 260 business days of 2021
    assert res.to_pandas()["date"].iloc[0] == df.index[0]


def test_monthly_calendar_is_first_date_of_each_month():
    wide = _wide()
    res = backtest(wide, TARGET)
    months = wide.column("date").to_numpy().astype("datetime64[M]")
    expect = np.r_[True, months[1:] != months[:-1]]
    np.testing.assert_array_equal(res.rebalanced, expect)


def test_flows_are_not_returns():
    """A deposit raises equity by its amount and leaves the time-weighted return unchanged."""
    wide = _wide()
    day = wide.column("date")[100].as_py()
    base = backtest(wide, TARGET, frequency="daily")
    more = backtest(wide, TARGET, frequency="daily", flows={day: 250_000.0})
    np.testing.assert_allclose(more.returns[1:], base.returns[1:], rtol=1e-9, atol=1e-15)
    assert more.equity[100] == pytest.approx(base.equity[100] + 250_000.0, rel=1e-12)
    np.testing.assert_allclose(more.equity[100:] / base.equity[100:], more.equity[100] / base.equity[100])
    assert more.flows[100] == 250_000.0
    as_frame = backtest(wide, TARGET, frequency="daily",
                        flows=pa.table({"date": [day], "amount": [250_000.0]}))
    np.testing.assert_array_equal(as_frame.equity, more.equity)


def test_withdrawal_then_monthly_rebalance_restores_targets():
    wide = _wide()
    day = wide.column("date")[30].as_py()
    res = backtest(wide, TARGET, flows={day: -100_000.0})
    assert res.cash[30] == pytest.approx(-100_000.0 + res.cash[29])  # borrowed until the next rebalance
    nxt = np.flatnonzero(res.rebalanced)[2]
    np.testing.assert_allclose(res.weights[nxt], [0.6, 0.35, 0.05], atol=1e-12)


def test_policy_sees_only_the_past_and_can_skip():
    wide = _wide()
    seen = []

    def policy(ctx: PolicyContext):
        seen.append((ctx.index, ctx.prices.shape[0], ctx.returns.shape[0]))
        assert not ctx.prices.flags.writeable
        return None if ctx.index == 0 else [0.5, 0.5, 0.0]

    res = backtest(wide, policy, frequency="quarterly", progress=False)
    assert all(n == i + 1 and m == i for i, n, m in seen)
    assert res.equity[0] == 1e6 and res.weights[0].sum() == 0  # stayed in cash on day 0
    assert [i for i, _, _ in seen] == np.flatnonzero(res.rebalanced | (np.arange(len(res.equity)) == 0)).tolist()


def test_optimizer_policy_with_min_variance():
    """pm.min_variance on 120 trailing returns every month; the weights are the optimizer's."""
    wide = _wide(T=400)
    res = backtest(wide, optimizer_policy(pm.min_variance, lookback=120), commission_bps=2)
    i = int(np.flatnonzero(res.rebalanced)[-1])
    P = np.column_stack([wide.column(a).to_numpy() for a in ASSETS])[: i + 1][-121:]
    expect = pm.min_variance(pm.sample_covariance(P[1:] / P[:-1] - 1)).x
    np.testing.assert_allclose(res.weights[i], expect, atol=1e-10)
    assert res.weights[i, 1] > 0.5  # the low-volatility bond fund dominates


def test_metrics_are_pmcore_metrics_of_the_returns():
    res = backtest(_wide(), TARGET, commission_bps=10)
    r = res.returns[1:]
    assert res.metrics["sharpe_ratio"] == pytest.approx(float(pm.sharpe_ratio(r)), rel=1e-14)
    assert res.metrics["max_drawdown"] == pytest.approx(float(pm.max_drawdown(r)), rel=1e-14)
    assert "annual return" in repr(res)


def test_progress_bar_on_stderr(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    backtest(_wide(T=500), TARGET, progress=True)
    assert "500/500 dates" in err.getvalue()
    err.truncate(0)
    backtest(_wide(T=500), TARGET, progress=None)  # not a terminal: quiet
    assert err.getvalue() == ""


def test_degenerate_inputs():
    one = backtest(np.array([[10.0, 20.0]]), [0.5, 0.5], frequency=1)
    assert one.equity.tolist() == [1e6] and np.isnan(one.metrics["sharpe_ratio"])
    empty = backtest(np.zeros((0, 2)), [0.5, 0.5], frequency=1)
    assert len(empty.equity) == 0 and repr(empty) == "BacktestResult(empty)"
    cash = backtest(np.ones((5, 2)), [0.0, 0.0], frequency="daily")
    assert (cash.equity == 1e6).all() and cash.total_turnover == 0


@given(seed=st.integers(0, 500), threshold=st.sampled_from([None, 0.0, 0.01]),
       frequency=st.sampled_from([None, "daily", "weekly", "monthly", 7]), bps=st.floats(0, 50))
def test_constant_policy_equals_fixed_targets(seed, threshold, frequency, bps):
    """A policy that always returns the targets stops the kernel on every trigger and resumes it: same path."""
    wide = _wide(T=120, seed=seed)
    kw = {"frequency": frequency, "threshold": threshold, "commission_bps": bps,
          "flows": {wide.column("date")[50].as_py(): 1e5}}
    if frequency is None and threshold is None:
        kw["frequency"] = "daily"
    fixed = backtest(wide, TARGET, **kw)
    policy = backtest(wide, lambda ctx: TARGET, progress=True, **kw)
    np.testing.assert_array_equal(policy.equity, fixed.equity)
    np.testing.assert_array_equal(policy.rebalanced, fixed.rebalanced)


@given(seed=st.integers(0, 500), limit=st.sampled_from([0.06, 0.1, 0.15]),
       frequency=st.sampled_from(["daily", "weekly", 7]), threshold=st.sampled_from([None, 0.005]))
def test_constant_policy_equals_fixed_targets_with_volatility_pause(seed, limit, frequency, threshold):
    """Stopping for the policy and resuming keeps the volatility window and the carried rebalance."""
    wide = _wide(T=120, seed=seed)
    kw = {"frequency": frequency, "threshold": threshold, "commission_bps": 5.0, "volatility_limit": limit,
          "volatility_window": 10}
    fixed = backtest(wide, TARGET, **kw)
    policy = backtest(wide, lambda ctx: TARGET, progress=False, **kw)
    np.testing.assert_array_equal(policy.equity, fixed.equity)
    np.testing.assert_array_equal(policy.rebalanced, fixed.rebalanced)
    np.testing.assert_array_equal(policy.postponed, fixed.postponed)


def _final_equity(seed: int) -> float:
    return float(backtest(_wide(seed=seed), TARGET, commission_bps=3).equity[-1])


def test_process_pool_gives_the_same_result():
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert list(pool.map(_final_equity, [1, 2])) == [_final_equity(1), _final_equity(2)]


def test_thread_pool_gives_the_same_result():
    wide = _wide()
    ref = backtest(wide, TARGET, commission_bps=3).equity
    with ThreadPoolExecutor(4) as pool:
        for res in pool.map(lambda _: backtest(wide, TARGET, commission_bps=3), range(8)):
            np.testing.assert_array_equal(res.equity, ref)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"targets": {"SPY": 0.7, "AGG": 0.4}}, "targets: sum to more than 1"),
    ({"targets": {"SPY": 0.5, "XYZ": 0.5}}, "unknown asset 'XYZ'"),
    ({"targets": {"SPY": -0.1}}, "invalid weight of asset 'SPY'"),
    ({"targets": [0.5, 0.5]}, "wrong length"),
    ({"frequency": "hourly"}, "frequency: is not a frequency"),
    ({"costs_from": "broker"}, "costs_from"),
    ({"commission_bps": -1.0}, "commission_bps"),
    ({"threshold": -0.1}, "threshold"),
    ({"short_term_rate": 1.5}, "short_term_rate"),
    ({"flows": {"1999-01-01": 5.0}}, "flows: has a date that is not a price date"),
    ({"volatility_limit": -0.1}, "volatility_limit: is out of range"),
    ({"volatility_limit": float("nan")}, "volatility_limit: is out of range"),
    ({"volatility_limit": "high"}, "volatility_limit: is out of range"),
    ({"volatility_window": 1}, "volatility_window: is not a window"),
    ({"volatility_window": 5.5}, "volatility_window: is not a window"),
    ({"periods_per_year": 0}, "periods_per_year"),
])
def test_bad_input_names_the_argument(kwargs, match):
    args = {"targets": TARGET, **kwargs}
    with pytest.raises(ValidationError, match=match):
        backtest(_wide(T=30), args.pop("targets"), **args)


def test_bad_prices_name_asset_and_row():
    wide = _wide(T=30)
    bad = wide.set_column(2, "AGG", pa.array(np.r_[wide.column("AGG").to_numpy()[:7], -1.0,
                                                    wide.column("AGG").to_numpy()[8:]]))
    with pytest.raises(ValidationError, match="column 'AGG', row 7: holds an invalid price of asset 'AGG'"):
        backtest(bad, TARGET)
    shuffled = wide.take(pa.array([1, 0, *range(2, 30)]))
    with pytest.raises(ValidationError, match="not strictly increasing"):
        backtest(shuffled, TARGET)
    long = _long(wide)
    with pytest.raises(ValidationError, match="no price of asset 'GLD'"):
        backtest(long.slice(0, long.num_rows - 1), TARGET)
    negative = long.set_column(2, "price", pa.array(np.r_[long.column("price").to_numpy()[:40], -2.0,
                                                           long.column("price").to_numpy()[41:]]))
    with pytest.raises(ValidationError, match="column 'price', row 40: holds an invalid price of asset 'AGG'"):
        backtest(negative, TARGET)
    with pytest.raises(ValidationError, match="repeats a \\(date, asset\\) pair"):
        backtest(pa.concat_tables([long, long.slice(0, 1)]), TARGET)
    with pytest.raises(ValidationError, match="'monthly' needs dates"):
        backtest(np.ones((5, 2)), [0.5, 0.5])


def test_inputs_are_not_mutated():
    P = np.ascontiguousarray(_wide().select(ASSETS).to_pandas().to_numpy())
    w = np.array([0.6, 0.35, 0.05])
    before = P.copy(), w.copy()
    res = backtest(P, w, frequency=20, commission_bps=10)
    np.testing.assert_array_equal(P, before[0])
    np.testing.assert_array_equal(w, before[1])
    assert isinstance(res, BacktestResult)


def test_cost_model_of_the_rebalance_module():
    from pmcore.rebalance.costs import CostModel

    wide = _wide()
    by_args = backtest(wide, TARGET, commission_bps=4.0, half_spread_bps=3.0)
    by_model = backtest(wide, TARGET, cost_model=CostModel(commission_bps=4.0, half_spread_bps=3.0))
    np.testing.assert_array_equal(by_model.equity, by_args.equity)
    with pytest.raises(ValidationError, match="cost_model: has costs that are not proportional"):
        backtest(wide, TARGET, cost_model=CostModel(commission_per_share=0.01))
    with pytest.raises(ValidationError, match="cost_model: is given with commission_bps"):
        backtest(wide, TARGET, commission_bps=1.0, cost_model=CostModel(commission_bps=4.0))
