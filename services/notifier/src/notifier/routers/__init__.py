"""Entry points from the bus: parse with the contract, then hand over to a handler."""
