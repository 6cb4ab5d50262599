"""Benchmarks (not tests): ``make bench``, ``make bench-relay``, ``make bench-notifier``."""
