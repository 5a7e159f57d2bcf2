r"""Bayesian model of the daily scores: effect, linear time trend and AR(1) autocorrelation.

Model, for the analysed (post-washout, non-missing) days :math:`t` of the trial::

    y_t   = b0 + b1 * (t - mean t) / 30 + delta * LDN_t + s_period(t) + e_t
    s_p   ~ N(0, (r * sigma)^2)      (each period's own level shift, e.g. a cold, a bad month)
    e_t   = rho^g * e_{t-g} + u_t,   u_t ~ N(0, sigma^2 (1 - rho^(2g)) / (1 - rho^2))

where ``g`` is the gap in days to the previous analysed day (washout days and blanks leave
gaps; the AR(1) process is followed across them exactly) and the first day has the stationary
variance ``sigma^2 / (1 - rho^2)``. ``delta`` is LDN minus placebo in outcome points.

Prior (weakly informative, documented in ``docs/nof1.md``): given ``rho``, a conjugate
normal-inverse-gamma prior ``beta | sigma^2 ~ N(m0, sigma^2 V0)``, ``sigma^2 ~ IG(a0, b0)``
with ``m0 = (5, 0, 0)`` (mid-scale, no trend, no effect), ``V0 = diag(10^2, 1^2, 2^2)`` (the
effect has prior SD of 2 innovation SDs, i.e. about 2 points on a 0-10 scale) and
``a0 = b0 = 1``; ``rho`` uniform on a grid of 75 values from -0.9 to 0.95; the period
shifts' relative SD ``r`` half-normal with SD 0.5 on 16 values from 0 to 1.5 (0 = no shifts).
Without the period shifts the model is over-confident when periods differ for reasons other
than the drug (simulated false-positive rate 7.8% instead of 5%, see ``docs/nof1.md``).

Given ``rho`` the data are whitened (Prais-Winsten with gaps) and the posterior is closed
form (the period shifts are extra regression coefficients with their normal prior):
``delta`` is Student-t. ``rho`` and ``r`` are integrated out over the grid with weights
proportional to prior times the exact marginal likelihood. With ``rho`` fixed at 0, no
period shifts and the reference prior ``p(beta, sigma^2) ∝ 1/sigma^2`` the posterior of
``delta`` is the OLS t result (tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from ...errors import InsufficientData

RHO_GRID = np.linspace(-0.9, 0.95, 75)
PERIOD_RATIO_GRID = np.linspace(0.0, 1.5, 16)


@dataclass(frozen=True)
class Prior:
    mean: tuple[float, float, float] = (5.0, 0.0, 0.0)
    #: Prior variances in units of sigma^2 (intercept, trend per 30 days, effect).
    scale: tuple[float, float, float] = (100.0, 1.0, 4.0)
    a0: float = 1.0
    b0: float = 1.0
    rho_grid: tuple[float, ...] = field(default_factory=lambda: tuple(RHO_GRID))
    #: Grid for tau/sigma, the SD of a period's own level shift relative to sigma (0 = none).
    period_sd_ratios: tuple[float, ...] = field(default_factory=lambda: tuple(PERIOD_RATIO_GRID))
    #: Half-normal prior SD on tau/sigma.
    period_ratio_prior_sd: float = 0.5
    #: The improper reference prior p(beta, sigma^2) ∝ 1/sigma^2 (only with one rho value).
    reference: bool = False

    def describe(self) -> str:
        if self.reference:
            return "reference prior p(beta, sigma^2) ∝ 1/sigma^2, rho fixed"
        return (
            "beta | sigma^2 ~ N((5, 0, 0), sigma^2 diag(100, 1, 4)) for (intercept, trend per "
            "30 days, LDN effect); sigma^2 ~ InvGamma(1, 1); rho ~ uniform on "
            f"{len(self.rho_grid)} values in [{min(self.rho_grid):g}, {max(self.rho_grid):g}]; "
            "period shifts ~ N(0, (r sigma)^2) with r ~ half-normal(0.5) on "
            f"{len(self.period_sd_ratios)} values in [0, {max(self.period_sd_ratios):g}]"
        )


DEFAULT_PRIOR = Prior()


@dataclass(frozen=True)
class Posterior:
    """Posterior of the LDN effect, a mixture over rho of Student-t distributions."""

    rho: np.ndarray
    weights: np.ndarray
    loc: np.ndarray
    scale: np.ndarray
    df: np.ndarray
    n_days: int
    prior: Prior

    def cdf(self, value: float) -> float:
        z = (value - self.loc) / self.scale
        return float(np.sum(self.weights * stats.t.cdf(z, self.df)))

    @property
    def mean(self) -> float:
        return float(np.sum(self.weights * self.loc))

    @property
    def rho_mean(self) -> float:
        return float(np.sum(self.weights * self.rho))

    def quantile(self, q: float) -> float:
        low = float(np.min(self.loc - 60 * self.scale))
        high = float(np.max(self.loc + 60 * self.scale))
        return float(optimize.brentq(lambda v: self.cdf(v) - q, low, high, xtol=1e-10))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        tail = (1 - level) / 2
        return self.quantile(tail), self.quantile(1 - tail)

    def p_benefit(self, threshold: float, lower_is_better: bool) -> float:
        """P(LDN improves the outcome by at least ``threshold`` points) (0 = any improvement)."""
        if lower_is_better:
            return self.cdf(-threshold)
        return 1.0 - self.cdf(threshold)

    def p_harm(self, threshold: float, lower_is_better: bool) -> float:
        """P(LDN worsens the outcome by at least ``threshold`` points)."""
        return self.p_benefit(threshold, not lower_is_better)


def _cholesky(a: np.ndarray) -> np.ndarray:
    """Batched Cholesky factor of small SPD matrices (B, p, p) with element-wise numpy only.

    LAPACK through OpenBLAS starts threads for each tiny matrix, which on a busy machine is
    a hundred times slower than this loop over columns.
    """
    lower = np.zeros_like(a)
    size = a.shape[1]
    for j in range(size):
        head = lower[:, j, :j]
        diagonal = np.sqrt(a[:, j, j] - np.einsum("bk,bk->b", head, head))
        lower[:, j, j] = diagonal
        if j + 1 < size:
            below = a[:, j + 1 :, j] - np.einsum("bik,bk->bi", lower[:, j + 1 :, :j], head)
            lower[:, j + 1 :, j] = below / diagonal[:, None]
    return lower


def _forward(lower: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve L z = b for every batch member."""
    z = np.zeros_like(b)
    for i in range(b.shape[1]):
        z[:, i] = (b[:, i] - np.einsum("bk,bk->b", lower[:, i, :i], z[:, :i])) / lower[:, i, i]
    return z


def _backward(lower: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Solve L^T x = z for every batch member."""
    x = np.zeros_like(z)
    size = z.shape[1]
    for i in reversed(range(size)):
        tail = np.einsum("bk,bk->b", lower[:, i + 1 :, i], x[:, i + 1 :])
        x[:, i] = (z[:, i] - tail) / lower[:, i, i]
    return x


def design_matrix(day: np.ndarray, ldn: np.ndarray) -> np.ndarray:
    day = np.asarray(day, dtype=float)
    trend = (day - day.mean()) / 30.0
    return np.column_stack([np.ones_like(day), trend, np.asarray(ldn, dtype=float)])


def _whiten(
    y: np.ndarray, x: np.ndarray, day: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gap-aware Prais-Winsten transform for every rho at once; returns y~, X~, log|J|."""
    rho = rho[:, None]
    gaps = np.diff(day)[None, :].astype(float)
    stationary = np.sqrt(1.0 - rho**2)  # (R, 1)
    decay = rho**gaps  # (R, n-1)
    c = np.sqrt((1.0 - decay**2) / (1.0 - rho**2))  # (R, n-1)
    y_t = np.empty((rho.shape[0], y.size))
    y_t[:, :1] = stationary * y[0]
    y_t[:, 1:] = (y[None, 1:] - decay * y[None, :-1]) / c
    x_t = np.empty((rho.shape[0],) + x.shape)
    x_t[:, :1, :] = stationary[:, :, None] * x[None, :1, :]
    x_t[:, 1:, :] = (x[None, 1:, :] - decay[:, :, None] * x[None, :-1, :]) / c[:, :, None]
    log_jacobian = np.log(stationary[:, 0]) - np.log(c).sum(axis=1)
    return y_t, x_t, log_jacobian


def fit(
    day: np.ndarray,
    ldn: np.ndarray,
    y: np.ndarray,
    prior: Prior = DEFAULT_PRIOR,
    period: np.ndarray | None = None,
) -> Posterior:
    """Posterior of the LDN effect from analysed days (day index, LDN 0/1, value, period)."""
    day = np.asarray(day, dtype=float)
    order = np.argsort(day, kind="stable")
    day, ldn, y = day[order], np.asarray(ldn, dtype=float)[order], np.asarray(y, float)[order]
    n = y.size
    if n < 6 or ldn.min() == ldn.max():
        raise InsufficientData(
            f"the Bayesian model needs analysed days under both LDN and placebo (got {n} days)"
        )
    x = design_matrix(day, ldn)
    ratios = np.asarray(prior.period_sd_ratios, dtype=float)
    with_periods = period is not None and ratios.size > 0 and ratios.max() > 0
    if with_periods:
        assert period is not None
        labels = np.asarray(period)[order]
        levels = np.unique(labels)
        x = np.column_stack([x, (labels[:, None] == levels[None, :]).astype(float)])
    else:
        ratios = np.zeros(1)
    p = x.shape[1]
    rho = np.asarray(prior.rho_grid, dtype=float)
    if prior.reference and (rho.size != 1 or with_periods):
        raise ValueError("the reference prior is improper: fix rho to one value, no periods")
    y_t, x_t, log_j = _whiten(y, x, day, rho)
    xtx = np.einsum("rni,rnj->rij", x_t, x_t)
    xty = np.einsum("rni,rn->ri", x_t, y_t)
    yty = np.einsum("rn,rn->r", y_t, y_t)
    m0 = np.zeros(p)
    m0[:3] = prior.mean
    if prior.reference:
        precision0 = np.zeros((1, p, p))
        a0, b0 = -p / 2.0, 0.0
        log_prior_ratio = np.zeros(1)
    else:
        # One prior precision per period-SD ratio; ratio 0 removes the period effects.
        scales = np.empty((ratios.size, p))
        scales[:, :3] = prior.scale
        scales[:, 3:] = np.maximum(ratios, 1e-4)[:, None] ** 2
        precision0 = np.einsum("kp,pq->kpq", 1.0 / scales, np.eye(p))
        a0, b0 = prior.a0, prior.b0
        # Half-normal prior on the ratio, as weights over the grid.
        log_prior_ratio = -0.5 * (ratios / prior.period_ratio_prior_sd) ** 2
    # Combine every rho (r) with every ratio (k): axis 0 = r * K + k.
    big = rho.size * precision0.shape[0]
    precision_n = (xtx[:, None] + precision0[None]).reshape(big, p, p)
    prior_term = np.einsum("kpq,q->kp", precision0, m0)
    rhs = (xty[:, None, :] + prior_term[None]).reshape(big, p)
    chol = _cholesky(precision_n)
    m_n = _backward(chol, _forward(chol, rhs))
    unit = np.zeros_like(rhs)
    unit[:, 2] = 1.0
    effect_variance = np.sum(_forward(chol, unit) ** 2, axis=1)  # (P^-1)[2, 2]
    quad0 = np.einsum("p,kpq,q->k", m0, precision0, m0)
    yty_b = (yty[:, None] + quad0[None]).reshape(big)
    a_n = a0 + n / 2.0
    b_n = b0 + 0.5 * (yty_b - np.einsum("bi,bi->b", m_n, rhs))
    if np.any(b_n <= 0):
        raise InsufficientData("the daily values have no variation left to estimate from")
    rho_b = np.repeat(rho, precision0.shape[0])
    if prior.reference:
        weights = np.ones(1)
    else:
        logdet_n = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        logdet_0 = np.tile(np.log(1.0 / scales).sum(axis=1), rho.size)
        log_ml = (
            -n / 2.0 * np.log(2 * np.pi)
            + 0.5 * (logdet_0 - logdet_n)
            + a0 * np.log(b0)
            - a_n * np.log(b_n)
            + special.gammaln(a_n)
            - special.gammaln(a0)
            + np.repeat(log_j, precision0.shape[0])
            + np.tile(log_prior_ratio, rho.size)
        )
        weights = np.exp(log_ml - log_ml.max())
        weights /= weights.sum()
    df = np.full(rho_b.size, 2.0 * a_n)
    scale = np.sqrt(b_n / a_n * effect_variance)
    return Posterior(rho_b, weights, m_n[:, 2], scale, df, n, prior)
