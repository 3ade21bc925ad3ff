"""Benchmarks (not tests): `python -m bench [--quick]` runs them all against bare Temporal on the
same dev server in the same run and prints one table. See README "Benchmarks"."""
