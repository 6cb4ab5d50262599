"""Use cases: one plain function per event, given the session of the inbox transaction."""
