"""Test and development servers: an SMTP sink and a webhook receiver that verifies signatures."""
