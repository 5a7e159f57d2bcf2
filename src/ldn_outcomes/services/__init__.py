"""Application services: the use cases the CLI and the web both call, one function each.

A service opens its own transaction, calls the store, the analyses and the reports, and
returns a result the adapter prints or renders; ``web`` and ``cli`` stay thin."""
