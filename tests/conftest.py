"""Cross-service tests: architecture boundaries, contract use, end to end, chaos."""
