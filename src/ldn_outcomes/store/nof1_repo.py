"""Personal trials in the registry: the design in the clear, the seed and allocation sealed.

Sealing: the seed and allocation are encrypted and authenticated with a key derived from the
deployment's secret (AES-256-GCM from the ``cryptography`` package, key from HKDF-SHA256,
the trial id bound as associated data). A database dump alone does not reveal the
order, and a sealed allocation cannot be moved to another trial. On top of that, the
repository only opens it

* for the pharmacy (to fill the bottles) — each read is audited, and
* for anyone allowed to see the trial once the last period has ended, through an explicit
  unblinding that is audited; an earlier request is refused with the date it becomes possible.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..domain.access import Principal, Role, may_print_allocation
from ..domain.nof1 import (
    Allocation,
    NOf1Design,
    allocate,
    outcome_spec,
)
from ..domain.nof1_blinding import check_can_view_trial, check_unblinding
from ..domain.nof1_stop import RECORD, stop_problems
from ..errors import (
    DuplicateRecord,
    NotFound,
    PermissionDenied,
    Problem,
    ValidationFailed,
)
from .account_tables import AccountRow
from .audit import write_audit
from .nof1_requests import mark_designed
from .nof1_seal import SCHEME, seal, unseal
from .nof1_tables import NOf1AllocationRow, NOf1TrialRow
from .tables import PatientRow, QuestionnaireRow


@dataclass(frozen=True)
class TrialRecord:
    design: NOf1Design  # seed is None unless opened
    clinician_id: str | None
    status: str
    unblinded_at: dt.datetime | None
    unblinded_by: str | None
    pharmacy_account_id: int | None = None
    stopped_on: dt.date | None = None
    stop_reason: str | None = None
    stopped_by: str | None = None

    @property
    def blinded(self) -> bool:
        return self.status != "unblinded"


def _design_values(design: NOf1Design) -> dict[str, Any]:
    data = design.model_dump()
    data.pop("seed")
    data.pop("trial_id")
    return data


class NOf1Repository:
    """Reads and writes of personal trials within one session (the caller commits)."""

    def __init__(self, session: Session, secret: bytes) -> None:
        self.session = session
        self.secret = secret

    # -- create -----------------------------------------------------------------------------
    def recorded_outcome_days(self, patient_id: str, outcome: str) -> int:
        """How many check-ins of the patient have an answer for ``outcome``."""
        spec = outcome_spec(outcome)
        answers = self.session.scalars(
            select(QuestionnaireRow.answers).where(
                QuestionnaireRow.patient_id == patient_id,
                QuestionnaireRow.instrument_id == spec.instrument_id,
            )
        )
        count = 0
        for row in answers:
            values = json.loads(row) if isinstance(row, str) else row
            if len(values) > spec.item_index and values[spec.item_index] is not None:
                count += 1
        return count

    def create(
        self, design: NOf1Design, actor: Principal, pharmacy_account_id: int | None = None
    ) -> TrialRecord:
        if actor.role not in (Role.CLINICIAN, Role.ADMIN, Role.PHARMACY) or (
            actor.role is Role.PHARMACY and not actor.on_command_line
        ):
            raise PermissionDenied(f"{actor.audit_name} may not design trials")
        if pharmacy_account_id is not None:
            self._check_pharmacy_account(pharmacy_account_id)
        patient = self.session.get(PatientRow, design.patient_id)
        if patient is None:
            raise NotFound(f"no patient with id {design.patient_id!r}")
        if actor.role is Role.CLINICIAN and not (
            patient.clinician_id == actor.clinician_id
            or design.patient_id in actor.authorised_patients
        ):
            raise PermissionDenied(f"{actor.audit_name} is not the clinician of this patient")
        if self.recorded_outcome_days(design.patient_id, design.outcome) == 0:
            raise ValidationFailed(
                Problem(
                    "nof1_design",
                    "outcome",
                    f"patient {design.patient_id} has never recorded {design.outcome} in the "
                    "daily check-in; choose an outcome they record, or start the diary first",
                    value=design.outcome,
                )
            )
        if design.seed is None:
            raise ValidationFailed(Problem("nof1_design", "seed", "a seed is required"))
        # Trial ids are unique across patients: they label the bottles at a pharmacy serving
        # many patients, and the seal is bound to them. So a taken id is refused whoever's
        # trial holds it, last (a design broken otherwise says that first) and in words that
        # name no patient and do not tell this patient's trials from anyone else's.
        if self.session.get(NOf1TrialRow, design.trial_id) is not None:
            raise DuplicateRecord(
                f"a trial with id {design.trial_id!r} already exists; choose another trial id"
            )
        allocation = allocate(design.pairs, design.seed)
        now = dt.datetime.now(dt.UTC)
        values = _design_values(design)
        self.session.add(
            NOf1TrialRow(
                trial_id=design.trial_id,
                end_date=design.end_date,
                created_at=now,
                created_by=actor.audit_name,
                status="blinded",
                pharmacy_account_id=pharmacy_account_id,
                **values,
            )
        )
        self.session.flush()  # the trial row first: the allocation references it
        self.session.add(
            NOf1AllocationRow(
                trial_id=design.trial_id,
                scheme=SCHEME,
                sealed=seal(
                    self.secret,
                    design.trial_id,
                    {"seed": design.seed, "ldn_first": list(allocation)},
                ),
            )
        )
        self.session.flush()
        write_audit(
            self.session,
            actor=actor.audit_name,
            action="create",
            table="nof1_trials",
            key=design.trial_id,
            before=None,
            after={**values, "allocation": "sealed", "pharmacy_account_id": pharmacy_account_id},
        )
        return self._record(self._row(design.trial_id))

    def _check_pharmacy_account(self, account_id: int) -> None:
        account = self.session.get(AccountRow, account_id)
        if account is None or account.role != Role.PHARMACY.value or not account.active:
            raise ValidationFailed(
                Problem(
                    "nof1_design",
                    "pharmacy_account_id",
                    "must be an active pharmacy account",
                    value=account_id,
                )
            )

    # -- reads ------------------------------------------------------------------------------
    def _row(self, trial_id: str) -> NOf1TrialRow:
        row = self.session.get(NOf1TrialRow, trial_id)
        if row is None:
            raise NotFound(f"no n-of-1 trial with id {trial_id!r}")
        return row

    def _record(self, row: NOf1TrialRow, seed: int | None = None) -> TrialRecord:
        patient = self.session.get(PatientRow, row.patient_id)
        design = NOf1Design(
            trial_id=row.trial_id,
            patient_id=row.patient_id,
            pairs=row.pairs,
            period_days=row.period_days,
            washout_days=row.washout_days,
            outcome=row.outcome,
            mcid=row.mcid,
            start_date=row.start_date,
            seed=seed,
            dose_mg=row.dose_mg,
            capsules_per_day=row.capsules_per_day,
            spare_capsules=row.spare_capsules,
        )
        return TrialRecord(
            design,
            patient.clinician_id if patient else None,
            row.status,
            row.unblinded_at,
            row.unblinded_by,
            row.pharmacy_account_id,
            row.stopped_on,
            row.stop_reason,
            row.stopped_by,
        )

    def get(self, trial_id: str, actor: Principal) -> TrialRecord:
        """The design (without seed) for anyone allowed to see the patient's trials."""
        record = self._record(self._row(trial_id))
        self._check_view(actor, record)
        return record

    def _check_view(self, actor: Principal, record: TrialRecord) -> None:
        """The domain rule, narrowed for pharmacy accounts to the trials assigned to them."""
        if actor.role is Role.PHARMACY and not actor.on_command_line:
            decision = may_print_allocation(actor, record.pharmacy_account_id)
            if not decision:
                raise PermissionDenied(f"not allowed: {decision.reason}")
        check_can_view_trial(actor, record.design.patient_id, record.clinician_id)

    def list(self, actor: Principal, patient_id: str | None = None) -> list[TrialRecord]:
        query = select(NOf1TrialRow).order_by(NOf1TrialRow.start_date, NOf1TrialRow.trial_id)
        if actor.role is Role.PATIENT:
            query = query.where(NOf1TrialRow.patient_id == (actor.patient_id or ""))
        elif actor.role is Role.PHARMACY and not actor.on_command_line:
            query = query.where(NOf1TrialRow.pharmacy_account_id == actor.account_id)
        elif actor.role is Role.CLINICIAN and actor.authorised_patients:
            query = query.where(NOf1TrialRow.patient_id.in_(sorted(actor.authorised_patients)))
        elif actor.role is Role.CLINICIAN:
            query = query.join(PatientRow, PatientRow.patient_id == NOf1TrialRow.patient_id).where(
                PatientRow.clinician_id == (actor.clinician_id or "")
            )
        if patient_id is not None:
            query = query.where(NOf1TrialRow.patient_id == patient_id)
        return [self._record(row) for row in self.session.scalars(query)]

    def _open(self, trial_id: str) -> tuple[int, Allocation]:
        stored = self.session.get(NOf1AllocationRow, trial_id)
        if stored is None:
            raise NotFound(f"trial {trial_id!r} has no stored allocation")
        payload = unseal(self.secret, trial_id, stored.sealed)
        return int(payload["seed"]), tuple(bool(x) for x in payload["ldn_first"])

    def allocation_for_pharmacy(self, trial_id: str, actor: Principal) -> TrialRecord:
        """The full design with seed, for filling bottles: the command line as pharmacy or
        admin, or the pharmacy account the trial is assigned to; every read is audited."""
        if actor.role not in (Role.PHARMACY, Role.ADMIN):
            raise PermissionDenied(
                f"{actor.audit_name} may not read the allocation of a blinded trial; only the "
                "pharmacy preparing the bottles can"
            )
        row = self._row(trial_id)
        if actor.role is Role.PHARMACY or not actor.on_command_line:
            decision = may_print_allocation(actor, row.pharmacy_account_id)
            if not decision:
                raise PermissionDenied(f"not allowed: {decision.reason}")
        seed, _ = self._open(trial_id)
        write_audit(
            self.session,
            actor=actor.audit_name,
            action="read_allocation",
            table="nof1_allocations",
            key=trial_id,
            before=None,
            after={"purpose": "pharmacy sheet"},
        )
        return self._record(row, seed)

    def unblind(
        self, trial_id: str, actor: Principal, today: dt.date
    ) -> tuple[TrialRecord, Allocation]:
        """Open the allocation after the last period; refused (with the date) before it."""
        row = self._row(trial_id)
        record = self._record(row)
        self._check_view(actor, record)
        check_unblinding(record.design, today, record.stopped_on)
        seed, allocation = self._open(trial_id)
        if row.status != "unblinded":
            row.status = "unblinded"
            row.unblinded_at = dt.datetime.now(dt.UTC)
            row.unblinded_by = actor.audit_name
            self.session.flush()
            write_audit(
                self.session,
                actor=actor.audit_name,
                action="unblind",
                table="nof1_trials",
                key=trial_id,
                before={"status": "blinded"},
                after={
                    "status": "unblinded",
                    "ldn_first": list(allocation),
                    "on": today.isoformat(),
                },
            )
        return self._record(row, seed), allocation

    def stop(
        self, trial_id: str, actor: Principal, stopped_on: dt.date, reason: str, today: dt.date
    ) -> TrialRecord:
        """Record that the trial stopped early (``domain.nof1_stop``), audited with its
        reason. The patient and their clinician may; a pharmacy may not (it prepares the
        bottles and sees no clinical data). A trial is stopped once."""
        row = self._row(trial_id)
        record = self._record(row)
        self._check_view(actor, record)
        if actor.role is Role.PHARMACY:
            raise PermissionDenied(f"{actor.audit_name} may not stop a trial")
        if row.stopped_on is not None:
            raise ValidationFailed(
                Problem(
                    RECORD,
                    "trial_id",
                    f"trial {trial_id} was already stopped on {row.stopped_on.isoformat()}",
                    value=trial_id,
                )
            )
        created = row.created_at
        if created.tzinfo is None:  # SQLite returns naive UTC
            created = created.replace(tzinfo=dt.UTC)
        problems = stop_problems(
            record.design,
            designed_on=created.astimezone().date(),
            stopped_on=stopped_on,
            today=today,
            reason=reason,
        )
        if problems:
            raise ValidationFailed(problems)
        row.stopped_on = stopped_on
        row.stop_reason = reason.strip()
        row.stopped_by = actor.audit_name
        row.stopped_at = dt.datetime.now(dt.UTC)
        self.session.flush()
        write_audit(
            self.session,
            actor=actor.audit_name,
            action="stop",
            table="nof1_trials",
            key=trial_id,
            before={"stopped_on": None},
            after={"stopped_on": stopped_on.isoformat(), "planned_end": row.end_date.isoformat()},
            reason=row.stop_reason,
        )
        return self._record(row)

    def record_refused_unblinding(self, trial_id: str, actor: Principal, reason: str) -> None:
        """Keep a trace of an early unblinding request (written in its own transaction)."""
        write_audit(
            self.session,
            actor=actor.audit_name,
            action="unblind_refused",
            table="nof1_trials",
            key=trial_id,
            before=None,
            after={"reason": reason},
        )

    def record_analysis_shown(self, trial_id: str, actor: Principal) -> None:
        """Keep a trace of each time an unblinded trial's results are shown to someone."""
        write_audit(
            self.session,
            actor=actor.audit_name,
            action="read_analysis",
            table="nof1_trials",
            key=trial_id,
            before=None,
            after={"purpose": "trial results shown"},
        )

    def answer_request(self, request_id: int, trial_id: str, actor: Principal) -> None:
        """Close the patient's request with the trial just designed (same transaction)."""
        mark_designed(self.session, request_id, trial_id, actor)

    def unblinded_allocation(
        self, trial_id: str, actor: Principal
    ) -> tuple[TrialRecord, Allocation]:
        """The allocation of an already unblinded trial (for analysis and results pages)."""
        row = self._row(trial_id)
        record = self._record(row)
        self._check_view(actor, record)
        if row.status != "unblinded":
            raise PermissionDenied(
                f"trial {trial_id} is still blinded; it can be unblinded after "
                f"{record.design.end_date.isoformat()} (ldn nof1 unblind {trial_id})"
            )
        seed, allocation = self._open(trial_id)
        return self._record(row, seed), allocation


@contextmanager
def trial_repository(
    engine: Engine, secret: bytes, *, write: bool = False
) -> Iterator[NOf1Repository]:
    """The trial repository in one transaction: with ``write``, committed when the block ends
    and rolled back if it raises; without, a read that writes nothing."""
    with Session(engine, expire_on_commit=False) as session:
        if write:
            with session.begin():
                yield NOf1Repository(session, secret)
        else:
            yield NOf1Repository(session, secret)
