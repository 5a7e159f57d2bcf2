"""Numerical fast paths and estimators: Cox regression, logistic regression, rate models,
survival curves and the vectorised confirmed-disability-worsening rule.

Arrays and frames in, numbers out: nothing here knows about registry tables, plans or cohorts,
and each fast path is tested against its reference implementation (R, statsmodels, lifelines or
the domain rule).
"""
