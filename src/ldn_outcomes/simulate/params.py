"""The simulator's parameters: typed, documented, each default with its source.

Every field carries ``metadata["source"]``: a citation (PMID, DOI, NCT id or URL) where the
number comes from the literature, or the word ``assumption`` followed by the reason, where no
published estimate was found and the value only has to be plausible. ``describe()`` lists them
all (the table in ``docs/simulator.md`` is produced from it).

Parameters can be read from TOML (``SimulationParams.from_toml``) with one table per group,
e.g. ``[relapses] base_rate_rr = 0.4``; unknown keys are refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, Problem, ValidationFailed
from .sources import (
    AMTMANN_2012,
    ASSUMPTION,
    KOCH_2010,
    LEARMONTH_2013,
    LUBLIN_2003,
    MSBASE_SEX,
    NOSEWORTHY_1990,
    ORATORIO,
    TREMLETT_2008,
    p,
)


@dataclass(frozen=True)
class CohortParams:
    """Who is in the registry when they enter it."""

    female_share: float = p(
        0.75,
        "female:male ratio about 3:1: " + MSBASE_SEX + " (introduction); "
        "Dilokthornsakul P et al. Neurology 2016;86:1014, doi 10.1212/WNL.0000000000002469 "
        "(women 3.13 times more likely)",
    )
    ppms_share: float = p(0.087, "1,373 of 15,826 MSBase registrants had PPMS: " + MSBASE_SEX)
    onset_age_mean: float = p(
        30.0,
        "mean onset age 29.4 years in adult-onset MS (Isfahan cohort, J Clin Med 2020, PMC7290335)",
        unit="years",
    )
    onset_age_sd: float = p(8.0, ASSUMPTION + ": spread of onset ages 16-60", unit="years")
    ppms_onset_age_shift: float = p(
        10.0, ASSUMPTION + ": primary progressive onset is later on average", unit="years"
    )
    duration_at_entry_mean: float = p(
        8.0, ASSUMPTION + ": a prevalent registry cohort, gamma(2) distributed", unit="years"
    )
    diagnostic_delay_mean: float = p(
        1.5, ASSUMPTION + ": exponential delay from first symptoms to diagnosis", unit="years"
    )
    entry_spread: float = p(
        0.3,
        ASSUMPTION + ": registry entry spread uniformly over the first 30% of the window",
        unit="share of window",
    )
    edss_slope_entry: float = p(
        0.12,
        "annual EDSS change 0.112-0.133 in relapse-onset MS: "
        + MSBASE_SEX
        + "; used to place EDSS at entry from disease duration",
        unit="EDSS/year",
    )
    sites: int = p(20, ASSUMPTION + ": number of sites (capped by patients/100)")
    clinicians_per_site: int = p(2, ASSUMPTION)
    id_prefix: str = p("sim", ASSUMPTION + ": patient ids are <prefix>-<number>")


@dataclass(frozen=True)
class RelapseParams:
    """Relapse intensity by phase, its decline, severity and recovery."""

    base_rate_rr: float = p(
        0.26,
        "placebo ARR 0.260 in newly diagnosed RRMS, DEFINE/CONFIRM years 0-2 "
        "(Neurol Ther 2016, doi 10.1007/s40120-016-0042-8)",
        unit="relapses/year",
    )
    base_rate_sp: float = p(
        0.2,
        "EXPAND (NCT01665144, Lancet 2018 doi 10.1016/S0140-6736(18)30475-6): 64% of SPMS "
        "patients relapse-free over 2 years; Poisson rate -ln(0.64)/2 = 0.22",
        unit="relapses/year",
    )
    base_rate_pp: float = p(0.05, ASSUMPTION + ": relapses are rare in PPMS", unit="relapses/year")
    decline_per_5_years: float = p(
        0.83,
        "relapse rate decreased by 17% every 5 years of disease: " + TREMLETT_2008,
        unit="ratio per 5 years",
    )
    frailty_shape: float = p(
        2.0, ASSUMPTION + ": gamma frailty (mean 1) for overdispersed relapse counts"
    )
    pseudo_rate: float = p(
        0.03,
        ASSUMPTION + ": pseudo-relapses (fever/infection or < 24 h) per year",
        unit="events/year",
    )
    severity_shares: tuple[float, float, float] = p(
        (0.4, 0.45, 0.15), ASSUMPTION + ": mild, moderate, severe"
    )
    recovery_median_days: tuple[float, float, float] = p(
        (30.0, 50.0, 80.0),
        ASSUMPTION + ": median recovery by severity; residual deficit was "
        "assessed at 64 days on average in " + LUBLIN_2003,
        unit="days",
    )
    recovery_log_sd: float = p(0.5, ASSUMPTION + ": lognormal spread of recovery times")
    residual_half_step: float = p(
        0.14, "42% had >= 0.5 and 28% >= 1.0 EDSS residual: " + LUBLIN_2003 + " (0.42-0.28)"
    )
    residual_full_step: float = p(0.28, LUBLIN_2003)
    edss_bump_during_attack: float = p(
        1.0, ASSUMPTION + ": EDSS measured during an attack reads higher", unit="EDSS points"
    )
    steroid_share: tuple[float, float, float] = p(
        (0.2, 0.6, 0.9), ASSUMPTION + ": share steroid-treated by severity"
    )
    clinic_visit_share: float = p(
        0.6, ASSUMPTION + ": relapses seen (and EDSS scored) in clinic within 3-21 days"
    )


@dataclass(frozen=True)
class ProgressionParams:
    """Disability worsening independent of relapses (PIRA) and conversion to SPMS."""

    spms_hazard: float = p(0.0324, KOCH_2010, unit="per year")
    pira_rate_rr: float = p(
        0.03,
        "derived: MSBase EDSS slope 0.12/year in relapse-onset MS (" + MSBASE_SEX + ") minus "
        "the relapse-associated part (0.26 relapses/year x 0.35 EDSS residual, Lublin 2003)",
        unit="steps/year",
    )
    pira_rate_sp: float = p(
        0.22, ASSUMPTION + ": taken equal to the PPMS rate (" + ORATORIO + ")", unit="steps/year"
    )
    pira_rate_pp: float = p(0.22, ORATORIO, unit="steps/year")
    edss_max: float = p(9.5, ASSUMPTION + ": latent EDSS capped below 10 (death)")


@dataclass(frozen=True)
class EdssParams:
    """Clinic visits and the rater's measurement error."""

    visit_interval_days: tuple[int, int] = p(
        (182, 365), "issue 4: clinic visits roughly every 6-12 months (uniform)", unit="days"
    )
    rater_error_probs: tuple[float, float, float] = p(
        (0.69, 0.23, 0.08), "P(0), P(+-1 step), P(+-2 steps) of 0.5: " + NOSEWORTHY_1990
    )


@dataclass(frozen=True)
class FatigueParams:
    """One latent fatigue level (in SD units) drives every fatigue instrument."""

    mfis_mean: float = p(44.2, AMTMANN_2012, unit="MFIS points")
    mfis_sd: float = p(17.0, ASSUMPTION + ": between-person SD (not verified)", unit="MFIS points")
    fss_mean: float = p(5.1, AMTMANN_2012, unit="FSS points")
    fss_sd: float = p(1.4, ASSUMPTION + ": between-person SD (not verified)", unit="FSS points")
    nrs_mean: float = p(5.0, ASSUMPTION + ": daily 0-10 fatigue NRS", unit="NRS points")
    nrs_sd: float = p(2.0, ASSUMPTION, unit="NRS points")
    trait_share: float = p(
        0.863, "share of variance that is stable: MFIS 6-month ICC, " + LEARMONTH_2013
    )
    monthly_autocorrelation: float = p(
        0.8, ASSUMPTION + ": AR(1) month-to-month correlation of the state part"
    )
    response_noise_sd: float = p(
        0.25, ASSUMPTION + ": extra noise of one questionnaire response", unit="SD units"
    )
    daily_noise_sd: float = p(0.6, ASSUMPTION + ": day-to-day noise", unit="SD units")
    relapse_flare: float = p(1.0, ASSUMPTION + ": fatigue rises during an attack", unit="SD units")
    flare_monthly_decay: float = p(0.5, ASSUMPTION)
    edss_coefficient: float = p(
        0.1, ASSUMPTION + ": fatigue rises with disability", unit="SD per EDSS point above 3"
    )
    spasm_base: float = p(3.0, ASSUMPTION + ": daily spasm NRS at EDSS 3", unit="NRS points")
    spasm_per_edss: float = p(0.6, ASSUMPTION, unit="NRS points per EDSS point")
    sleep_mean: float = p(6.0, ASSUMPTION + ": sleep quality NRS (higher is better)")
    vivid_dreams_off: float = p(0.05, ASSUMPTION + ": nights with vivid dreams, off LDN")
    vivid_dreams_on: float = p(
        0.2,
        ASSUMPTION + ": vivid dreams are a commonly reported LDN side effect; rate not verified",
    )


@dataclass(frozen=True)
class ReportingParams:
    """Who reports what, how often, and who leaves."""

    checkin_user_share: float = p(0.25, ASSUMPTION + ": patients using the daily check-in")
    checkin_daily_prob: float = p(0.12, ASSUMPTION + ": chance of a check-in on a given day")
    checkin_engagement_sd: float = p(0.7, ASSUMPTION + ": between-person SD on the logit")
    checkin_churn_per_year: float = p(0.15, ASSUMPTION + ": check-in users who stop per year")
    pro_reporter_share: float = p(0.7, ASSUMPTION + ": patients answering MFIS/FSS")
    mfis_monthly_prob: float = p(0.2, ASSUMPTION + ": about one MFIS every 5 months")
    fss_monthly_prob: float = p(0.1, ASSUMPTION)
    worse_reporting_log_odds: float = p(
        0.4, ASSUMPTION + ": people report more when they feel worse (per SD of fatigue)"
    )
    dropout_per_year: float = p(0.05, ASSUMPTION + ": registry loss to follow-up")
    dropout_worse_log_hazard: float = p(
        0.3, ASSUMPTION + ": informative dropout, per SD of fatigue above the trait"
    )


@dataclass(frozen=True)
class UptakeParams:
    """How people start and stop LDN (and, identically, the negative-control supplement)."""

    base_start_per_year: float = p(
        0.03, ASSUMPTION + ": LDN starts per untreated person-year in a registry of interest"
    )
    relapse_log_hazard: float = p(
        2.0,
        ASSUMPTION + ": starting right after a relapse is much more likely (regression to "
        "the mean)",
    )
    fatigue_state_log_hazard: float = p(
        0.8, ASSUMPTION + ": per SD of fatigue above the person's own usual level (fatigue peak)"
    )
    fatigue_trait_log_hazard: float = p(
        0.4, ASSUMPTION + ": per SD of usual fatigue (self-selection)"
    )
    dmt_log_hazard: float = p(-0.3, ASSUMPTION + ": people on a DMT start a little less often")
    restart_factor: float = p(0.5, ASSUMPTION + ": a second course is less likely")
    start_delay_days: tuple[int, int] = p(
        (7, 45), ASSUMPTION + ": days from relapse onset to a relapse-triggered start"
    )
    stop_per_year: float = p(0.2, ASSUMPTION + ": discontinuations per person-year on LDN")
    stop_relapse_log_hazard: float = p(
        1.5, ASSUMPTION + ": a relapse on the product (LDN, or the supplement) prompts stopping it"
    )
    stop_worse_log_hazard: float = p(
        0.7, ASSUMPTION + ": per SD of fatigue above its level at the start"
    )
    adherence_beta: tuple[float, float] = p(
        (8.0, 2.0), ASSUMPTION + ": per-person share of doses taken ~ Beta(8, 2), mean 0.8"
    )
    titration_share: float = p(
        0.6, ASSUMPTION + ": courses that titrate 1.5 -> 3.0 -> 4.5 mg, 14 days per step"
    )
    fixed_doses: tuple[float, float, float] = p(
        (1.5, 3.0, 4.5),
        "LDN is taken at 1-5 mg daily: Toljan K, Vrooman B. Med Sci 2018;6:82, "
        "doi 10.3390/medsci6040082",
        unit="mg",
    )
    fixed_dose_shares: tuple[float, float, float] = p(
        (0.1, 0.2, 0.7), ASSUMPTION + ": 4.5 mg is the most common fixed dose"
    )
    bedtime_share: float = p(0.85, ASSUMPTION + ": LDN is traditionally taken at bedtime")
    vivid_dreams_ae_share: float = p(
        0.1, ASSUMPTION + ": starters who report vivid dreams as an adverse event"
    )
    insomnia_ae_share: float = p(0.05, ASSUMPTION)
    supplement_base_start_per_year: float = p(
        0.03, ASSUMPTION + ": the negative control starts as often as LDN, for the same reasons"
    )


@dataclass(frozen=True)
class DmtParams:
    """Disease-modifying therapy: a confounder with a known effect on relapses."""

    share_relapsing: float = p(0.6, ASSUMPTION + ": relapsing-onset patients on a DMT")
    share_ppms: float = p(0.1, ASSUMPTION + ": PPMS patients on ocrelizumab")
    relapse_rate_ratio: float = p(
        0.7,
        "interferons beta reduce the relapse rate by about 30%: Confavreux C, Vukusic S. "
        "Clin Neurol Neurosurg 2006;108:327-32",
        unit="rate ratio",
    )
    drugs: tuple[str, ...] = p(
        (
            "glatiramer acetate",
            "interferon beta-1a",
            "dimethyl fumarate",
            "ocrelizumab",
            "natalizumab",
        ),
        "real DMT names; RxNorm codes left blank (not verified here)",
    )
    drug_shares: tuple[float, ...] = p((0.25, 0.2, 0.25, 0.2, 0.1), ASSUMPTION)
    stop_at_spms_share: float = p(0.5, ASSUMPTION + ": DMT stopped after SPMS conversion")


@dataclass(frozen=True)
class EffectParams:
    """The true effects of LDN (the knobs). Default: all null."""

    relapse_rate_ratio: float = p(1.0, "knob --effect-relapse (rate ratio on LDN)")
    progression_hazard_ratio: float = p(1.0, "knob --effect-progression (hazard ratio, PIRA)")
    fatigue_points: float = p(
        0.0,
        "knob --effect-fatigue: MFIS points while on LDN (negative = less fatigue); FSS "
        "and NRS move by the same number of SDs",
        unit="MFIS points",
    )
    relapse_recovery_ratio: float = p(
        1.0,
        "knob --effect-relapse-recovery: recovery time ratio for attacks on LDN or during "
        "which LDN is started",
    )
    heterogeneity_sd: float = p(
        0.0,
        "knob --heterogeneity: SD of a per-patient responder score; ratios vary "
        "log-normally around the knob (median), fatigue points mean-preserving",
    )


@dataclass(frozen=True)
class ConfoundingParams:
    """Confounding that matching cannot remove: a factor the registry never records.

    Each patient has a standard normal score U (drawn from its own random stream, so the knob
    leaves every other draw unchanged). With ``strength`` s > 0 the same U raises the hazard of
    starting LDN (and the negative-control supplement) by exp(s U) and improves the natural
    course that follows: relapse and worsening rates times exp(coefficient x s x U), fatigue
    drifting by coefficient x s x U SD per year. Default 0: off.
    """

    strength: float = p(
        0.0,
        "knob --confounding: log hazard ratio of starting per SD of the unrecorded factor "
        "(0 = off)",
    )
    relapse_log_rate: float = p(
        -0.5, ASSUMPTION + ": relapse log rate per SD of the factor, per unit of strength"
    )
    pira_log_rate: float = p(
        -0.5, ASSUMPTION + ": worsening log rate per SD of the factor, per unit of strength"
    )
    fatigue_sd_per_year: float = p(
        -0.15,
        ASSUMPTION + ": fatigue drift per SD of the factor, per unit of strength",
        unit="SD units per year",
    )


@dataclass(frozen=True)
class SimulationParams:
    """Everything one simulated registry depends on (with the seed, it fixes the output)."""

    patients: int = p(2000, "CLI --patients")
    years: float = p(5.0, "CLI --years: length of the observation window", unit="years")
    seed: int = p(0, "CLI --seed")
    end_date: dt.date = p(
        dt.date(2025, 12, 31), "fixed end of follow-up (never the wall clock: determinism)"
    )
    cohort: CohortParams = field(default_factory=CohortParams)
    relapses: RelapseParams = field(default_factory=RelapseParams)
    progression: ProgressionParams = field(default_factory=ProgressionParams)
    edss: EdssParams = field(default_factory=EdssParams)
    fatigue: FatigueParams = field(default_factory=FatigueParams)
    reporting: ReportingParams = field(default_factory=ReportingParams)
    uptake: UptakeParams = field(default_factory=UptakeParams)
    dmt: DmtParams = field(default_factory=DmtParams)
    effects: EffectParams = field(default_factory=EffectParams)
    confounding: ConfoundingParams = field(default_factory=ConfoundingParams)

    def __post_init__(self) -> None:
        """Out-of-range values are input errors (exit 2), each naming its parameter."""
        problems: list[Problem] = []

        def check(ok: bool, name: str, rule: str, value: Any) -> None:
            if not ok:
                problems.append(Problem("simulation", name, rule, value=value))

        check(self.patients >= 1, "patients", "must be at least 1", self.patients)
        check(0 < self.years <= 60, "years", "must be in (0, 60]", self.years)
        check(self.seed >= 0, "seed", "must be >= 0", self.seed)
        e = self.effects
        for name in ("relapse_rate_ratio", "progression_hazard_ratio", "relapse_recovery_ratio"):
            check(getattr(e, name) > 0, f"effects.{name}", "must be > 0", getattr(e, name))
        check(
            e.heterogeneity_sd >= 0, "effects.heterogeneity_sd", "must be >= 0", e.heterogeneity_sd
        )
        strength = self.confounding.strength
        check(strength >= 0, "confounding.strength", "must be >= 0", strength)
        if problems:
            raise ValidationFailed(problems)

    # -- construction -----------------------------------------------------------------------

    def replace(self, **changes: Any) -> SimulationParams:
        """A copy with top-level fields or ``group__field`` values changed."""
        top: dict[str, Any] = {}
        groups: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            if "__" in key:
                group, name = key.split("__", 1)
                groups.setdefault(group, {})[name] = value
            else:
                top[key] = value
        for group, values in groups.items():
            top[group] = _replace_group(getattr(self, group), group, values)
        return dataclasses.replace(self, **top)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> SimulationParams:
        """Build from a nested mapping (as TOML gives); unknown keys are an error."""
        base = cls()
        top: dict[str, Any] = {}
        known = {f.name for f in dataclasses.fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise ValidationFailed(Problem("simulation", key, "unknown simulation parameter"))
            if isinstance(value, dict):
                top[key] = _replace_group(getattr(base, key), key, value)
            elif key == "end_date":
                top[key] = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
            else:
                top[key] = value
        return dataclasses.replace(base, **top)

    @classmethod
    def from_toml(cls, path: Path | str) -> SimulationParams:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigurationError(f"cannot read simulation config {path}: {error}") from None
        return cls.from_mapping(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (tuples as lists, dates ISO)."""
        return _plain(dataclasses.asdict(self))


def _replace_group(group: Any, name: str, values: dict[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(group)}
    cleaned = {}
    for key, value in values.items():
        if key not in fields:
            raise ValidationFailed(
                Problem("simulation", f"{name}.{key}", "unknown simulation parameter")
            )
        default = getattr(group, key)
        cleaned[key] = tuple(value) if isinstance(default, tuple) else value
    return dataclasses.replace(group, **cleaned)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def describe(params: SimulationParams | None = None) -> list[dict[str, str]]:
    """Every parameter with its value, unit and source (for docs and ``--json`` output)."""
    params = params or SimulationParams()
    rows = []
    for top in dataclasses.fields(params):
        value = getattr(params, top.name)
        if dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                rows.append(
                    {
                        "name": f"{top.name}.{f.name}",
                        "value": str(_plain(getattr(value, f.name))),
                        "unit": f.metadata.get("unit", ""),
                        "source": f.metadata.get("source", ""),
                    }
                )
        else:
            rows.append(
                {
                    "name": top.name,
                    "value": str(_plain(value)),
                    "unit": top.metadata.get("unit", ""),
                    "source": top.metadata.get("source", ""),
                }
            )
    return rows
