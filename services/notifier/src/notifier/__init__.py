"""Notifier service: consumes notices events and delivers email and webhooks."""
