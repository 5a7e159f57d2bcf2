"""LDN exposure on a date, and whether LDN was started during a relapse.

Conventions (stated, not sourced: they are bookkeeping, not clinical claims)
- ``stop_date`` is the last day on the drug (inclusive); ``None`` means still taking it.
- Exposures whose days touch or overlap form one continuous course: a dose change does not
  reset "days since start".

Is this exposure LDN? (``is_ldn``, the one rule every layer asks)
- LDN is naltrexone at a low daily dose: "Low-dose naltrexone (LDN), considered in a daily
  dose of 1 to 5 mg", with 1 ug-1 mg/day "very low-dose"; addiction dosing is at least
  50 mg/day (Toljan K, Vrooman B, Med Sci (Basel) 2018;6(4):82, doi 10.3390/medsci6040082).
- So an exposure is LDN when it is naltrexone (its name contains "naltrexone" or is the
  abbreviation "LDN"; by name only, as naltrexone's RxNorm code could not be verified against
  a source here) and its recorded dose is above 0 and at most the top of the low-dose range
  (5 mg); a dose below 1 mg is
  still low (``dose_safety.check_ldn_dose`` flags it). The entered drug class does not
  decide: naltrexone entered as "other" is LDN, 50 mg naltrexone entered as "ldn" is not.
- A naltrexone record without a dose counts as LDN: in this registry of LDN use in MS that
  is what an undosed naltrexone entry is; the dose checks ask for the dose separately.
- ``dose_mg`` is read as the daily dose (the forms and the CSV layout ask for it so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from ldn_outcomes.domain.codes import DrugClass
from ldn_outcomes.domain.definitions.relapse import RelapseLike
from ldn_outcomes.errors import Problem, ValidationFailed

#: Daily dose range of low-dose naltrexone, in mg (Toljan & Vrooman 2018, see above).
LOW_DOSE_RANGE_MG: tuple[float, float] = (1.0, 5.0)
LOW_DOSE_SOURCE = "Toljan & Vrooman, Med Sci (Basel) 2018;6(4):82, doi 10.3390/medsci6040082"
#: Names that mean naltrexone without the word: the project's own abbreviation.
NALTREXONE_ABBREVIATIONS = frozenset({"ldn"})


class ExposureLike(Protocol):
    @property
    def drug_name(self) -> str: ...
    @property
    def start_date(self) -> date: ...
    @property
    def stop_date(self) -> date | None: ...


@dataclass(frozen=True)
class ExposurePeriod:
    drug_name: str
    start_date: date
    stop_date: date | None = None
    dose_mg: float | None = None
    rxnorm_cui: str | None = None


@dataclass(frozen=True)
class ExposureStatus:
    on: bool
    dose_mg: float | None
    days_since_start: int | None
    course_start: date | None


def is_naltrexone_drug(drug_name: str | None) -> bool:
    """Naltrexone by name (or the abbreviation "LDN")."""
    name = (drug_name or "").strip().lower()
    return "naltrexone" in name or name in NALTREXONE_ABBREVIATIONS


def is_naltrexone(exposure: ExposureLike) -> bool:
    return is_naltrexone_drug(exposure.drug_name)


def is_low_dose(dose_mg: float | Decimal | None) -> bool:
    """No dose recorded, or above 0 and at most the top of the low-dose range."""
    if dose_mg is None:
        return True
    dose = float(dose_mg)
    if dose != dose:  # NaN: a blank read from a frame
        return True
    return 0 < dose <= LOW_DOSE_RANGE_MG[1]


def is_ldn_drug(drug_name: str | None, dose_mg: float | Decimal | None) -> bool:
    """The LDN rule on plain values (for frames and SQL rows); see the module docstring."""
    return is_naltrexone_drug(drug_name) and is_low_dose(dose_mg)


def is_ldn(exposure: ExposureLike) -> bool:
    """Is this exposure LDN? Naltrexone at a low daily dose, whatever class was entered."""
    return is_ldn_drug(exposure.drug_name, getattr(exposure, "dose_mg", None))


def exposure_class(
    drug_name: str | None,
    drug_class: str | None,
    dose_mg: float | Decimal | None,
) -> str:
    """The class the analyses group an exposure by: ``"ldn"`` when ``is_ldn`` says so,
    otherwise the entered class, except that an entered "ldn" the rule refuses (another drug,
    or full-dose naltrexone) becomes "other"."""
    if is_ldn_drug(drug_name, dose_mg):
        return DrugClass.LDN.value
    entered = str(drug_class or DrugClass.OTHER.value)
    return DrugClass.OTHER.value if entered == DrugClass.LDN.value else entered


def _check(exposures: Sequence[ExposureLike]) -> None:
    problems = [
        Problem(
            "exposure",
            "stop_date",
            f"stop {e.stop_date.isoformat()} is before start {e.start_date.isoformat()}",
            row=i,
        )
        for i, e in enumerate(exposures)
        if e.stop_date is not None and e.stop_date < e.start_date
    ]
    if problems:
        raise ValidationFailed(problems)


def courses(
    exposures: Iterable[ExposureLike], is_ldn: Callable[[ExposureLike], bool] = is_ldn
) -> list[tuple[date, date | None]]:
    """Continuous LDN courses as (first day, last day or None if ongoing), in date order."""
    chosen = sorted((e for e in exposures if is_ldn(e)), key=lambda e: e.start_date)
    _check(chosen)
    merged: list[tuple[date, date | None]] = []
    for e in chosen:
        if merged:
            start, stop = merged[-1]
            if stop is None or e.start_date <= stop + timedelta(days=1):
                new_stop = None if stop is None or e.stop_date is None else max(stop, e.stop_date)
                merged[-1] = (start, new_stop)
                continue
        merged.append((e.start_date, e.stop_date))
    return merged


def status_on(
    exposures: Sequence[ExposureLike],
    on_date: date,
    is_ldn: Callable[[ExposureLike], bool] = is_ldn,
) -> ExposureStatus:
    """On/off LDN on ``on_date``, the dose of the latest-started active exposure, course age."""
    active = [
        e
        for e in exposures
        if is_ldn(e) and e.start_date <= on_date and (e.stop_date is None or on_date <= e.stop_date)
    ]
    if not active:
        return ExposureStatus(on=False, dose_mg=None, days_since_start=None, course_start=None)
    current = max(active, key=lambda e: e.start_date)
    course_start = next(
        s for s, t in courses(exposures, is_ldn) if s <= on_date and (t is None or on_date <= t)
    )
    dose = getattr(current, "dose_mg", None)
    return ExposureStatus(
        on=True,
        dose_mg=float(dose) if dose is not None else None,
        days_since_start=(on_date - course_start).days,
        course_start=course_start,
    )


@dataclass(frozen=True)
class AttackStart:
    relapse: RelapseLike
    started_during_attack: bool | None
    reason: str


def started_during_attack(
    relapses: Iterable[RelapseLike],
    exposures: Sequence[ExposureLike],
    is_ldn: Callable[[ExposureLike], bool] = is_ldn,
) -> list[AttackStart]:
    """For each relapse: was an LDN course started with onset <= start <= recovery?

    ``None`` when it cannot be told (no recovery date and a course started after onset).
    """
    starts = [s for s, _ in courses(exposures, is_ldn)]
    out: list[AttackStart] = []
    for r in sorted(relapses, key=lambda r: r.onset_date):
        after_onset = [s for s in starts if s >= r.onset_date]
        if not after_onset:
            out.append(AttackStart(r, False, "no LDN course started on or after the onset"))
        elif r.recovery_date is None:
            out.append(
                AttackStart(
                    r, None, "recovery date not recorded; an LDN course started after onset"
                )
            )
        elif after_onset[0] <= r.recovery_date:
            out.append(
                AttackStart(r, True, f"LDN started {after_onset[0].isoformat()} during the attack")
            )
        else:
            out.append(AttackStart(r, False, "no LDN course started between onset and recovery"))
    return out
