"""Pure domain: types, clinical rules and instrument scoring. No I/O, no frameworks."""
