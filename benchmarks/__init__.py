"""Benchmarks: accuracy against baselines on real data, latency, the analyst report.

`triage bench accuracy | latency | report` runs them (triage_cli/bench.py); the modules
also run as scripts (`python benchmarks/accuracy.py`). Datasets are entries of
`benchmarks/datasets.toml` (or a file of your own); results go to
`benchmarks/results/<run>/` (see docs/benchmarks.md).
"""
