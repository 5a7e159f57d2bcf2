"""Matched comparisons: LDN starters matched to non-users at the same date on their prior
course. ``match.match_users`` runs the steps: index dates, eligibility and pseudo-starts
(``candidates``, on the point-in-time snapshots of ``trajectories``), the propensity model
(``propensity``), caliper matching (``nearest``), then the matched cohort with its follow-up
and weights and the balance the bias diagnostics read (``match``)."""
