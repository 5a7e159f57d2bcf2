"""Analysis of personal (n-of-1) trials: estimate, randomisation test, Bayesian model, series.

See ``docs/nof1.md`` for the methods, the prior and the simulated operating characteristics.
"""
