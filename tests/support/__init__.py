"""Shared harness of the cross-service tests (e2e, chaos) and benchmarks: the platform as
real processes on free ports, isolated per run."""
