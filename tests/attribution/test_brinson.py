"""Brinson attribution: published examples, references, properties, frame kinds, bad input."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmcore.attribution import BrinsonResult, brinson
from pmcore.errors import ValidationError
from pmcore.frames import from_arrow, to_arrow
from pmcore.kernels import attribution as K

UK, JP, US = "UK equities", "Japanese equities", "US equities"


def _bacon_single(period=1, portfolio="A"):
    # Bacon (2008), Practical Portfolio Performance Measurement and Attribution,
    # 2nd ed., Exhibits 5.1-5.4: three markets, one period.
    return {
        "portfolio_id": [portfolio] * 3, "period": [period] * 3, "group": [UK, JP, US],
        "portfolio_weight": [0.40, 0.30, 0.30], "portfolio_return": [0.20, -0.05, 0.06],
        "benchmark_weight": [0.40, 0.20, 0.40], "benchmark_return": [0.10, -0.04, 0.08],
    }


def _col(frame, name):
    return to_arrow(frame, "x").column(name).to_pylist()


def _by_group(frame, name, groups=(UK, JP, US)):
    """Column ``name`` of a per-group frame, in the order of ``groups`` (labels come sorted)."""
    df = to_arrow(frame, "x").to_pandas().set_index("group")
    return df.loc[list(groups), name].to_numpy()


def test_bacon_bhb_table_5_2():
    # Bacon (2008) Exhibit 5.2 (Brinson-Hood-Beebower): allocation 0, -0.4 %, -0.8 %;
    # selection 4 %, -0.2 %, -0.8 %; interaction 0, -0.1 %, 0.2 %; active 1.9 %.
    res = brinson(pa.table(_bacon_single()), method="bhb")
    np.testing.assert_allclose(_by_group(res.effects, "allocation"), [0.0, -0.004, -0.008], atol=1e-15)
    np.testing.assert_allclose(_by_group(res.effects, "selection"), [0.04, -0.002, -0.008], atol=1e-15)
    np.testing.assert_allclose(_by_group(res.effects, "interaction"), [0.0, -0.001, 0.002], atol=1e-15)
    tot = res.totals
    assert _col(tot, "portfolio_return")[0] == pytest.approx(0.083, abs=1e-15)
    assert _col(tot, "benchmark_return")[0] == pytest.approx(0.064, abs=1e-15)
    assert _col(tot, "active_return")[0] == pytest.approx(0.019, abs=1e-15)
    assert res.reconciles and res.method == "brinson_hood_beebower"


def test_bacon_brinson_fachler_table_5_3():
    # Bacon (2008) Exhibit 5.3 (Brinson-Fachler): allocation 0, -1.04 %, -0.16 %,
    # total -1.2 %; selection and interaction as BHB.
    res = brinson(pa.table(_bacon_single()), method="brinson_fachler")
    np.testing.assert_allclose(_by_group(res.effects, "allocation"), [0.0, -0.0104, -0.0016], atol=1e-15)
    np.testing.assert_allclose(_by_group(res.effects, "selection"), [0.04, -0.002, -0.008], atol=1e-15)
    np.testing.assert_allclose(_by_group(res.effects, "interaction"), [0.0, -0.001, 0.002], atol=1e-15)
    assert _col(res.totals, "allocation")[0] == pytest.approx(-0.012, abs=1e-15)
    assert _col(res.totals, "total")[0] == pytest.approx(0.019, abs=1e-15)
    assert res.residual < 1e-15


def test_bacon_table_8_1_per_period():
    # Bacon (2008) Exhibit 8.1: Brinson-Fachler per quarter, selection shown
    # including interaction. Quarter 2: allocation -0.72 %, -0.86 %, 1.08 %;
    # selection 1.4 %, -0.2 %, 0.5 %.
    res = brinson(pa.table(bacon_8_1()))
    eff = to_arrow(res.effects, "x").to_pandas()
    q2 = eff[eff["period"] == 2].set_index("group").loc[[UK, JP, US]]
    np.testing.assert_allclose(q2["allocation"], [-0.0072, -0.0086, 0.0108], atol=1e-12)
    np.testing.assert_allclose(q2["selection"] + q2["interaction"], [0.014, -0.002, 0.005], atol=1e-12)


def bacon_8_1():
    """Bacon (2008) Exhibit 8.1: four quarters, three markets."""
    wp = [[0.4, 0.3, 0.3], [0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.3, 0.5, 0.2]]
    wb = [[0.4, 0.2, 0.4], [0.4, 0.3, 0.3], [0.5, 0.4, 0.1], [0.4, 0.4, 0.2]]
    rp = [[0.2, -0.05, 0.06], [-0.05, 0.03, -0.05], [-0.2, 0.08, -0.15], [0.1, -0.07, 0.25]]
    rb = [[0.1, -0.04, 0.08], [-0.07, 0.04, -0.1], [-0.25, 0.05, -0.2], [0.05, -0.05, 0.1]]
    return {
        "portfolio_id": ["A"] * 12, "period": [t for t in range(1, 5) for _ in range(3)],
        "group": [UK, JP, US] * 4,
        "portfolio_weight": np.ravel(wp), "portfolio_return": np.ravel(rp),
        "benchmark_weight": np.ravel(wb), "benchmark_return": np.ravel(rb),
    }


# ---------------------------------------------------------------- references


def reference_cell(wp, rp, wb, rb, fachler=True):
    """Plain numpy Brinson for one cell with one row per group (both weights non-zero)."""
    big_b = float(np.sum(wb * rb))
    ref = big_b if fachler else 0.0
    alloc = (wp - wb) * (rb - ref)
    sel = wb * (rp - rb)
    inter = (wp - wb) * (rp - rb)
    return alloc, sel, inter


def load_pandas_peer():
    path = pathlib.Path(__file__).parents[2] / "benchmarks" / "attribution_data.py"
    spec = importlib.util.spec_from_file_location("attribution_bench_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@st.composite
def panels(draw, max_portfolios=3, max_periods=4, max_groups=5, zeros=True):
    """Long frames: portfolios x periods x groups (several securities per group)."""
    n_p = draw(st.integers(1, max_portfolios))
    n_t = draw(st.integers(1, max_periods))
    n_g = draw(st.integers(1, max_groups))
    n_s = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (n_p, n_t, n_g * n_s)
    wp = rng.uniform(0.0, 1.0, shape)
    wb = rng.uniform(0.0, 1.0, shape)
    if zeros:
        wp[rng.random(shape) < 0.25] = 0.0
        wb[rng.random(shape) < 0.25] = 0.0
        wp[..., 0] += 0.1
        wb[..., -1] += 0.1
    wp /= wp.sum(axis=2, keepdims=True)
    wb /= wb.sum(axis=2, keepdims=True)
    rp = rng.uniform(-0.3, 0.3, shape)
    rb = rng.uniform(-0.3, 0.3, shape)
    n = wp.size
    return pa.table({
        "portfolio_id": np.repeat([f"P{i}" for i in range(n_p)], n_t * n_g * n_s),
        "period": np.tile(np.repeat(np.arange(n_t), n_g * n_s), n_p),
        "group": np.tile(np.repeat([f"G{g}" for g in range(n_g)], n_s), n_p * n_t),
        "portfolio_weight": wp.reshape(n), "portfolio_return": rp.reshape(n),
        "benchmark_weight": wb.reshape(n), "benchmark_return": rb.reshape(n),
    })


def group_level(table):
    """Aggregate securities to groups with plain pandas (independent of pmcore)."""
    df = table.to_pandas()
    df["cp"] = df.portfolio_weight * df.portfolio_return
    df["cb"] = df.benchmark_weight * df.benchmark_return
    return df.groupby(["portfolio_id", "period", "group"], sort=False)[
        ["portfolio_weight", "cp", "benchmark_weight", "cb"]].sum().reset_index()


@settings(max_examples=25, deadline=None)
@given(panels(zeros=False), st.booleans())
def test_matches_numpy_reference(table, fachler):
    res = brinson(table, method="bf" if fachler else "bhb")
    eff = to_arrow(res.effects, "x").to_pandas()
    g = group_level(table)
    for (p, t), cell in g.groupby(["portfolio_id", "period"], sort=False):
        rp = (cell.cp / cell.portfolio_weight).to_numpy()
        rb = (cell.cb / cell.benchmark_weight).to_numpy()
        alloc, sel, inter = reference_cell(cell.portfolio_weight.to_numpy(), rp,
                                           cell.benchmark_weight.to_numpy(), rb, fachler)
        got = eff[(eff.portfolio_id == p) & (eff.period == t)]
        np.testing.assert_allclose(got.allocation, alloc, rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(got.selection, sel, rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(got.interaction, inter, rtol=1e-9, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(panels(), st.sampled_from(["bf", "bhb"]))
def test_effects_sum_to_active_return(table, method):
    res = brinson(table, method=method)
    tot = to_arrow(res.totals, "x").to_pandas()
    np.testing.assert_allclose(tot.allocation + tot.selection + tot.interaction, tot.active_return,
                               rtol=0, atol=1e-12)
    eff = to_arrow(res.effects, "x").to_pandas()
    sums = eff.groupby(["portfolio_id", "period"], sort=False)[["allocation", "selection", "interaction"]].sum()
    np.testing.assert_allclose(sums.sum(axis=1).to_numpy(), tot.active_return.to_numpy(), atol=1e-12)
    assert res.reconciles


@settings(max_examples=20, deadline=None)
@given(panels())
def test_identical_portfolio_and_benchmark_give_zero_effects(table):
    same = table.set_column(table.schema.get_field_index("portfolio_weight"), "portfolio_weight",
                            table.column("benchmark_weight"))
    same = same.set_column(same.schema.get_field_index("portfolio_return"), "portfolio_return",
                           same.column("benchmark_return"))
    for linking in (None, "carino"):
        res = brinson(same, linking=linking, periods=True)
        eff = to_arrow(res.effects, "x")
        for name in ("allocation", "selection", "interaction"):
            assert np.all(eff.column(name).to_numpy() == 0.0)
        if linking:
            assert np.all(to_arrow(res.linked, "x").column("total").to_numpy() == 0.0)


@settings(max_examples=20, deadline=None)
@given(panels(max_periods=1), st.sampled_from(["carino", "menchero", "grap", "frongello"]))
def test_linking_one_period_equals_single_period(table, linking):
    single = to_arrow(brinson(table).effects, "x").to_pandas()
    linked = to_arrow(brinson(table, linking=linking).linked, "x").to_pandas()
    for name in ("allocation", "selection", "interaction"):
        np.testing.assert_allclose(linked[name], single[name], rtol=1e-12, atol=1e-15)


@settings(max_examples=20, deadline=None)
@given(panels(), st.sampled_from(["carino", "menchero", "grap", "frongello"]))
def test_fused_and_dense_paths_agree(table, linking):
    fused = brinson(table, linking=linking)
    dense = brinson(table, linking=linking, periods=True)
    a = to_arrow(fused.linked, "x")
    b = to_arrow(dense.linked, "x")
    assert a.column("group").to_pylist() == b.column("group").to_pylist()
    for name in ("allocation", "selection", "interaction"):
        np.testing.assert_allclose(a.column(name).to_numpy(), b.column(name).to_numpy(), rtol=1e-12, atol=1e-15)
    assert fused.reconciles and dense.reconciles


def test_matches_pandas_peer_on_generated_data():
    peer = load_pandas_peer()
    table = peer.security_level(3, 12, 40)
    eff, linked = peer.pandas_brinson_fachler_carino(table.to_pandas())
    res = brinson(table, by="sector", linking="carino", periods=True)
    ours = to_arrow(res.linked, "x").to_pandas().set_index(["portfolio_id", "sector"])
    theirs = linked.reset_index()
    theirs["sector"] = theirs["sector"].astype(str)
    theirs = theirs.set_index(["portfolio_id", "sector"]).reindex(
        [(p, str(s)) for p, s in ours.index])
    for name in ("allocation", "selection", "interaction"):
        np.testing.assert_allclose(ours[name].to_numpy(), theirs[name].to_numpy(), rtol=1e-9, atol=1e-15)


# ------------------------------------------------------------- kernels


@settings(max_examples=20, deadline=None)
@given(panels(max_portfolios=2), st.sampled_from([0, 1]))
def test_kernel_matches_python_twin(table, mode):
    from pmcore.attribution._layout import group_codes, layout

    cells = layout(table, "d", "portfolio_id", "period")
    codes, labels, _ = group_codes(cells.table, "d", "group")
    codes = codes.astype(np.int32)
    cols = [cells.table.column(n).to_numpy() for n in
            ("portfolio_weight", "portfolio_return", "benchmark_weight", "benchmark_return")]
    n_g = len(labels)
    outs = []
    for fn in (K.brinson_cells, K.brinson_cells.py_func):
        out = np.empty((cells.n_cells, 7, n_g))
        tot = np.empty((cells.n_cells, 7))
        fn(cells.cell_start, codes, *cols, mode, np.zeros((1, 1)), np.zeros(n_g, np.int64), out, tot)
        outs.append((out, tot))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-13, atol=1e-16)


@settings(max_examples=20, deadline=None)
@given(panels(max_portfolios=2), st.sampled_from([0, 1, 2, 3]))
def test_linked_kernel_matches_python_twin(table, method):
    from pmcore.attribution._layout import group_codes, layout

    cells = layout(table, "d", "portfolio_id", "period")
    codes, labels, _ = group_codes(cells.table, "d", "group")
    codes = codes.astype(np.int32)
    cols = [cells.table.column(n).to_numpy() for n in
            ("portfolio_weight", "portfolio_return", "benchmark_weight", "benchmark_return")]
    n_g, n_p = len(labels), cells.n_portfolios
    outs = []
    for fn in (K.brinson_linked, K.brinson_linked.py_func):
        bufs = (np.empty((cells.n_cells, 7)), np.empty((n_p, 3, n_g)), np.empty((n_p, 2)),
                np.empty((n_p, n_g), np.uint8))
        fn(cells.cell_start, cells.port_start, codes, *cols, 1, method, *bufs)
        outs.append(bufs)
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-16)


# ------------------------------------------------------------- layout and kinds


def test_shuffled_rows_give_the_same_result():
    table = pa.table(bacon_8_1())
    order = np.random.default_rng(3).permutation(table.num_rows)
    a = brinson(table, linking="grap")
    b = brinson(table.take(order), linking="grap")
    assert to_arrow(a.linked, "x").equals(to_arrow(b.linked, "x"))
    a = brinson(table)
    b = brinson(table.take(order))
    assert to_arrow(a.totals, "x").equals(to_arrow(b.totals, "x"))


def test_output_kind_mirrors_input(backend):
    frame = from_arrow(pa.table(bacon_8_1()), backend)
    res = brinson(frame, linking="carino", periods=True)
    for part in ("effects", "totals", "linked", "linked_totals"):
        value = getattr(res, part)
        assert type(value).__module__.split(".")[0] == {"arrow": "pyarrow", "polars": "polars",
                                                        "pandas": "pandas"}[backend]
    assert res.to_pandas("linked").shape == (3, 6)
    assert res.to_polars().shape == (12, 11)
    assert res.to_arrow("linked_totals").num_rows == 1
    assert isinstance(res, BrinsonResult) and "reconciles=True" in repr(res)


def test_dates_and_dictionary_groups():
    table = pa.table(bacon_8_1())
    dates = pa.array(np.repeat(np.array(["2024-03-28", "2024-06-28", "2024-09-30", "2024-12-31"],
                                        dtype="datetime64[D]"), 3))
    table = table.set_column(1, "period", dates)
    table = table.set_column(2, "group", table.column("group").dictionary_encode())
    res = brinson(table, linking="menchero", periods=True)
    eff = to_arrow(res.effects, "x")
    assert pa.types.is_dictionary(eff.column("group").type)
    assert eff.column("period").type == pa.date32()
    # Bacon (2008) Exhibit 8.3, Menchero: allocation 1.56 %, -0.78 %, 0.14 %
    np.testing.assert_allclose(_by_group(res.linked, "allocation"), [0.0156, -0.0078, 0.0014], atol=5e-5)


def test_empty_input_gives_empty_result():
    empty = pa.table(bacon_8_1()).slice(0, 0)
    res = brinson(empty, linking="carino", periods=True)
    assert to_arrow(res.effects, "x").num_rows == 0
    assert to_arrow(res.linked_totals, "x").num_rows == 0
    assert res.reconciles


# ------------------------------------------------------------- multi-level


def test_multi_level_children_explain_parent_selection():
    rng = np.random.default_rng(5)
    sectors = ["Tech", "Tech", "Tech", "Energy", "Energy", "Health"]
    industries = ["Software", "Software", "Chips", "Oil", "Gas", "Pharma"]
    n = len(sectors)
    rows = []
    for t in range(3):
        wp = rng.uniform(0, 1, n)
        wb = rng.uniform(0, 1, n)
        wp[4] = 0.0
        rows.append(dict(portfolio_id=["A"] * n, period=[t] * n, sector=sectors, industry=industries,
                         security=list(range(n)), portfolio_weight=wp / wp.sum(),
                         benchmark_weight=wb / wb.sum(), portfolio_return=rng.normal(0, 0.05, n),
                         benchmark_return=rng.normal(0, 0.05, n)))
    table = pa.concat_tables([pa.table(r) for r in rows])
    res = brinson(table, by=["sector", "industry"], linking="carino", periods=True)
    assert len(res.levels) == 1 and len(res.linked_levels) == 1
    top = to_arrow(res.levels[0], "x").to_pandas()
    low = to_arrow(res.effects, "x").to_pandas()
    # top level is ordinary Brinson-Fachler by sector
    flat = to_arrow(brinson(table, by="sector").effects, "x").to_pandas()
    np.testing.assert_allclose(top.allocation, flat.allocation, atol=1e-15)
    # children's effects add up to the parent's selection + interaction
    child = low.groupby(["period", "sector"], sort=False)[["allocation", "selection", "interaction"]].sum().sum(axis=1)
    parent = top.set_index(["period", "sector"])
    np.testing.assert_allclose(child.to_numpy(), (parent.selection + parent.interaction).loc[child.index].to_numpy(),
                               atol=1e-14)
    assert res.reconciles
    tot = to_arrow(res.totals, "x").to_pandas()
    np.testing.assert_allclose(tot.allocation, top.groupby("period").allocation.sum().to_numpy()
                               + low.groupby("period").allocation.sum().to_numpy(), atol=1e-15)


# ------------------------------------------------------------- bad input


def test_weights_not_summing_to_one_name_portfolio_and_period():
    data = _bacon_single(period=7, portfolio="Growth")
    data["portfolio_weight"] = [0.4, 0.3, 0.2]
    with pytest.raises(ValidationError, match=r"portfolio 'Growth', period 7.*Hint: add a cash group") as err:
        brinson(pa.table(data))
    assert err.value.column == "portfolio_weight"


def test_nan_return_names_portfolio_period_and_group():
    data = _bacon_single(period=3)
    data["benchmark_return"] = [0.1, float("nan"), 0.08]
    with pytest.raises(ValidationError, match=r"portfolio 'A', period 3, group 'Japanese equities'") as err:
        brinson(pa.table(data), linking="carino")
    assert err.value.column == "benchmark_return" and err.value.row == 1


def test_missing_group_on_one_side_is_an_error_naming_it():
    data = _bacon_single()
    data["portfolio_weight"] = [0.7, None, 0.3]
    with pytest.raises(ValidationError, match=r"group 'Japanese equities'.*Hint: give 0 weight"):
        brinson(pa.table(data))


def test_missing_return_allowed_where_weight_is_zero():
    data = _bacon_single()
    data["portfolio_weight"] = [0.7, 0.0, 0.3]
    data["portfolio_return"] = [0.2, None, 0.06]
    res = brinson(pa.table(data))
    # no portfolio holding: the group return is the benchmark's, so no selection
    assert _by_group(res.effects, "selection", [JP])[0] == 0.0
    assert _by_group(res.effects, "interaction", [JP])[0] == 0.0
    assert res.reconciles


def test_bad_options_and_columns():
    table = pa.table(_bacon_single())
    with pytest.raises(ValidationError, match="linking"):
        brinson(table, linking="smooth")
    with pytest.raises(ValidationError, match="method"):
        brinson(table, method="geometric")
    with pytest.raises(ValidationError, match="missing column 'sector'"):
        brinson(table, by="sector")
    with pytest.raises(ValidationError, match="Hint: rename 'portfolio_wt' to 'portfolio_weight'"):
        brinson(table.rename_columns([c.replace("portfolio_weight", "portfolio_wt") for c in table.column_names]))
    with pytest.raises(ValidationError, match="wrong type"):
        brinson(table.set_column(3, "portfolio_weight", pa.array(["a", "b", "c"])))
    with pytest.raises(TypeError):
        brinson(table, "group")  # options are keyword-only


def test_period_missing_on_the_benchmark_side_names_it():
    # periods that do not line up: period 2 has portfolio rows but no benchmark holdings
    data = pa.concat_tables([pa.table(_bacon_single(period=1)), pa.table(_bacon_single(period=2))])
    data = data.set_column(5, "benchmark_weight", pa.array([0.4, 0.2, 0.4, 0.0, 0.0, 0.0]))
    with pytest.raises(ValidationError, match=r"benchmark_weight.*portfolio 'A', period 2") as err:
        brinson(data, linking="carino")
    assert err.value.value == 0.0


def test_group_level_rows_in_code_order_match_any_order():
    # rows already one per group in label order take the kernel's no-accumulation path
    data = _bacon_single()
    data["portfolio_weight"] = [0.7, 0.0, 0.3]
    data["portfolio_return"] = [0.2, None, 0.06]
    table = pa.table(data)
    ordered = table.take(pa.array([1, 0, 2]))  # Japanese, UK, US: sorted labels
    a = to_arrow(brinson(table, linking="carino", periods=True).effects, "x")
    b = to_arrow(brinson(ordered, linking="carino", periods=True).effects, "x")
    assert a.equals(b)
    fused = to_arrow(brinson(ordered, linking="grap").linked, "x")
    dense = to_arrow(brinson(table, linking="grap", periods=True).linked, "x")
    assert fused.equals(dense)
