"""E-values: how strong unmeasured confounding would have to be to explain an estimate away.

VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the
E-value. Ann Intern Med 2017;167:268-274, doi 10.7326/M16-2607. For a risk ratio RR >= 1,

    E = RR + sqrt(RR (RR - 1))

(for RR < 1 use 1/RR): the minimum strength of association, on the risk-ratio scale, that an
unmeasured confounder would need with both LDN use and the outcome, beyond the measured
covariates, to move the estimate to the null. The E-value of the interval is that of the limit
closer to the null, and 1 when the interval includes the null.

Other measures are first put on the risk-ratio scale as the paper does: a rate ratio, or a
hazard ratio of an outcome that stays rare (< 15% by the end of follow-up), as it is; a hazard
ratio of a common outcome by RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)); a difference in
means by the standardised difference d = difference / SD of the outcome, RR = exp(0.91 d), with
interval exp(0.91 d -/+ 1.78 SE(d)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..results import REGISTRY_SOURCE


@dataclass(frozen=True)
class EValue:
    point: float
    interval: float
    #: the estimate on the risk-ratio scale the E-value was computed from
    risk_ratio: float

    def sentence(self, what: str, source: str = REGISTRY_SOURCE) -> str:
        """The figure in plain words (``source``: the data, as the messages name it)."""
        if self.interval <= 1.0:
            tail = (
                "The 95% interval already includes no effect, so no unmeasured factor is needed "
                "to make it compatible with none."
            )
        else:
            tail = (
                f"To move the 95% interval to include no effect, {self.interval:.2f} would be "
                "enough."
            )
        return (
            f"E-value {self.point:.2f}: to explain away {what} entirely, a factor {source} "
            f"does not record would have to make both starting LDN and the outcome "
            f"{self.point:.2f} times as likely (on the risk-ratio scale), over and above "
            f"everything matched on. {tail}"
        )


def e_value_of_ratio(rr: float) -> float:
    """E-value of a point estimate on the risk-ratio scale."""
    if not (math.isfinite(rr) and rr > 0):
        return float("nan")
    rr = 1.0 / rr if rr < 1.0 else rr
    return rr + math.sqrt(rr * (rr - 1.0))


def e_value_ratio(estimate: float, low: float, high: float) -> EValue:
    """E-values of a risk or rate ratio (or a hazard ratio of a rare outcome) and its CI."""
    limit = low if estimate > 1.0 else high
    interval = 1.0 if low <= 1.0 <= high else e_value_of_ratio(limit)
    return EValue(e_value_of_ratio(estimate), interval, estimate)


def hazard_to_risk_ratio(hr: float) -> float:
    """Common outcome (>= 15% by the end of follow-up): VanderWeele & Ding's conversion."""
    return (1.0 - 0.5 ** math.sqrt(hr)) / (1.0 - 0.5 ** math.sqrt(1.0 / hr))


def e_value_hazard_ratio(estimate: float, low: float, high: float, rare: bool) -> EValue:
    if rare:
        return e_value_ratio(estimate, low, high)
    return e_value_ratio(
        hazard_to_risk_ratio(estimate), hazard_to_risk_ratio(low), hazard_to_risk_ratio(high)
    )


def e_value_difference(difference: float, se: float, outcome_sd: float) -> EValue:
    """A difference in means via the standardised difference, RR ~ exp(0.91 d)."""
    if not (outcome_sd > 0 and math.isfinite(difference) and math.isfinite(se)):
        nan = float("nan")
        return EValue(nan, nan, nan)
    d, se_d = difference / outcome_sd, se / outcome_sd
    return e_value_ratio(
        math.exp(0.91 * d), math.exp(0.91 * d - 1.78 * se_d), math.exp(0.91 * d + 1.78 * se_d)
    )
