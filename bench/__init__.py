"""Benchmarks that print figures; they are not tests (see bench/README.md)."""
