"""Delivery channels: each behind a small interface (base.py) with a fake twin."""
