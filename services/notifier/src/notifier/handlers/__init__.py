"""Use cases: one plain function per event, given a session (in the inbox transaction) and the time."""
