"""The one analysis module that touches the store: read the record frames the analyses need.

Only the columns ``prepare`` uses are read, through the store's typed paths; dose logs are not
read at all. Questionnaires, by far the largest table, come back as two compact frames: the
planned instruments' scores (``questionnaires``, answers only where the total is missing) and
the daily check-in's rating items as numbers (``checkins``, extracted from the JSON by the
database), so no answer list of the millions of daily check-ins is ever built. With
``parallel`` (``ldn analyze``), the check-ins are read by a second process while this one reads
the other tables (``analysis.data.forked``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from ...domain.checkin import CHECKIN_INSTRUMENT, scale_positions
from ...domain.record_kinds import ANALYSED_COLUMNS
from ...store.frames import read_frame
from ...store.ldn_rule import exposure_classes as exposure_classes  # frames.py asks the rule
from ...store.questionnaire_read import ItemRows, fetch_items, items_frame, read_scores
from ..plan import AnalysisPlan
from .forked import beside

KINDS: tuple[str, ...] = (
    "patients",
    "exposures",
    "relapses",
    "edss",
    "questionnaires",
    "adverse_events",
    "labs",
    "consents",
)
#: Daily check-in answer positions that are 0-10 numeric rating scales of a planned instrument
#: (looked up by item key in the domain: ``domain.checkin.CHECKIN_SCALES``).
CHECKIN_ITEMS = scale_positions()
CHECKIN_COLUMNS = [f"item_{position}" for position in CHECKIN_ITEMS]

#: The columns each kind's analysis tables are derived from (``prepare``); nothing else is read.
COLUMNS = ANALYSED_COLUMNS
#: Kinds read in patient order (``prepare`` sorts them stably by patient anyway): a million
#: EDSS rows then need no patient id each.
BY_PATIENT = frozenset({"edss"})


def scored_instruments(plan: AnalysisPlan) -> set[str]:
    """Instruments whose scores the analyses use."""
    return set(plan.symptom_instruments) | {plan.fatigue_instrument}


def load_frames(
    engine: Engine,
    kinds: Iterable[str] = KINDS,
    plan: AnalysisPlan | None = None,
    chunk_patients: int | None = None,
    parallel: bool = False,
) -> dict[str, pd.DataFrame]:
    """Read the kinds the analyses need (see the module doc); ``questionnaires`` brings a
    ``checkins`` frame along when a planned instrument comes from the daily check-in.

    Patient ids of every other kind share one categorical coding (the patients frame's
    order). ``chunk_patients`` is accepted for compatibility and no longer needed."""
    del chunk_patients
    plan = plan or AnalysisPlan()
    kinds = tuple(kinds)
    frames: dict[str, pd.DataFrame] = {}
    if "patients" in kinds:
        frames["patients"] = read_frame(engine, "patients", columns=COLUMNS["patients"])
    ids = frames["patients"]["patient_id"].tolist() if "patients" in frames else None
    wanted = scored_instruments(plan)
    positions = [p for p, name in CHECKIN_ITEMS.items() if name in wanted]
    with beside(
        _read_checkins,
        engine,
        positions,
        os.getpid(),
        enabled=parallel
        and "questionnaires" in kinds
        and bool(positions)
        and not isinstance(engine.pool, (SingletonThreadPool, StaticPool)),
    ) as checkins:
        for kind in kinds:
            if kind in ("patients", "questionnaires"):
                continue
            columns = COLUMNS.get(kind)
            frames[kind] = (
                read_frame(
                    engine,
                    kind,
                    columns=columns,
                    by_patient=kind in BY_PATIENT,
                    categories={"patient_id": ids} if ids is not None else None,
                )
                if columns is not None
                else read_frame(engine, kind)
            )
        if "questionnaires" in kinds:
            frames["questionnaires"] = read_scores(engine, wanted, ids)
            if positions:
                frames["checkins"] = items_frame(checkins(), ids)
    return frames


def _read_checkins(engine: Engine, positions: list[int], parent: int) -> ItemRows:
    if os.getpid() != parent:  # in a forked child: leave the parent's connections alone
        engine.dispose(close=False)
    return fetch_items(engine, CHECKIN_INSTRUMENT, positions)
