"""The delivery ledger: the one owner of every delivery rule.

Handlers, the dispatcher and the HTTP API call into this package; none of them
writes ledger SQL or repeats a rule. Each rule has one module:

- ``rules``: who may be messaged and when (reachable, active, opted out, quiet
  hours, visibility window), as pure functions over plain values.
- ``creation``: the rows an event creates (deterministic ids, any arrival order).
- ``cancel``: why a pending delivery stops being owed, and the cancelling itself.
- ``claims``: claim, lease, record and retry, fenced so that a result applies
  only to the claim that sent it.
- ``operator``: what the HTTP API shows and does (listing, detail, retry,
  acknowledgements, backlog).
"""
