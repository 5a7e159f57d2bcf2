"""The analysis plan: every option, outcome and window, fixed before a run.

The plan is a frozen dataclass; its canonical JSON (sorted keys, no whitespace) is hashed with
SHA-256 and the hash is recorded with every set of results, so a reader can tell whether two
result sets came from the same plan (OHDSI CohortMethod records its analysis settings the
same way).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

from ..domain.definitions.cdw_baseline import REFERENCES
from ..errors import Problem, ValidationFailed

#: How matched comparisons' SEs are clustered (``numerics.clusters``).
MatchedSeClusters = Literal["match_set_and_person", "match_set"]


@dataclass(frozen=True)
class AnalysisPlan:
    alpha: float = 0.05
    seed: int = 20261125
    #: Fewer LDN users than this: no estimate, an InsufficientData message instead.
    min_ldn_users: int = 5
    # Progression (confirmed disability worsening, fixed baseline, 12-week confirmation)
    horizons_years: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0)
    #: 12-week confirmation, the convention of MS trials and of pymsprog's default.
    cdw_confirmation_days: int = 84
    cdw_baseline_lookback_days: int = 365
    #: The reference EDSS of CDW (``domain.definitions.cdw_baseline``): the first valid EDSS
    #: after the (pseudo-)start within ``cdw_baseline_lookback_days``, follow-up counted from
    #: it (delayed entry), so that the scores matching compared people on are not also the
    #: yardstick of their worsening; or the last valid one before the start (a sensitivity
    #: analysis; docs/analysis.md, "Where the progression lean came from").
    cdw_reference: Literal["first_after_start", "last_before_start"] = "first_after_start"
    #: With ``cdw_reference="last_before_start"``: a relapse between that EDSS and the start
    #: moves the reference to the first valid EDSS after it (it may fall after the start), so
    #: that the disability an attack before the start left is not counted as an outcome.
    cdw_rebaseline_after_prestart_relapse: bool = True
    #: The matched progression hazard ratio gets a baseline hazard of its own for people on a
    #: disease-modifying drug (DMT) at the (pseudo-)start and for those on none (a stratified
    #: Cox model, R ``coxph`` ``strata()``): people on a DMT start LDN less often and have
    #: fewer relapses, so after matching the users were less often on one and had more
    #: relapse-associated worsening without any effect of LDN (docs/analysis.md, "Progression:
    #: the lean was relapse-associated worsening"). False: one baseline hazard.
    cdw_strata_dmt: bool = True
    #: Stopping LDN ends follow-up unless the gap to a restart is at most this long.
    ldn_course_gap_days: int = 30
    #: No contact for this long before the data cut-off counts as having left the registry.
    lost_to_follow_up_days: int = 365
    # Relapses (qualified by the domain rule: >= 24 h, no fever/infection, 30 days apart)
    #: Count reports whose duration or fever status was not recorded (domain default: no).
    count_unconfirmed_relapses: bool = False
    relapse_window_years: float = 2.0
    #: "Weeks right before the start" left out of the pre-LDN window (regression to the mean).
    pre_start_exclusion_days: int = 90
    relapse_model: Literal["poisson_gee", "negbin"] = "poisson_gee"
    #: Regression adjustment after matching (Ho, Imai, King & Stuart 2007, Polit Anal 15:199,
    #: doi 10.1093/pan/mpl013): the headline rate model also takes each person's relapse
    #: counts in these windows before the (pseudo-)start, (0, b1], (b1, b2], ... days, capped
    #: at ``relapse_exact_cap``, and the years observed before it. Empty: no adjustment.
    relapse_adjust_bins_days: tuple[int, ...] = (90, 365, 730)
    # Symptoms
    symptom_instruments: tuple[str, ...] = ("mfis", "fss", "nrs-fatigue", "nrs-spasticity")
    symptom_months: tuple[int, ...] = (3, 6, 12)
    symptom_tolerance_days: tuple[int, ...] = (45, 60, 90)
    symptom_baseline_days: int = 90
    #: The matched difference in change also takes the baseline score as a covariate (ANCOVA;
    #: Vickers & Altman 2001, BMJ 323:1123, doi 10.1136/bmj.323.7321.1123; regression after
    #: matching, Ho et al. 2007, doi 10.1093/pan/mpl013): matched users' baseline scores stay
    #: above their controls' (people start at a peak), and without it the regression to the mean
    #: of that gap reads as a benefit (docs/analysis.md, "Fatigue: the baseline gap").
    symptom_adjust_baseline: bool = True
    #: The matched difference also takes the instrument's earlier scores as covariates: the
    #: score at each trajectory point before the (pseudo-)start (12, 9, 6 and 3 months with the
    #: default ``history_days``; read as matching reads its fatigue trajectory,
    #: ``matching.trajectories.offsets``), rows without a score before the baseline one getting
    #: their own intercept and baseline slope (``outcomes.symptom_difference``; regression
    #: adjustment after matching, Ho et al. 2007). One noisy baseline score cannot tell a
    #: person's usual level from a passing peak: with it alone the fatigue difference leant
    #: towards harm on simulated registries of 10,000 patients, and these scores took out a
    #: third to a half of that lean and narrowed the interval by about a tenth
    #: (docs/analysis.md, "Fatigue: one baseline score is not the usual level").
    symptom_adjust_history: bool = True
    #: With ``symptom_adjust_history``, the model also takes the mean of every score the row's
    #: person recorded before the baseline one, however long ago (repeated baseline measures
    #: summarised by their mean: Frison & Pocock 1992, Stat Med 11:1685, doi
    #: 10.1002/sim.4780111304). The trajectory points read at most four scores from the last
    #: two years; the mean of all of them measures the usual level with less noise. Rows
    #: without an earlier score at those points keep their own pattern (no mean).
    symptom_adjust_earlier_mean: bool = True
    mixed_model_max_patients: int = 250
    # Relapse recovery
    recovery_max_days: int = 730
    #: "LDN started during the attack" (docs/analysis.md, section 4, compares this rule with
    #: the domain's ``started_during_attack``). Which course may be the one started: "first"
    #: (the patient's first course, whose start is the index day of every other analysis) or
    #: "any" course, courses being exposures joined across gaps of ``ldn_course_gap_days``.
    #: The domain rule is "any" with a gap of 1 day (only touching exposures join).
    attack_course: Literal["first", "any"] = "first"
    #: A course started more than this many days after the onset does not count, even before
    #: a later recorded recovery (None: no bound, as in the domain rule).
    attack_max_days: int | None = 90
    #: A relapse without a recovery date (for a course started after its onset the domain
    #: cannot tell whether it was during the attack): "complete_case" leaves it out of every
    #: group, a missing date being missing data (Hughes et al. 2019, Int J Epidemiol 48:1294,
    #: doi 10.1093/ije/dyz032); "ongoing" reads it as not recovered by the last contact (at
    #: most ``recovery_max_days``) and as still going at an LDN start within
    #: ``attack_max_days`` (a sensitivity analysis, biased when dates are merely missing;
    #: docs/analysis.md, section 4).
    attack_unrecorded_recovery: Literal["complete_case", "ongoing"] = "complete_case"
    #: The reference distribution of the recovery hazard ratios' intervals. Their robust SE
    #: is clustered on the patient, and the part that moves with the LDN coefficient rests on
    #: the few patients of the treated attacks (about 20 in a registry of 1,200, 50 of 3,000):
    #: "t" reads exp(b ± t·SE) with Student's t on (those patients − 1) degrees of freedom
    #: (Imbens & Kolesar, "Robust standard errors in small samples: some practical advice",
    #: NBER working paper 18478, after Bell & McCaffrey 2002); "normal" takes 1.96. The
    #: normal interval covered 92.3-92.7% without an effect on simulated registries of
    #: 1,200 and 3,000 patients (docs/analysis.md, "Relapse recovery: a t reference").
    recovery_reference: Literal["t", "normal"] = "t"
    # Matching
    matching_method: Literal["trajectory", "propensity"] = "trajectory"
    matches_per_user: int = 3
    history_days: int = 365
    grid_days: int = 91
    caliper_age_years: float = 5.0
    caliper_duration_years: float = 5.0
    #: Largest total distance (area between trajectories plus age/duration terms, SD units).
    caliper_distance: float = 6.0
    #: Candidates drawn per user in each (phenotype, date) block, at random with ``seed``, to
    #: bound time and memory; the estimates vary with the seed by about a third of their SE.
    #: None searches every candidate (no seed dependence, but intervals up to 4% narrower
    #: without the spread falling: worse coverage at 1,200 patients; docs/analysis.md, "The
    #: analysis seed"), so the calibrated default stays.
    candidate_pool_per_user: int | None = 60
    fatigue_instrument: str = "mfis"
    #: Exact matching on relapse history: counts of qualifying relapses in each of these
    #: windows before the (pseudo-)start, (0, b1], (b1, b2], ... days, capped at
    #: ``relapse_exact_cap`` (coarsened exact matching). Empty: relapses enter the distance only.
    relapse_exact_bins_days: tuple[int, ...] = ()
    relapse_exact_cap: int = 2
    #: Exact matching on being on a disease-modifying drug (DMT) at the (pseudo-)start:
    #: candidates drawn within the user's DMT status, as for the relapse stratum. Off by
    #: default: on simulated registries it balanced the DMT exactly but moved the relapse and
    #: negative-control ratios down by 0.01-0.03 on the log scale and the progression ratio by
    #: less than 0.01 (paired on the same registries; docs/analysis.md, "DMT matched"). The DMT is
    #: shown in the balance table either way.
    exact_match_dmt: bool = False
    #: 0.2 SD of the logit of the propensity score (Austin 2011, Pharm Stat 10:150,
    #: doi 10.1002/pst.433).
    propensity_caliper_sd: float = 0.2
    #: Matched comparisons: follow users after stopping and controls after a later start
    #: ("intention_to_treat", the effect of starting), or censor both there ("as_treated";
    #: biased when stopping or starting follows worsening, as it does).
    matched_follow_up: Literal["intention_to_treat", "as_treated"] = "intention_to_treat"
    #: Robust SEs of matched comparisons: clustered on the match set and the person at once
    #: (two-way; Cameron, Gelbach & Miller 2011, J Bus Econ Stat 29:238; Austin & Cafri 2020,
    #: Stat Med 39:1623, doi 10.1002/sim.8502), since matching is with replacement and one
    #: person can be in several match sets; or on the match set only (``numerics.clusters``).
    matched_se_clusters: MatchedSeClusters = "match_set_and_person"
    #: Balance target for standardised mean differences (Austin 2009, Stat Med 28:3083,
    #: doi 10.1002/sim.3697, PMC3472075: 0.1 as the threshold some authors apply).
    smd_target: float = 0.1
    # Diagnostics
    negative_control_class: str = "supplement"
    power: float = 0.8
    #: Empirical equipoise: preference score in [0.3, 0.7] (Walker et al. 2013, see
    #: docs/analysis.md).
    equipoise_bounds: tuple[float, float] = (0.3, 0.7)
    # Labs
    lab_before_days: int = 180
    lab_after_days: tuple[int, int] = (28, 365)

    def __post_init__(self) -> None:
        """Refuse, when the plan is built, CDW options the registry-wide scan cannot honour
        (``numerics.cdw.check_options`` refuses the domain options it does not implement) and
        an SE clustering the matched models do not know, each naming the option and its rule."""
        clusterings = get_args(MatchedSeClusters)
        checks = [
            (
                self.cdw_confirmation_days > 0,
                "cdw_confirmation_days",
                "must be a positive number of days",
            ),
            (
                self.cdw_reference in REFERENCES,
                "cdw_reference",
                "must be one of: " + ", ".join(REFERENCES),
            ),
            (
                self.cdw_reference != "first_after_start" or self.cdw_baseline_lookback_days >= 1,
                "cdw_baseline_lookback_days",
                "must be at least 1 day when the reference EDSS is the first after the "
                "start (a window of 0 days holds no visit after it)",
            ),
            (
                self.matched_se_clusters in clusterings,
                "matched_se_clusters",
                "must be one of: " + ", ".join(clusterings),
            ),
        ]
        problems = [
            Problem("plan", name, rule, value=getattr(self, name))
            for ok, name, rule in checks
            if not ok
        ]
        if problems:
            raise ValidationFailed(problems)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def plan_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def with_options(self, **changes: Any) -> AnalysisPlan:
        return replace(self, **changes)
