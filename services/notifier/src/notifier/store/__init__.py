"""The notifier's own database: inbox, recipient directory, delivery ledger."""
