"""Cash ledger: exact balances and reconciliation, pmcore beside polars and pandas; one deposit.

Small sizes by default; ``PMCORE_BENCH_FULL=1`` for 10,000,000 ledger lines
(balances; the pandas Decimal peer at 1,000,000) and 1,000,000 reconciled lines.
Compile time is excluded (a warm-up call before timing).
"""

from __future__ import annotations

import pytest

from . import cash_data as cd

SIZES = cd.sizes()


@pytest.fixture(scope="module")
def ledger_lines():
    return cd.make_ledger(SIZES["balances"], SIZES["portfolios"])


@pytest.fixture(scope="module")
def ledger_lines_peer():
    return cd.make_ledger(SIZES["balances_decimal_peers"], SIZES["portfolios"])


@pytest.mark.parametrize("impl", ["pmcore", "polars-decimal"])
def test_balances(benchmark, ledger_lines, impl):
    """Exact balances per (portfolio, strategy, currency, status) of the large ledger."""
    benchmark.group = f"cash balances, {ledger_lines.num_rows:,} lines (exact)"
    if impl == "pmcore":
        cd.run_pmcore_balances(ledger_lines)  # warm-up: compile
        out = benchmark(cd.run_pmcore_balances, ledger_lines)
        cd.check_same(out, cd.run_polars_balances(cd.to_polars(ledger_lines)))
    else:
        frame = cd.to_polars(ledger_lines)
        out = benchmark(cd.run_polars_balances, frame)
        assert out.height > 0


@pytest.mark.parametrize("impl", ["pmcore", "pandas-units"])
def test_balances_pandas_units(benchmark, ledger_lines, impl):
    """The large ledger beside pandas summing exact int64 fixed-point units (the same arithmetic)."""
    benchmark.group = f"cash balances vs pandas int64 units, {ledger_lines.num_rows:,} lines (exact)"
    if impl == "pmcore":
        cd.run_pmcore_balances(ledger_lines)
        benchmark(cd.run_pmcore_balances, ledger_lines)
    else:
        df = cd.to_pandas_units(ledger_lines)
        out = benchmark(cd.run_pandas_units_balances, df)
        cd.check_same_units(cd.run_pmcore_balances(ledger_lines), out)


@pytest.mark.parametrize("impl", ["pmcore", "pandas-decimal", "pandas-float (inexact)"])
def test_balances_pandas(benchmark, ledger_lines_peer, impl):
    """The same on the pandas-sized ledger: Decimal objects (exact) and float64 (inexact)."""
    benchmark.group = f"cash balances vs pandas, {ledger_lines_peer.num_rows:,} lines"
    if impl == "pmcore":
        cd.run_pmcore_balances(ledger_lines_peer)
        benchmark(cd.run_pmcore_balances, ledger_lines_peer)
    elif impl == "pandas-decimal":
        df = cd.to_pandas_decimal(ledger_lines_peer)
        out = benchmark(cd.run_pandas_balances, df)
        assert len(out) > 0
    else:
        df = cd.to_pandas_float(ledger_lines_peer)
        benchmark(cd.run_pandas_balances, df)


@pytest.fixture(scope="module")
def recon_data():
    return cd.make_recon(SIZES["recon"])


@pytest.mark.parametrize("impl", ["pmcore", "polars", "pandas"])
def test_reconcile(benchmark, recon_data, impl):
    """Reconcile ledger lines against a statement (0.1 % changed, dropped and extra lines)."""
    lines, statement = recon_data
    benchmark.group = f"reconciliation, {lines.num_rows:,} lines"
    if impl == "pmcore":
        cd.run_pmcore_recon(lines, statement)
        r = benchmark(cd.run_pmcore_recon, lines, statement)
        assert r.counts["missing_in_ledger"] == statement.num_rows - r.counts["matched"] - \
            r.counts["amount_mismatch"] - r.counts["date_mismatch"]
    elif impl == "polars":
        import polars as pl

        a, b = pl.from_arrow(lines), pl.from_arrow(statement)
        benchmark(cd.run_polars_recon, a, b)
    else:
        a, b = lines.to_pandas(), statement.to_pandas()
        benchmark(cd.run_pandas_recon, a, b)


@pytest.mark.parametrize("impl", ["pmcore", "decimal-dict"])
def test_single_deposit(benchmark, impl):
    """One deposit validated and recorded from Python (target: p99 under 100 us), beside a hand-written one."""
    benchmark.group = "single deposit"
    counter = iter(range(10**9))
    if impl == "pmcore":
        led = cd.new_ledger()
        benchmark(lambda: led.deposit(f"P{next(counter) % 100}", "USD", "125.50", trade_date="2026-11-20"))
    else:
        peer = cd.new_peer_ledger()
        benchmark(lambda: peer.deposit(f"P{next(counter) % 100}", "USD", "125.50", "2026-11-20"))


@pytest.mark.parametrize("impl", ["pmcore", "decimal-dict"])
def test_single_withdrawal(benchmark, impl):
    """One withdrawal with the limit, reserve and available checks (target: p99 under 100 us)."""
    benchmark.group = "single withdrawal"
    counter = iter(range(10**9))
    if impl == "pmcore":
        led = cd.new_ledger()
        benchmark(lambda: led.withdraw(f"P{next(counter) % 100}", "USD", "0.01", trade_date="2026-11-20"))
    else:
        peer = cd.new_peer_ledger()
        benchmark(lambda: peer.withdraw(f"P{next(counter) % 100}", "USD", "0.01", "2026-11-20"))
