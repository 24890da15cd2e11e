"""Rebalance triggers: the 5/25 rule by hand, calendars against datetime.isocalendar, gates, kernel vs reference."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmcore as pm
from pmcore.frames import frame_kind, from_arrow, to_arrow
from pmcore.kernels import rebalance as kr
from pmcore.rebalance import check_triggers, drift
from pmcore.rebalance.triggers import STATUSES, _breaches

from .test_drift import random_csr

TARGETS = pa.table({"instrument_id": ["SPY", "EFA", "AGG", "GLD"], "target_weight": [0.5, 0.2, 0.2, 0.1]})
WEIGHTS = pa.table({
    "portfolio_id": ["A"] * 4 + ["B"] * 4 + ["C"] * 4,
    "instrument_id": ["SPY", "EFA", "AGG", "GLD"] * 3,
    # A: SPY +6 pp; B: GLD +3 pp (30 % of its 10 % target); C: every asset within 2 pp
    "weight": [0.56, 0.18, 0.18, 0.08, 0.49, 0.19, 0.19, 0.13, 0.51, 0.19, 0.21, 0.09],
})
NOW = dt.datetime(2026, 11, 30, 15, 0)


def decide(**kw):
    return check_triggers(drift(WEIGHTS, TARGETS), **kw)


def test_absolute_threshold_default_five_points():
    dec = decide()
    assert dec.rebalance.tolist() == [True, False, False]
    assert dec.asset.to_pylist() == ["SPY", "GLD", "SPY"]
    assert dec.excess[0] == pytest.approx(0.01)  # 6 pp drift, 5 pp band
    r = dec.reasons()
    assert r[0] == "rebalance: SPY drift +6.00 pp is 1.00 pp beyond its 5.00 pp band"
    assert r[1] == "within bands: largest drift GLD +3.00 pp is within its 5.00 pp band"


def test_five_twenty_five_rule():
    # Swedroe's 5/25 rule: band = min(5 pp, 25 % of target). GLD target 10 % -> band 2.5 pp; +3 pp breaches.
    dec = decide(threshold=0.05, relative_band=0.25)
    assert dec.rebalance.tolist() == [True, True, False]
    assert dec.band[1] == pytest.approx(0.025) and dec.excess[1] == pytest.approx(0.005)
    # A: SPY ratio 6/5 = 1.2; EFA 2/5 = 0.4 (band min(5, 0.25*20) = 5); GLD 2/2.5 = 0.8 -> SPY
    assert dec.asset[0].as_py() == "SPY"
    rel_only = decide(threshold=None, relative_band=0.25)
    # C: SPY 1 pp of band 12.5 pp, AGG 1 pp of 5 pp, GLD 1 pp of 2.5 pp -> GLD is the closest, within
    assert rel_only.rebalance.tolist() == [False, True, False] and rel_only.asset[2].as_py() == "GLD"


def test_no_band_never_fires_without_calendar():
    dec = decide(threshold=None)
    assert not dec.rebalance.any() and "no band set" in dec.reasons()[0]


@pytest.mark.parametrize("calendar, last, due", [
    ("daily", dt.datetime(2026, 11, 29, 23, 59), True),
    ("daily", dt.datetime(2026, 11, 30, 0, 1), False),
    ("weekly", dt.datetime(2026, 11, 29, 12), None),   # None: ask datetime.isocalendar
    ("weekly", dt.datetime(2026, 11, 23, 12), None),
    ("weekly", dt.datetime(2026, 11, 22, 12), None),
    ("monthly", dt.datetime(2026, 10, 31, 12), True),
    ("monthly", dt.datetime(2026, 11, 1), False),
    ("quarterly", dt.datetime(2026, 9, 30), True),
    ("quarterly", dt.datetime(2026, 10, 1), False),
    ("annually", dt.datetime(2025, 12, 31), True),
])
def test_calendar_periods(calendar, last, due):
    if due is None:  # independent source: the ISO calendar of the standard library
        due = last.isocalendar()[:2] != NOW.isocalendar()[:2]
    dec = decide(threshold=None, calendar=calendar, now=NOW, last_rebalanced=last, min_interval=None)
    assert dec.rebalance.tolist() == [due] * 3
    assert (dec.status == (0 if due else STATUSES.index("not due"))).all()


def test_calendar_never_rebalanced_is_due_and_combine_all():
    last = pa.table({"portfolio_id": ["A", "B"],
                     "last_rebalanced": pa.array([dt.datetime(2026, 11, 2), None], pa.timestamp("us"))})
    dec = decide(calendar="monthly", now=NOW, last_rebalanced=last)
    # A: not due but SPY breaches (any); B and C never rebalanced -> due
    assert dec.rebalance.tolist() == [True, True, True]
    both = decide(calendar="monthly", combine="all", now=NOW, last_rebalanced=last)
    # all: A not due; B, C due but within bands
    assert both.rebalance.tolist() == [False, False, False]
    assert [STATUSES[s] for s in both.status] == ["not due", "within bands", "within bands"]
    assert "monthly rebalance not due" in both.reasons()[0]


def test_last_rebalanced_from_pandas_and_polars(backend):
    last = pa.table({"portfolio_id": ["A", "B", "C"],
                     "last_rebalanced": pa.array([NOW - dt.timedelta(hours=6)] * 3, pa.timestamp("us", "UTC"))})
    dec = decide(now=NOW, last_rebalanced=from_arrow(last, backend))
    assert dec.hours_since_last.tolist() == [6.0, 6.0, 6.0] and not dec.rebalance.any()


def test_min_interval_and_volatility_postpone():
    last = pa.table({"portfolio_id": ["A", "B", "C"],
                     "last_rebalanced": pa.array([NOW - dt.timedelta(hours=6)] * 3, pa.timestamp("ns"))})
    dec = decide(relative_band=0.25, now=NOW, last_rebalanced=last)
    assert not dec.rebalance.any()
    assert [STATUSES[s] for s in dec.status] == ["postponed: minimum interval"] * 2 + ["within bands"]
    assert dec.hours_since_last[0] == pytest.approx(6.0)
    assert dec.reasons()[0].startswith("postponed: minimum interval: last rebalance 6.0 h ago, minimum interval 24 h")
    assert decide(relative_band=0.25, now=NOW, last_rebalanced=last,
                  min_interval=dt.timedelta(hours=5)).rebalance.tolist() == [True, True, False]
    vol = pa.table({"portfolio_id": ["A", "B"], "volatility": [0.45, 0.12]})
    v = decide(relative_band=0.25, volatility=vol, volatility_limit=0.30)
    assert v.rebalance.tolist() == [False, True, False]
    assert v.reasons()[0].startswith("postponed: volatility: volatility 0.45 above the limit 0.3")
    assert not decide(volatility=0.5, volatility_limit=0.3).rebalance.any()  # one market gauge
    assert "2 rebalance" not in repr(v) and "1 rebalance" in repr(v)


def test_backends(backend):
    dec = check_triggers(drift(from_arrow(WEIGHTS, backend), from_arrow(TARGETS, backend)))
    out = dec.to_frame()
    assert frame_kind(out) == backend
    assert to_arrow(out, "out").column("rebalance").to_pylist() == [True, False, False]
    t = dec.to_arrow()
    assert t.column("status").to_pylist() == ["rebalance", "within bands", "within bands"]
    assert t.column("reason")[0].as_py().startswith("rebalance: SPY")


@pytest.mark.parametrize("kw, message", [
    ({"threshold": -0.1}, "threshold"),
    ({"relative_band": float("nan")}, "relative_band"),
    ({"calendar": "hourly"}, "calendar"),
    ({"combine": "either"}, "combine"),
    ({"calendar": "monthly"}, "now: is needed"),
    ({"now": NOW, "last_rebalanced": NOW + dt.timedelta(days=1)}, "account 'A'"),
    ({"now": "yesterday"}, "point in time"),
    ({"min_interval": 24}, "min_interval"),
    ({"volatility": pa.table({"portfolio_id": ["A"], "volatility": [-1.0]}), "volatility_limit": 0.2},
     "volatility"),
])
def test_bad_input(kw, message):
    with pytest.raises(pm.ValidationError, match=message):
        decide(**kw)
    with pytest.raises(pm.ValidationError, match="Drift"):
        check_triggers(WEIGHTS)


def breaches_ref(off, dft, tgt, theta, rho):
    worst, band, ratio = [], [], []
    for p in range(len(off) - 1):
        best = None
        for j in range(off[p], off[p + 1]):
            b = min(theta, rho * abs(tgt[j])) if math.isfinite(rho) else theta
            a = abs(dft[j])
            q = 0.0 if a == 0 else (math.inf if b == 0 else a / b)
            if best is None or (q, a) > best[:2]:
                best = (q, a, j, b)
        worst.append(best[2] if best else -1)
        band.append(best[3] if best else math.nan)
        ratio.append(best[0] if best else 0.0)
    return worst, band, ratio


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(0, 6), n_keys=st.integers(1, 8),
       theta=st.sampled_from([0.0, 0.02, 0.05, math.inf]), rho=st.sampled_from([0.1, 0.25, math.inf]))
def test_breaches_kernel_matches_reference(seed, n_p, n_keys, theta, rho):
    args = random_csr(seed, n_p, n_keys, 6, bool(seed % 2))
    offsets, code, weight, t_start, t_end, t_code, t_weight = args
    off, _, _, tgt, _, dft, _ = kr.drift_accounts(offsets, np.zeros(0, np.int64), code, weight, t_start, t_end,
                                                  t_code, t_weight, n_keys)
    ref = breaches_ref(off, dft, tgt, theta, rho)
    for fn in (kr.breaches, kr.breaches.py_func):
        worst, band, ratio = fn(off, dft, tgt, theta, rho)
        assert worst.tolist() == ref[0]
        np.testing.assert_array_equal(band, ref[1])
        np.testing.assert_array_equal(ratio, ref[2])


@given(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 6), theta=st.sampled_from([0.0, 0.02, 0.05, math.inf]),
       rho=st.sampled_from([0.25, math.inf]), tie=st.booleans())
def test_decision_from_lazy_positions_drift_matches_reference(seed, n_p, theta, rho, tie):
    """Positions drift (per-row drift not stored; without a relative band the trigger reads the drift's
    per-account maximum) against ``breaches_ref`` on the rows computed in plain numpy."""
    rng = np.random.default_rng(seed)
    ids = ["X", "Y", "Z"]
    n = int(rng.integers(0, 4))
    held = [(p, i) for p in range(n_p) for i in ids[:n]]
    qty = np.full(len(held), 10.0) if tie else rng.integers(0, 30, len(held)).astype(float)
    pos = pa.table({"portfolio_id": pa.array([p for p, _ in held], pa.int64()),
                    "instrument_id": pa.array([i for _, i in held], pa.string()), "quantity": qty})
    prices = pa.table({"instrument_id": ids, "price": [10.0, 10.0, 20.0] if tie else rng.uniform(1, 50, 3)})
    cash = pa.table({"portfolio_id": np.arange(n_p, dtype=np.int64), "amount": rng.uniform(1, 500, n_p)})
    t = pa.table({"instrument_id": ["X", "Y", "CASH"], "target_weight": [0.4, 0.4, 0.2]})
    d = drift(pos, t, prices=prices, cash=cash)
    assert d.drift_rows is None
    rows = np.arange(len(d.code))
    np.testing.assert_array_equal(d.drift_at(rows[::-1]), d.drift[::-1])  # before and after materialising
    acct = np.repeat(np.arange(d.n_accounts), np.diff(d.offsets))
    value = d.value[acct]
    dft = d.quantity * d.price[d.code] / value - d.target_weight
    np.testing.assert_allclose(d.drift, dft, rtol=1e-12, atol=1e-15)
    worst, band, ratio = breaches_ref(d.offsets, d.drift, d.target_weight, theta, rho)
    got = _breaches(drift(pos, t, prices=prices, cash=cash), theta, rho)
    assert got[0].tolist() == worst
    np.testing.assert_array_equal(got[1], band)
    np.testing.assert_array_equal(got[2], ratio)
    dec = check_triggers(drift(pos, t, prices=prices, cash=cash), threshold=None if math.isinf(theta) else theta,
                         relative_band=None if math.isinf(rho) else rho)
    np.testing.assert_array_equal(dec.breach, np.array(ratio) > 1.0)
    np.testing.assert_array_equal(dec.band, band)
    np.testing.assert_array_equal(dec.drift, [d.drift[w] if w >= 0 else math.nan for w in worst])
    codes = [int(d.code[w]) for w in worst]
    assert dec.asset.to_pylist() == [d.keys[c].as_py() for c in codes]
