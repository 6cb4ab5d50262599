"""``make bench``: the whole platform measured end to end, beside the alternatives."""
