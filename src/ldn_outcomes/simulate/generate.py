"""Turn a simulated history into the registry's tables (encoded columns, table layout).

Column names and order are the domain records' (``domain.layout.columns``) which are also the
table columns of ``store/tables.py``; ``id`` columns are left blank so the database numbers
rows itself and simulated files import into a registry that already holds data.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..domain.checkin import checkin_keys
from ..domain.codes import NALTREXONE_RXCUI, FunctionalSystem
from ..domain.instruments import get_instrument
from .cohort import NEVER
from .columns import Column, Table, code, const, day, digit_strings
from .history import DOSE_STREAM, History, child_stream
from .observe import AE_TERMS, RELAPSE_SYSTEMS

SEVERITIES = ("mild", "moderate", "severe")
SEXES = ("male", "female")
PHENOTYPES = ("RRMS", "SPMS", "PPMS")
BOOLS = (False, True)
CHECKIN, MFIS, FSS = "checkin", "mfis", "fss"
#: Cholecalciferol 2000 IU = 50 micrograms (1 IU = 0.025 micrograms, the standard vitamin D
#: conversion) = 0.05 mg.
SUPPLEMENT_DOSE_MG = 0.05


def instrument_shape(instrument_id: str) -> tuple[str, int]:
    """(version, number of items) from the shipped instrument definition."""
    definition = get_instrument(instrument_id)
    return definition.version, len(definition.items)


def _pid(values: np.ndarray) -> Column:
    return Column("pid", np.asarray(values, dtype=np.int64))


def _blank_after(days: np.ndarray, limit: np.ndarray) -> np.ndarray:
    return np.where((days >= 0) & (days <= limit), days, -1)


def patients_table(h: History) -> Table:
    c = h.cohort
    phenotype = np.where(c.ppms, 2, np.where(c.sp_day <= h.exit_day, 1, 0))
    prefix = h.params.cohort.id_prefix
    return Table(
        {
            "patient_id": _pid(np.arange(c.n)),
            "year_of_birth": Column("int", c.birth_year),
            "sex": code(c.female.astype(np.int64), SEXES),
            "phenotype": code(phenotype, PHENOTYPES),
            "first_symptoms_date": day(c.onset_day),
            "diagnosis_date": day(c.diagnosis_day),
            "clinician_id": code(c.clinician, tuple(_clinician_ids(h, prefix))),
            "site_id": code(c.site, tuple(_site_ids(h, prefix))),
        },
        c.n,
    )


def _site_count(h: History) -> int:
    return int(h.cohort.site.max()) + 1 if h.cohort.n else 1


def _site_ids(h: History, prefix: str) -> list[str]:
    return [f"{prefix}-site-{i + 1:02d}" for i in range(_site_count(h))]


def _clinician_ids(h: History, prefix: str) -> list[str]:
    per = h.params.cohort.clinicians_per_site
    return [f"{prefix}-clin-{i + 1:03d}" for i in range(_site_count(h) * per)]


def sites_table(h: History) -> Table:
    ids = _site_ids(h, h.params.cohort.id_prefix)
    k = len(ids)
    return Table(
        {
            "site_id": code(np.arange(k), tuple(ids)),
            "name": code(np.arange(k), tuple(f"Simulated site {i + 1}" for i in range(k))),
            "country": const(None),
        },
        k,
    )


def clinicians_table(h: History) -> Table:
    prefix = h.params.cohort.id_prefix
    ids = _clinician_ids(h, prefix)
    per = h.params.cohort.clinicians_per_site
    k = len(ids)
    return Table(
        {
            "clinician_id": code(np.arange(k), tuple(ids)),
            "display_name": code(
                np.arange(k), tuple(f"Simulated clinician {i + 1}" for i in range(k))
            ),
            "site_id": code(np.arange(k) // per, tuple(_site_ids(h, prefix))),
        },
        k,
    )


def _ldn_segments(h: History) -> dict[str, np.ndarray]:
    """LDN courses split into dose steps (a dose change is a new exposure)."""
    u = h.params.uptake
    pid, start, stop = h.ldn
    rng = child_stream(h.params.seed, DOSE_STREAM)
    k = pid.size
    titrate = rng.random(k) < u.titration_share
    shares = np.asarray(u.fixed_dose_shares) / np.sum(u.fixed_dose_shares)
    fixed = np.asarray(u.fixed_doses)[rng.choice(len(shares), size=k, p=shares)]
    bedtime = rng.random(k) < u.bedtime_share
    last = np.where(stop >= 0, stop, h.exit_day[pid])
    parts = []
    for step, dose in enumerate((1.5, 3.0, 4.5)):
        seg_start = start + 14 * step
        seg_stop = np.where(step < 2, start + 14 * (step + 1) - 1, stop)
        keep = titrate & (seg_start <= last)
        # The last step reached carries the course's own stop (blank if still taking it).
        reached_next = start + 14 * (step + 1) <= last
        seg_stop = np.where(reached_next & (step < 2), seg_stop, stop)
        parts.append((np.flatnonzero(keep), seg_start, seg_stop, np.full(k, dose)))
    parts.append((np.flatnonzero(~titrate), start, stop, fixed))
    rows = np.concatenate([p[0] for p in parts])
    return {
        "pid": pid[rows],
        "start": np.concatenate([p[1][p[0]] for p in parts]),
        "stop": np.concatenate([p[2][p[0]] for p in parts]),
        "dose": np.concatenate([p[3][p[0]] for p in parts]),
        "bedtime": bedtime[rows],
    }


def exposures_table(h: History) -> Table:
    c = h.cohort
    drugs = tuple(h.params.dmt.drugs)
    ldn = _ldn_segments(h)
    s_pid, s_start, s_stop = h.supplement
    dmt = np.flatnonzero(c.dmt_drug >= 0)
    dmt_stop = _blank_after(c.dmt_stop[dmt], h.exit_day[dmt])
    names = ("naltrexone", "vitamin D3 (cholecalciferol)") + drugs
    classes = ("ldn", "supplement", "dmt")
    n_ldn, n_s, n_d = ldn["pid"].size, s_pid.size, dmt.size
    pid = np.concatenate([ldn["pid"], s_pid, dmt])
    start = np.concatenate([ldn["start"], s_start, c.dmt_start[dmt]])
    stop = np.concatenate([ldn["stop"], s_stop, dmt_stop])
    order = np.lexsort((start, pid))
    dose = np.concatenate([ldn["dose"], np.full(n_s, SUPPLEMENT_DOSE_MG), np.full(n_d, np.nan)])
    time_of_day = np.concatenate(
        [np.where(ldn["bedtime"], 1, 2), np.zeros(n_s, np.int64), np.full(n_d, 3)]
    )
    table = Table(
        {
            "patient_id": _pid(pid),
            "drug_name": code(
                np.concatenate(
                    [np.zeros(n_ldn, np.int64), np.ones(n_s, np.int64), 2 + c.dmt_drug[dmt]]
                ),
                names,
            ),
            "rxnorm_cui": code(
                np.concatenate([np.zeros(n_ldn, np.int64), np.ones(n_s + n_d, np.int64)]),
                (NALTREXONE_RXCUI, None),
            ),
            "drug_class": code(np.repeat([0, 1, 2], [n_ldn, n_s, n_d]), classes),
            "dose_mg": Column("float", dose),
            "frequency": code(np.repeat([0, 0, 1], [n_ldn, n_s, n_d]), ("daily", "as prescribed")),
            "time_of_day": code(time_of_day, ("morning", "bedtime", "evening", "unknown")),
            "formulation": code(np.repeat([0, 0, 1], [n_ldn, n_s, n_d]), ("capsule", None)),
            "start_date": day(start),
            "stop_date": day(stop),
            "stop_reason": code((stop >= 0).astype(np.int64), (None, "patient decision")),
        },
        pid.size,
    )
    return table.take(order)


def relapses_table(h: History) -> Table:
    t = h.recorded.table("relapses")
    if not t:
        return _empty_like_relapses()
    pid = t["pid"]
    limit = h.exit_day[pid]
    systems = tuple(f'["{s}"]' for s in RELAPSE_SYSTEMS)
    table = Table(
        {
            "patient_id": _pid(pid),
            "onset_date": day(t["onset"]),
            "recovery_date": day(_blank_after(t["recovery"], limit)),
            "severity": code(t["severity"], SEVERITIES),
            "functional_systems": Column(
                "answers",
                np.asarray(RELAPSE_SYSTEMS, dtype=object)[t["system"]],
                (),
                np.asarray(systems, dtype=object)[t["system"]],
            ),
            "steroid_treated": code(t["steroid"].astype(np.int64), BOOLS),
            "confirmed_by": code(t["clinician"].astype(np.int64), ("patient", "clinician")),
            "lasted_24h": code(t["lasted_24h"].astype(np.int64), BOOLS),
            "fever_or_infection": code(t["fever"].astype(np.int64), BOOLS),
        },
        pid.size,
    )
    return table.take(np.lexsort((t["onset"], pid)))


def _empty_like_relapses() -> Table:
    empty = np.zeros(0, dtype=np.int64)
    return Table(
        {
            "patient_id": _pid(empty),
            "onset_date": day(empty),
            "recovery_date": day(empty),
            "severity": code(empty, SEVERITIES),
            "functional_systems": Column("answers", np.zeros(0, object), (), np.zeros(0, object)),
            "steroid_treated": code(empty, BOOLS),
            "confirmed_by": code(empty, ("patient",)),
            "lasted_24h": code(empty, BOOLS),
            "fever_or_infection": code(empty, BOOLS),
        },
        0,
    )


def edss_table(h: History) -> Table:
    t = h.recorded.table("edss")
    pid = t.get("pid", np.zeros(0, np.int64))
    days = t.get("day", np.zeros(0, np.int64))
    keep = np.flatnonzero(days <= h.exit_day[pid])
    prefix = h.params.cohort.id_prefix
    columns = {
        "patient_id": _pid(pid),
        "date": day(days),
        "score": Column("float", t.get("score", np.zeros(0))),
    }
    for system in FunctionalSystem:
        columns["fs_" + system.value] = const(None)
    columns["rater"] = code(t.get("rater", np.zeros(0, np.int64)), tuple(_clinician_ids(h, prefix)))
    table = Table(columns, pid.size).take(keep)
    order = np.lexsort((table.columns["date"].values, table.columns["patient_id"].values))
    return table.take(order)


def _checkin_lut() -> tuple[np.ndarray, np.ndarray]:
    """Layout and JSON text of every possible check-in (dose blank when not on LDN), the
    answers in the order of the check-in definition's item keys."""
    keys = checkin_keys()
    text, json_text = [], []
    for tired, spasm, sleep, dream, dose in itertools.product(
        range(11), range(11), range(11), range(2), (-1, 0, 1)
    ):
        answer = {"fatigue": tired, "spasms": spasm, "sleep": sleep, "vivid_dreams": dream}
        by_key = {k: str(v) for k, v in answer.items()}
        by_key["dose_taken"] = "" if dose < 0 else str(dose)
        text.append(";".join(by_key[k] for k in keys))
        json_text.append("[" + ",".join(by_key[k] or "null" for k in keys) + "]")
    return np.array(text, dtype=object), np.array(json_text, dtype=object)


def questionnaires_table(h: History) -> Table:
    """MFIS and FSS item by item with their totals; daily check-ins (no total)."""
    blocks = []
    fss_totals = np.array([round(s / 9, 2) for s in range(64)])  # FSS: mean of 9, 2 decimals
    for name, index in ((MFIS, 0), (FSS, 1)):
        t = h.recorded.table(name)
        if not t:
            continue
        items = t["items"].astype(np.int64)
        version, count = instrument_shape(name)
        if items.shape[1] != count:
            raise ValueError(
                f"{name} has {count} items in its definition, simulator made {items.shape[1]}"
            )
        total = items.sum(axis=1).astype(float)
        if name == FSS:
            total = fss_totals[items.sum(axis=1)]
        blocks.append(
            (
                t["pid"],
                t["day"],
                np.full(t["pid"].size, index),
                total,
                digit_strings(items, ";", False),
                digit_strings(items, ",", True),
            )
        )
    t = h.recorded.table("checkin")
    if t:
        text_lut, json_lut = _checkin_lut()
        dose = t["dose"].astype(np.int64) + 1
        combo = (
            ((t["fatigue"].astype(np.int64) * 11 + t["spasms"]) * 11 + t["sleep"]) * 2 + t["dreams"]
        ) * 3 + dose
        blocks.append(
            (
                t["pid"],
                t["day"],
                np.full(t["pid"].size, 2),
                np.full(t["pid"].size, np.nan),
                text_lut[combo],
                json_lut[combo],
            )
        )
    if not blocks:
        blocks.append((np.zeros(0, np.int64),) * 3 + (np.zeros(0),) + (np.zeros(0, object),) * 2)
    pid, days, which, total, text, json_text = (
        np.concatenate(parts) for parts in zip(*blocks, strict=True)
    )
    ids = (MFIS, FSS, CHECKIN)
    versions = tuple(instrument_shape(i)[0] for i in ids)
    table = Table(
        {
            "patient_id": _pid(pid),
            "instrument_id": code(which, ids),
            "instrument_version": code(which, versions),
            "date": day(days),
            "answers": Column("answers", text, (), json_text),
            "total": Column("float", total),
        },
        pid.size,
    )
    keep = np.flatnonzero(days <= h.exit_day[pid])
    order = keep[np.lexsort((which[keep], days[keep], pid[keep]))]
    return table.take(order)


def adverse_events_table(h: History) -> Table:
    t = h.recorded.table("adverse_events")
    pid = t.get("pid", np.zeros(0, np.int64))
    days = t.get("day", np.zeros(0, np.int64))
    keep = np.flatnonzero(days <= h.exit_day[pid])
    table = Table(
        {
            "patient_id": _pid(pid),
            "onset_date": day(days),
            "term": code(t.get("term", np.zeros(0, np.int64)), AE_TERMS),
            "term_code": const(None),
            "free_text": const(None),
            "severity": const("mild"),
            "relationship": const("possible"),
            "outcome": const("unknown"),
        },
        pid.size,
    )
    table = table.take(keep)
    return table.take(
        np.lexsort((table.columns["onset_date"].values, table.columns["patient_id"].values))
    )


def consents_table(h: History) -> Table:
    c = h.cohort
    return Table(
        {
            "patient_id": _pid(np.arange(c.n)),
            "scope": const("research"),
            "given_date": day(c.entry_day),
            "withdrawn_date": const(None),
        },
        c.n,
    )


def build_tables(h: History) -> dict[str, Table]:
    """Every record kind the simulator writes, in dependency order."""
    tables = {
        "sites": sites_table(h),
        "clinicians": clinicians_table(h),
        "patients": patients_table(h),
        "exposures": exposures_table(h),
        "questionnaires": questionnaires_table(h),
        "relapses": relapses_table(h),
        "edss": edss_table(h),
        "adverse_events": adverse_events_table(h),
        "consents": consents_table(h),
    }
    if int(h.bounds[-1]) >= NEVER:  # pragma: no cover - guards the sentinel's meaning
        raise AssertionError("NEVER must lie after the end of the simulation")
    return tables
