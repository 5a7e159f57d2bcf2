"""Statistics shared across layers: standard methods that more than one sibling package needs.

Like :mod:`ldn_outcomes.svgcore`, this package stands outside the layers: it imports numpy and
scipy and, from the project, only the cross-cutting :mod:`ldn_outcomes.errors`, so the evidence
hub and the analysis layer (which may not import each other) can share one implementation.
"""
