"""Benchmarks on PostgreSQL: the reference data set (`bench.seed`) and one module per benchmark.

They are not tests: CI never runs them. See bench/README.md.
"""
