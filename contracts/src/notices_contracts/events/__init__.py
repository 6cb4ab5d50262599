"""Event data models, one module per contract version."""
