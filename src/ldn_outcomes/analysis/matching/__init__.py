"""Matched comparisons: point-in-time patient snapshots (``trajectories``) and the matching of
LDN starters to non-users on them (``match``), with the balance the bias diagnostics read."""
