"""Shared fixtures of the notices-api suite."""
