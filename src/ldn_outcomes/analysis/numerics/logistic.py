"""Logistic regression by Newton-Raphson for large designs (the propensity model).

The same iteration as ``statsmodels.discrete.discrete_model.Logit(y, X).fit(method="newton")``
(start at zero; step ``-solve(H / n + 1e-10 I, g / n)`` with g and H the gradient and Hessian of
the negative log-likelihood; stop when no coefficient moves by more than ``tol``), written with
the same expressions so it gives the same coefficients, without what the general model does
besides on every call: the data checks, the rank of the design (a singular value decomposition
of a million rows) and the likelihood at every step. On 1.3 million candidate snapshots that is
a few seconds less per match. ``tests/analysis/test_logistic.py`` checks it against statsmodels.
"""

from __future__ import annotations

import numpy as np

RIDGE = 1e-10  # statsmodels' default ridge_factor for Newton


def _fitted(design: np.ndarray, params: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(np.dot(design, params) + 0.0)))


def logit_newton(
    y: np.ndarray, design: np.ndarray, maxiter: int = 50, tol: float = 1e-8
) -> np.ndarray:
    """Coefficients of the logistic regression of ``y`` (0/1) on ``design`` (with its own
    intercept column). Raises ``numpy.linalg.LinAlgError`` where the Hessian is singular."""
    y = np.asarray(y, dtype=float)
    design = np.asarray(design, dtype=float)
    nobs = y.shape[0]
    diagonal = np.diag_indices(design.shape[1])
    new = np.asarray([0.0] * design.shape[1])
    old: np.ndarray | float = np.inf
    iterations = 0
    while iterations < maxiter and np.any(np.abs(new - old) > tol):
        fitted = _fitted(design, new)  # the model's gradient and Hessian at the same point
        hessian = np.dot(fitted * (1 - fitted) * design.T, design) / nobs  # sign flips cancel
        hessian[diagonal] += RIDGE
        old = new
        new = old - np.linalg.solve(hessian, -np.dot(y - fitted, design) / nobs)
        iterations += 1
    fitted = _fitted(design, new)
    np.linalg.inv(np.dot(fitted * (1 - fitted) * design.T, design) / nobs)  # as statsmodels
    return new
