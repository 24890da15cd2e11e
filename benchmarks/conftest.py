"""Benchmarks run pmcore beside the libraries users would otherwise pick.

``pytest benchmarks`` runs every benchmark once as a smoke test (the project's
pytest options disable timing) on small data; for the figures in the README:

    PMCORE_BENCH_FULL=1 python -m pytest benchmarks --benchmark-enable -p no:randomly

or the ratio tables: ``python benchmarks/report.py``.
"""
