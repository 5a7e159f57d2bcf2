"""Personal (n-of-1) trials of LDN against identical placebo: design, randomisation, schedule.

A design is ``pairs`` pairs of periods; within each pair one period is LDN and the other
placebo, in an order drawn from the seed. Periods follow each other without gaps; the first
``washout_days`` of every period are a washout/burn-in that the analysis leaves out, so that
what is measured is the drug's steady effect and not the tail of the previous period.

Everything here is pure: the store seals the seed and allocation, the analysis reads them only
after unblinding. See ``docs/nof1.md`` for the defaults and their sources.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from ..errors import Problem, ValidationFailed
from .checkin import CHECKIN_INSTRUMENT as CHECKIN_INSTRUMENT
from .checkin import checkin_position
from .dates import date_problem
from .dose_text import dose_number
from .nof1_defaults import DEFAULT_PAIRS as DEFAULT_PAIRS
from .nof1_defaults import DEFAULT_PERIOD_WEEKS as DEFAULT_PERIOD_WEEKS
from .nof1_defaults import DEFAULT_WASHOUT_DAYS as DEFAULT_WASHOUT_DAYS

RECORD = "nof1_design"

#: Fewer than 2 pairs cannot separate drug from chance at all (a single pair has 2 orders).
MIN_PAIRS = 2
#: Above 10 pairs (20 periods) the trial is impractically long; 2^10 allocations enumerate fast.
MAX_PAIRS = 10
# Upper bounds on the calendar keep a typo (a period of 10,000 days, which also ran the schedule
# past the last date Python knows) out of a sealed trial; docs/nof1.md lists them.
#: Periods of at most 180 days (about 26 weeks), a project choice: just over three times the
#: 8-week periods of the MS crossover trial of Cree et al. 2010, the longest the docs discuss.
MAX_PERIOD_DAYS = 180
#: A washout/burn-in of at most 90 days, a project choice: half the longest period (a longer
#: one would leave less than half of even the longest period to analyse).
MAX_WASHOUT_DAYS = 90
#: A whole trial of at most 2 years (730 days), a project choice: room for 6 pairs of 8-week
#: periods (672 days; 6 pairs are what the randomisation test needs to reach p <= 0.05), and
#: longer than we expect a patient to keep up a daily diary on alternating bottles.
MAX_TRIAL_DAYS = 730
#: A trial id: it names files, calendar entries and bottle labels, so letters, digits and
#: ``. _ -`` only, starting with a letter or digit, at most 64 characters (the column's size).
TRIAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
TRIAL_ID_RULE = "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_TRIAL_ID = re.compile(TRIAL_ID_PATTERN)
#: 4.5 mg nightly is the dose of the MS crossover trial of Cree et al. 2010 (PMID 20695007).
DEFAULT_DOSE_MG = Decimal("4.5")
#: A dose is stored as a medicine's dose is (``Exposure.dose_mg``: 12 digits, 4 of them
#: decimals); a longer number could not be stored (a server error before).
DOSE_DECIMALS = 4
MAX_DOSE_EXCLUSIVE = Decimal(10) ** (12 - DOSE_DECIMALS)
DOSE_DIGITS_RULE = "at most 8 digits before the decimal point and 4 after it"
#: Extra capsules per bottle so a lost or dropped capsule does not end a period early.
DEFAULT_SPARE_CAPSULES = 3


class Treatment(StrEnum):
    LDN = "ldn"
    PLACEBO = "placebo"


@dataclass(frozen=True)
class McidSource:
    value: float
    citation: str
    locator: str
    note: str


@dataclass(frozen=True)
class OutcomeSpec:
    """A daily check-in item usable as a trial outcome, with its direction and MCID."""

    outcome_id: str
    label: str
    instrument_id: str
    item_key: str  # the check-in item's key (``domain.checkin``)
    lower_is_better: bool
    mcid: McidSource | None

    @property
    def item_index(self) -> int:
        """0-based position of the item in the check-in's answers, looked up by its key."""
        return checkin_position(self.item_key)

    @property
    def direction_word(self) -> str:
        return "lower is better" if self.lower_is_better else "higher is better"


KHANNA_2008 = McidSource(
    value=1.0,
    citation=(
        "Khanna D, Pope JE, Khanna P, et al. The minimally important difference for the "
        "fatigue visual analog scale in patients with rheumatoid arthritis followed in an "
        "academic clinical practice. J Rheumatol. 2008;35(12):2339-2343."
    ),
    locator="https://www.rand.org/pubs/external_publications/EP20081215.html",
    note=(
        "0-10 fatigue scale; mean change for 'somewhat better' was -1.12 (fatigue anchor) and "
        "-0.82 to -0.87 (other anchors): about 1 point. Rheumatoid arthritis, not MS; a "
        "stricter choice is 2 points / 30% (Farrar 2001, pain NRS, PMID 11690728)."
    ),
)

OUTCOMES: dict[str, OutcomeSpec] = {
    "fatigue_nrs": OutcomeSpec(
        "fatigue_nrs", "Fatigue (0-10)", CHECKIN_INSTRUMENT, "fatigue", True, KHANNA_2008
    ),
    # No MCID verified for these two: the trial must state one (``mcid``) at design time.
    "spasm_nrs": OutcomeSpec(
        "spasm_nrs", "Spasms (0-10)", CHECKIN_INSTRUMENT, "spasms", True, None
    ),
    "sleep_nrs": OutcomeSpec(
        "sleep_nrs", "Sleep quality (0-10)", CHECKIN_INSTRUMENT, "sleep", False, None
    ),
}


def outcome_spec(outcome_id: str) -> OutcomeSpec:
    try:
        return OUTCOMES[outcome_id]
    except KeyError:
        raise ValidationFailed(
            Problem(
                RECORD,
                "outcome",
                f"must be one of {', '.join(OUTCOMES)}",
                value=outcome_id,
            )
        ) from None


class NOf1Design(BaseModel):
    """A validated design. Build it with :func:`make_design`, which names every broken rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trial_id: str
    patient_id: str
    pairs: int
    period_days: int
    washout_days: int
    outcome: str
    mcid: float
    start_date: dt.date
    #: The randomisation seed; None on designs read back while the trial is sealed.
    seed: int | None
    dose_mg: Decimal = DEFAULT_DOSE_MG
    capsules_per_day: int = 1
    spare_capsules: int = DEFAULT_SPARE_CAPSULES

    @property
    def dose_text(self) -> str:
        """The dose as written on a label: 4.5, not 4.5000."""
        return dose_number(self.dose_mg)

    @property
    def periods(self) -> int:
        return 2 * self.pairs

    @property
    def total_days(self) -> int:
        return self.periods * self.period_days

    @property
    def end_date(self) -> dt.date:
        """The last day of the last period (inclusive)."""
        return self.start_date + dt.timedelta(days=self.total_days - 1)

    @property
    def analysed_days_per_period(self) -> int:
        return self.period_days - self.washout_days

    @property
    def outcome_spec(self) -> OutcomeSpec:
        return OUTCOMES[self.outcome]

    @property
    def capsules_per_bottle(self) -> int:
        return self.period_days * self.capsules_per_day + self.spare_capsules


def trial_id_problem(trial_id: str) -> str | None:
    """The rule a new trial id breaks, or None (ids stored before the rule still load)."""
    return None if _TRIAL_ID.fullmatch(trial_id) else TRIAL_ID_RULE


_NOT_IN_TRIAL_ID = re.compile(r"[^A-Za-z0-9._-]+")
#: Room a default id keeps for its "-nof1-YYYYMMDD" tail within the 64 characters.
_DEFAULT_TAIL = len("-nof1-20250101")


def default_trial_id(patient_id: str, day: dt.date) -> str:
    """The id a trial gets when none is given: ``{patient}-nof1-{YYYYMMDD}``, with the
    patient id made to fit the trial-id rule (other characters become ``-``, leading ``.``,
    ``_`` and ``-`` are dropped, at most 50 characters are kept). Why: a pseudonymous patient
    id may hold characters a file name, calendar entry or bottle label cannot; the default
    must always be a valid id, or the person is asked for one they never chose to type.
    Two patient ids can give the same default ("P:1" and "P-1"); the second trial is then
    refused as a duplicate and needs an id of its own."""
    stem = _NOT_IN_TRIAL_ID.sub("-", patient_id).lstrip("._-")[: 64 - _DEFAULT_TAIL]
    tail = f"nof1-{day:%Y%m%d}"
    return f"{stem}-{tail}" if stem else tail


def _calendar_problems(pairs: int, period_days: int, washout_days: int) -> list[Problem]:
    """Period, washout and whole-trial lengths within their bounds (see the maxima above)."""
    problems: list[Problem] = []
    washout_ok = 0 <= washout_days <= MAX_WASHOUT_DAYS
    if washout_days < 0:
        problems.append(Problem(RECORD, "washout_days", "must be 0 or more", value=washout_days))
    elif washout_days > MAX_WASHOUT_DAYS:
        problems.append(
            Problem(RECORD, "washout_days", f"at most {MAX_WASHOUT_DAYS} days", value=washout_days)
        )
    if period_days > MAX_PERIOD_DAYS:
        problems.append(
            Problem(
                RECORD,
                "period_days",
                f"at most {MAX_PERIOD_DAYS} days (about 26 weeks)",
                value=period_days,
            )
        )
    elif period_days <= (washout_days if washout_ok else 0):
        problems.append(
            Problem(
                RECORD,
                "period_days",
                f"each period must be longer than the washout/burn-in ({washout_days} days), "
                "or no day of it would be analysed",
                value=period_days,
            )
        )
    elif MIN_PAIRS <= pairs <= MAX_PAIRS and 2 * pairs * period_days > MAX_TRIAL_DAYS:
        problems.append(
            Problem(
                RECORD,
                "period_days",
                f"the whole trial ({pairs} pairs x 2 periods x {period_days} days = "
                f"{2 * pairs * period_days} days) must take at most {MAX_TRIAL_DAYS} days "
                "(2 years): use fewer pairs or shorter periods",
                value=period_days,
            )
        )
    return problems


def make_design(
    *,
    trial_id: str,
    patient_id: str,
    pairs: int = DEFAULT_PAIRS,
    period_days: int = DEFAULT_PERIOD_WEEKS * 7,
    washout_days: int = DEFAULT_WASHOUT_DAYS,
    outcome: str = "fatigue_nrs",
    start_date: dt.date,
    seed: int,
    mcid: float | None = None,
    dose_mg: Decimal | float | str = DEFAULT_DOSE_MG,
    capsules_per_day: int = 1,
    spare_capsules: int = DEFAULT_SPARE_CAPSULES,
) -> NOf1Design:
    """Check every design rule at once; raise ValidationFailed listing all that are broken."""
    problems: list[Problem] = []
    if (rule := trial_id_problem(trial_id)) is not None:
        problems.append(Problem(RECORD, "trial_id", rule, value=trial_id))
    if pairs < MIN_PAIRS:
        problems.append(
            Problem(
                RECORD,
                "pairs",
                f"at least {MIN_PAIRS} pairs of periods are needed (with fewer, chance alone "
                "cannot be told apart from the drug); 3 or more are recommended",
                value=pairs,
            )
        )
    elif pairs > MAX_PAIRS:
        problems.append(Problem(RECORD, "pairs", f"at most {MAX_PAIRS} pairs", value=pairs))
    problems += _calendar_problems(pairs, period_days, washout_days)
    spec = OUTCOMES.get(outcome)
    if spec is None:
        problems.append(
            Problem(RECORD, "outcome", f"must be one of {', '.join(OUTCOMES)}", value=outcome)
        )
    if mcid is None and spec is not None:
        if spec.mcid is None:
            problems.append(
                Problem(
                    RECORD,
                    "mcid",
                    f"no verified minimal clinically important difference is shipped for "
                    f"{outcome}; state the smallest change that matters to the patient",
                )
            )
        else:
            mcid = spec.mcid.value
    if mcid is not None and not mcid > 0:
        problems.append(Problem(RECORD, "mcid", "must be greater than 0", value=mcid))
    elif mcid is not None and not math.isfinite(mcid):  # infinity: no JSON, no meaning
        problems.append(Problem(RECORD, "mcid", "must be a finite number", value=mcid))
    try:
        dose = Decimal(str(dose_mg))
    except ArithmeticError:
        dose = Decimal(0)
    if not dose.is_finite():
        dose = Decimal(0)  # NaN and infinity are no dose
    if (rule := date_problem(start_date, dt.date.today(), planned=True)) is not None:
        problems.append(Problem(RECORD, "start_date", rule, value=start_date.isoformat()))
    if not dose > 0:
        problems.append(Problem(RECORD, "dose_mg", "must be greater than 0 mg", value=dose_mg))
    elif dose >= MAX_DOSE_EXCLUSIVE or dose != dose.quantize(Decimal(1).scaleb(-DOSE_DECIMALS)):
        problems.append(Problem(RECORD, "dose_mg", DOSE_DIGITS_RULE, value=dose_mg))
    if capsules_per_day < 1:
        problems.append(Problem(RECORD, "capsules_per_day", "must be 1 or more"))
    if spare_capsules < 0:
        problems.append(Problem(RECORD, "spare_capsules", "must be 0 or more"))
    if seed < 0:
        problems.append(Problem(RECORD, "seed", "must be 0 or more", value=seed))
    if problems:
        raise ValidationFailed(problems)
    assert mcid is not None
    return NOf1Design(
        trial_id=trial_id,
        patient_id=patient_id,
        pairs=pairs,
        period_days=period_days,
        washout_days=washout_days,
        outcome=outcome,
        mcid=float(mcid),
        start_date=start_date,
        seed=seed,
        dose_mg=dose,
        capsules_per_day=capsules_per_day,
        spare_capsules=spare_capsules,
    )


# -- randomisation -------------------------------------------------------------------------------

#: One entry per pair: True when LDN comes first in that pair.
Allocation = tuple[bool, ...]


def allocate(pairs: int, seed: int) -> Allocation:
    """The order within each pair, drawn from the seed (Python's Mersenne Twister, stable)."""
    generator = random.Random(seed)
    return tuple(generator.getrandbits(1) == 1 for _ in range(pairs))


def all_allocations(pairs: int) -> list[Allocation]:
    """Every allocation the design could have produced: 2^pairs, each equally likely."""
    return [tuple(choice) for choice in itertools.product((True, False), repeat=pairs)]


def treatments(allocation: Allocation) -> list[Treatment]:
    """Treatment of each period in order (two per pair)."""
    out: list[Treatment] = []
    for ldn_first in allocation:
        out.extend(
            (Treatment.LDN, Treatment.PLACEBO) if ldn_first else (Treatment.PLACEBO, Treatment.LDN)
        )
    return out


# -- schedule ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One period. ``treatment`` is None on blinded schedules."""

    number: int  # 1-based
    pair: int  # 1-based
    start: dt.date
    end: dt.date  # inclusive
    analysis_start: dt.date  # first day after the washout/burn-in
    bottle_label: str
    treatment: Treatment | None = None

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def bottle_label(trial_id: str, number: int) -> str:
    """The label printed on the bottle for one period; it says nothing about the contents."""
    return f"{trial_id} period {number}"


def schedule(design: NOf1Design, allocation: Allocation | None = None) -> list[Period]:
    """Period dates (and, only when an allocation is given, what each period holds)."""
    kinds: Sequence[Treatment | None] = (
        treatments(allocation) if allocation is not None else [None] * design.periods
    )
    if allocation is not None and len(allocation) != design.pairs:
        raise ValueError("allocation length does not match the number of pairs")
    out = []
    for index in range(design.periods):
        start = design.start_date + dt.timedelta(days=index * design.period_days)
        out.append(
            Period(
                number=index + 1,
                pair=index // 2 + 1,
                start=start,
                end=start + dt.timedelta(days=design.period_days - 1),
                analysis_start=start + dt.timedelta(days=design.washout_days),
                bottle_label=bottle_label(design.trial_id, index + 1),
                treatment=kinds[index],
            )
        )
    return out


def period_on(periods: Sequence[Period], day: dt.date) -> Period | None:
    for period in periods:
        if period.contains(day):
            return period
    return None


@dataclass(frozen=True)
class Progress:
    state: str  # "not started" | "running" | "ended"
    day: int  # 1-based trial day (0 before the start)
    total_days: int
    period: Period | None
    in_washout: bool

    @property
    def fraction(self) -> float:
        return min(max(self.day, 0), self.total_days) / self.total_days


def progress(design: NOf1Design, today: dt.date) -> Progress:
    periods = schedule(design)
    if today < design.start_date:
        return Progress("not started", 0, design.total_days, None, False)
    if today > design.end_date:
        return Progress("ended", design.total_days, design.total_days, None, False)
    period = period_on(periods, today)
    assert period is not None
    day = (today - design.start_date).days + 1
    return Progress("running", day, design.total_days, period, today < period.analysis_start)
